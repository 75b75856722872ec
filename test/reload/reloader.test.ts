import t from 'tap'
import { validateConfig, type LoadedConfig } from '../../src/config/load-config.js'
import { diffConfig } from '../../src/reload/config-diff.js'
import { Reloader } from '../../src/reload/reloader.js'
import { testLogger } from '../helpers/services.js'

const config = (extra: Record<string, unknown> = {}, colors: Record<string, unknown> = { blue: { targets: ['http://127.0.0.1:1'] }, green: { targets: ['http://127.0.0.1:2'] } }): LoadedConfig =>
  validateConfig({ colors, store: { kind: 'memory' }, ...extra }, {}, 'test')

t.test('diffConfig: live settings by path, restart-only ones named with why', async (t) => {
  const a = config()
  t.strictSame(diffConfig(a.config, config().config), { live: [], restart: [] }, 'the same file')
  t.strictSame(diffConfig(a.config, config({ upstream: { bodyTimeoutMs: 1 }, log: { level: 'warn' } }).config), { live: ['upstream.bodyTimeoutMs', 'log.level'], restart: [] })
  t.strictSame(diffConfig(a.config, config({}, { blue: { targets: ['http://127.0.0.1:1'], health: { active: { path: '/x' } } }, green: { targets: ['http://127.0.0.1:2'] } }).config),
    { live: ['colors.blue.health'], restart: [] }, 'a color health block is live')
  t.strictSame(diffConfig(a.config, config({ sticky: { cookie: 'other' }, shutdown: { graceSeconds: 1 } }, { blue: { targets: ['http://127.0.0.1:9'] }, green: { targets: ['http://127.0.0.1:2'] } }).config),
    { live: [], restart: ['colors.blue.targets (the initial pool; at run time the store holds it: use the targets API)', 'sticky.cookie', 'shutdown.graceSeconds'] })
  t.strictSame(diffConfig(a.config, config({ log: { level: 'warn' } }, { green: { targets: ['http://127.0.0.1:2'] }, blue: { targets: ['http://127.0.0.1:1'] } }).config),
    { live: ['log.level'], restart: ['colors (the list of colors and their order)'] }, 'the order of colors')
})

t.test('registered parts get each new config in order; an unregistered one does not; a throwing one does not stop the others', async (t) => {
  let file = config()
  const reloader = new Reloader({ current: file, source: async () => file, log: testLogger() })
  const seen: string[] = []
  reloader.register({ name: 'first', apply: (next, previous) => { seen.push(`first ${previous.config.log.level}→${next.config.log.level}`) } })
  reloader.register({ name: 'broken', apply: () => { throw new Error('a bug') } })
  // What the discovery component does where it is built: register, and take colors.<name>.discovery from `next`.
  const off = reloader.register({ name: 'discovery', apply: (next) => { seen.push(`discovery ${next.config.log.level}`) } })
  file = config({ log: { level: 'warn' } })
  t.strictSame(await reloader.reload('test'), { ok: true, changed: ['log.level'] })
  t.strictSame(seen, ['first info→warn', 'discovery warn'])
  t.equal(reloader.current, file, 'the new config is the running one')
  off()
  file = config({ log: { level: 'error' } })
  await reloader.reload('test')
  t.strictSame(seen, ['first info→warn', 'discovery warn', 'first warn→error'], 'unregistered: not called')
  await reloader.reload('test')
  t.equal(seen.length, 3, 'nothing changed: no part is called')
})

t.test('reloads run one at a time, and a refused one leaves the running config', async (t) => {
  let file = config()
  let reads = 0
  let inside = 0
  let most = 0
  const reloader = new Reloader({
    current: file,
    source: async () => {
      reads++
      inside++
      most = Math.max(most, inside)
      await new Promise((resolve) => setImmediate(resolve))
      inside--
      return file
    },
    log: testLogger()
  })
  file = config({ log: { level: 'warn' } })
  await Promise.all([reloader.reload('a'), reloader.reload('b'), reloader.reload('c')])
  t.equal(reads, 3)
  t.equal(most, 1, 'never two at once')
  const running = reloader.current
  file = config({ listen: { host: '127.0.0.1', port: 1 }, log: { level: 'debug' } })
  t.match(await reloader.reload('d'), { ok: false, code: 'SWY_ERR_RELOAD_NOT_LIVE', problems: ['listen.port (a listen address)'] })
  t.equal(reloader.current, running, 'the running config stays')
  const failing = new Reloader({ current: running, source: async () => { throw new Error('not a config problem') }, log: testLogger() })
  await t.rejects(failing.reload('e'), /not a config problem/, 'anything but a config problem is a bug, thrown')
})
