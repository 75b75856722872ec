import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t, { type Test } from 'tap'
import { parse as parseYaml } from 'yaml'
import { loadConfigFile, validateConfig } from '../../src/config/load-config.js'
import { SwitchyardError } from '../../src/errors.js'
import { MANY_PROBLEMS, MANY_PROBLEMS_YAML } from '../helpers/configs.js'

/** The names of `${NAME}` references (without a default) in every string of a parsed document. */
function envReferences (value: unknown): string[] {
  if (typeof value === 'string') return [...value.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g)].map((m) => m[1] as string)
  if (typeof value === 'object' && value !== null) return Object.values(value).flatMap(envReferences)
  return []
}

const SHIPPED = fileURLToPath(new URL('../../config/switchyard.yaml', import.meta.url))

/** The SwitchyardError a promise rejects with; fails the test when it resolves or throws something else. */
async function configError (t: Test, promise: Promise<unknown>): Promise<string> {
  try {
    await promise
    t.fail('the config should have been refused')
    return ''
  } catch (e) {
    t.ok(e instanceof SwitchyardError, 'a SwitchyardError')
    t.equal((e as SwitchyardError).code, 'SWY_ERR_CONFIG_INVALID')
    return (e as Error).message
  }
}

const YAML = `
listen: { host: 127.0.0.1, port: 8081 }
admin:
  listen: { host: "\${ADMIN_HOST:-127.0.0.1}", port: 9091 }
  tokens:
    - { name: ci, token: "\${SWY_TOKEN}", role: write }
colors:
  blue:  { targets: ["http://\${BLUE_HOST}:3001"] }
  green: { targets: ["http://\${GREEN_HOST:-127.0.0.2}:3002"] }
initial: { weights: { blue: 75.5, green: 24.5 } }
sticky: { mode: header, header: x-user, salt: "\${SALT:-}plain" }
store: { kind: file, path: "\${DATA_DIR:-./data}/state.json" }
`

t.test('YAML with ${ENV} and ${ENV:-default}', async (t) => {
  const dir = t.testdir({ 'switchyard.yaml': YAML })
  const token = 'a:b #c\n- "d" ${NOT_EXPANDED}'.padEnd(40, 'x')
  const loaded = await loadConfigFile(join(dir, 'switchyard.yaml'), {
    SWY_TOKEN: token,
    BLUE_HOST: '10.1.2.3',
    DATA_DIR: '/var/lib/swy',
    GREEN_HOST: ''
  })
  const c = loaded.config
  t.equal(c.admin.tokens[0]?.token, token, 'a set variable is substituted verbatim, after parsing (no YAML or ${} injection)')
  t.equal(c.colors.blue?.targets?.[0], 'http://10.1.2.3:3001')
  t.equal(c.colors.green?.targets?.[0], 'http://127.0.0.2:3002', 'an empty variable takes the default')
  t.equal(c.admin.listen.host, '127.0.0.1', 'an unset variable takes the default')
  t.equal(c.store.kind === 'file' ? c.store.path : '', '/var/lib/swy/state.json')
  t.equal(c.sticky.salt, 'plain', 'an empty default is allowed')
  t.equal(c.listen.port, 8081, 'a YAML number is untouched')
  t.strictSame(loaded.colors, ['blue', 'green'], 'colors in file order')
  t.strictSame(loaded.initialWeights, { blue: 7550, green: 2450 }, 'initial weights in basis points')
  t.equal(c.sticky.mode, 'header')
  t.equal(c.sticky.ttlSeconds, 86400, 'defaults filled')
  t.equal(c.admin.bodyLimit, 16384)
  t.equal(c.overrides.enabled, false)
})

t.test('JSON by extension', async (t) => {
  const dir = t.testdir({ 'c.json': JSON.stringify({ colors: { blue: { targets: ['https://blue.internal'] } } }) })
  const loaded = await loadConfigFile(join(dir, 'c.json'), {})
  t.strictSame(loaded.colors, ['blue'])
  t.strictSame(loaded.initialWeights, { blue: 10_000 }, 'the first color takes everything by default')
  t.match(loaded.config.store, { kind: 'file', path: './data/state.json' })
})

