import t from 'tap'
import { validateConfig } from '../../src/config/load-config.js'

const base = { listen: { port: 0 }, admin: { listen: { port: 0 } }, store: { kind: 'memory' } }

/** The problems a config has (the lines of SWY_ERR_CONFIG_INVALID), or [] when it is valid. */
function problems (colors: unknown): string[] {
  try {
    validateConfig({ ...base, colors }, {})
    return []
  } catch (e) {
    return (e as Error).message.split('\n').slice(1).map((l) => l.replace(/^ {2}- /, ''))
  }
}

t.test('a color with discovery only: the defaults are filled in', async (t) => {
  const loaded = validateConfig({ ...base, colors: { blue: { discovery: { dns: 'blue.internal', port: 3000 } } } }, {})
  t.same(loaded.config.colors.blue?.discovery, { dns: 'blue.internal', port: 3000, scheme: 'http', intervalMs: 5000, timeoutMs: 2000 })
  t.same(loaded.targets, [[]], 'no config target: the pool starts empty and discovery fills it')
})

t.test('targets and discovery together are valid (both pools are used)', async (t) => {
  const loaded = validateConfig({ ...base, colors: { blue: { targets: ['http://10.0.0.1:3000'], discovery: { dns: 'blue.internal', port: 3000, scheme: 'https', intervalMs: 1000, resolver: '[::1]:5353' } } } }, {})
  t.same(loaded.targets, [[{ id: '10.0.0.1:3000', url: 'http://10.0.0.1:3000' }]])
  t.equal(loaded.config.colors.blue?.discovery?.resolver, '[::1]:5353')
})

t.test('resolver forms node:dns takes', async (t) => {
  for (const resolver of ['127.0.0.1:5353', '127.0.0.1', '::1', '[::1]:53', '[fd00::53]', '10.0.0.53:53']) {
    t.same(problems({ blue: { discovery: { dns: 'blue.internal', port: 3000, resolver } } }), [], resolver)
  }
})

t.test('a color needs targets or discovery', async (t) => {
  t.same(problems({ blue: {} }), ['colors.blue: has no targets and no discovery (a color needs targets, discovery or both)'])
})

t.test('every problem of the discovery blocks is listed at once', async (t) => {
  const found = problems({
    blue: { discovery: { dns: 'not a name', port: 0, scheme: 'ftp', intervalMs: 10, timeoutMs: 0, resolver: 'dns.example:53', extra: 1 } },
    green: { discovery: { port: 3000, resolver: '127.0.0.1:99999' } },
    gray: { targets: ['http://10.0.0.1:1'], discovery: { dns: '10.0.0.1', port: 3000 } }
  })
  const want = [
    /^colors\.blue\.discovery: must NOT have additional properties "extra"$/,
    /^colors\.blue\.discovery\.port: must be >= 1$/,
    /^colors\.blue\.discovery\.scheme: must be equal to one of the allowed values \(http, https\)$/,
    /^colors\.blue\.discovery\.intervalMs: must be >= 100$/,
    /^colors\.blue\.discovery\.timeoutMs: must be >= 10$/,
    /^colors\.green\.discovery: must have required property 'dns'$/,
    /^colors\.blue\.discovery\.dns: "not a name" is not a DNS name/,
    /^colors\.blue\.discovery\.resolver: "dns\.example:53" is not an IP address/,
    /^colors\.green\.discovery\.resolver: "127\.0\.0\.1:99999" has a port outside 1-65535$/,
    /^colors\.gray\.discovery\.dns: "10\.0\.0\.1" is not a DNS name/
  ]
  for (const re of want) t.ok(found.some((p) => re.test(p)), `${String(re)} is listed`)
  t.equal(found.length, want.length, `nothing else: ${JSON.stringify(found)}`)
})