t.test('a missing environment variable is a listed problem', async (t) => {
  const dir = t.testdir({ 'switchyard.yaml': YAML })
  const message = await configError(t, loadConfigFile(join(dir, 'switchyard.yaml'), { SWY_TOKEN: 'x'.repeat(32) }))
  t.match(message, 'colors.blue.targets[0]', 'names where')
  t.match(message, '${BLUE_HOST}', 'names the variable')
  t.notMatch(message, '${GREEN_HOST}', 'a variable with a default is not a problem')
  const both = await configError(t, loadConfigFile(join(dir, 'switchyard.yaml'), {}))
  t.match(both, '${BLUE_HOST}')
  t.match(both, '${SWY_TOKEN}', 'every missing variable is listed')
})

t.test('a bad value from the environment is reported without echoing it', async (t) => {
  const dir = t.testdir({ 'switchyard.yaml': YAML })
  const message = await configError(t, loadConfigFile(join(dir, 'switchyard.yaml'), { SWY_TOKEN: 'short-secret', BLUE_HOST: 'b' }))
  t.match(message, 'admin.tokens[0].token')
  t.notMatch(message, 'short-secret', 'the token value is not in the message')
})

t.test('unreadable and unparsable files', async (t) => {
  const dir = t.testdir({ 'bad.yaml': 'colors: [unclosed\n  blue: {', 'bad.json': '{"colors": ' })
  t.match(await configError(t, loadConfigFile(join(dir, 'absent.yaml'), {})), 'absent.yaml')
  t.match(await configError(t, loadConfigFile(join(dir, 'bad.yaml'), {})), 'bad.yaml')
  t.match(await configError(t, loadConfigFile(join(dir, 'bad.json'), {})), 'bad.json')
})

t.test('every problem of a config is listed at once', async (t) => {
  const dir = t.testdir({ 'switchyard.yaml': MANY_PROBLEMS_YAML })
  const message = await configError(t, loadConfigFile(join(dir, 'switchyard.yaml'), {}))
  for (const [what, pattern] of MANY_PROBLEMS) t.match(message, pattern, `lists ${what}`)
  t.match(message, /has [4-9] problems/, 'counts them')
})

t.test('semantic problems alone are all listed', async (t) => {
  const message = await configError(t, Promise.resolve().then(() => validateConfig({
    colors: {
      blue: { targets: ['http://127.0.0.1:3001/app', 'http://user@127.0.0.1:3009', 'http://127.0.0.1:3010?x=1'] },
      green: { targets: ['http://127.0.0.1:3002'] }
    },
    admin: { listen: { host: '0.0.0.0', port: 9090 } },
    overrides: { secret: 's'.repeat(16) },
    initial: { weights: { blue: 80, green: 10 } }
  }, {}, 'test')))
  t.match(message, 'colors.blue.targets[0]')
  t.match(message, 'colors.blue.targets[1]')
  t.match(message, 'colors.blue.targets[2]')
  t.match(message, 'admin.listen.host')
  t.match(message, 'overrides.secret')
  t.match(message, 'initial.weights')
  t.match(message, /has 6 problems/)
})

t.test('duplicate token names and values are refused', async (t) => {
  const message = await configError(t, Promise.resolve().then(() => validateConfig({
    colors: { blue: { targets: ['http://127.0.0.1:3001'] } },
    admin: { tokens: [{ name: 'ci', token: 'x'.repeat(32) }, { name: 'ci', token: 'y'.repeat(32) }, { name: 'cd', token: 'x'.repeat(32) }] }
  }, {}, 'test')))
  t.match(message, 'duplicate name "ci"')
  t.match(message, 'the same token is configured twice')
  t.notMatch(message, 'x'.repeat(32), 'without echoing the token')
})

t.test('the shipped config/switchyard.yaml validates with the env it references', async (t) => {
  const required = envReferences(parseYaml(await readFile(SHIPPED, 'utf8')))
  const env: Record<string, string> = {}
  for (const name of required) env[name] = 'e'.repeat(32)
  const loaded = await loadConfigFile(SHIPPED, env)
  t.ok(loaded.colors.includes('blue') && loaded.colors.includes('green'), 'blue and green')
  t.equal(loaded.initialWeights.blue, 10_000, 'everything on blue at first')
  t.equal(loaded.config.admin.listen.host, '127.0.0.1', 'the admin API on loopback')
  if (required.length > 0) {
    const message = await configError(t, loadConfigFile(SHIPPED, {}))
    for (const name of required) t.match(message, `\${${name}}`, `without ${name}, it is named`)
  }
})
