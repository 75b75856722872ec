import { createServer } from 'node:http'
import t from 'tap'
import { colorHealth } from '../../src/config/color-health.js'
import { validateConfig } from '../../src/config/load-config.js'
import { ActiveChecker } from '../../src/health/active-checker.js'
import { TargetPools } from '../../src/proxy/target-pool.js'
import { listenLoopback, type Teardown } from '../helpers/harness.js'
import { adminCall, startTestSwitchyard, until } from '../helpers/services.js'

/** A real upstream answering 200 only on `path` (404 elsewhere), recording every path asked. */
async function healthOnly (t: Teardown, color: string, path: { value: string }): Promise<{ url: string, asked: string[] }> {
  const asked: string[] = []
  const server = createServer((req, res) => {
    asked.push(req.url ?? '')
    res.statusCode = req.url === path.value ? 200 : req.url === '/' ? 200 : 404
    res.end(color)
  })
  const { port, close } = await listenLoopback(server)
  t.teardown(close)
  return { url: `http://127.0.0.1:${port}`, asked }
}

const base = (colors: Record<string, unknown>, health: Record<string, unknown> = {}): Record<string, unknown> => ({
  listen: { host: '127.0.0.1', port: 0 },
  admin: { listen: { host: '127.0.0.1', port: 0 } },
  colors,
  store: { kind: 'memory' },
  log: { level: 'silent' },
  health
})

t.test('two colors with their own health paths: each target is checked on its own color\'s path, and both are healthy', async (t) => {
  const blue = await healthOnly(t, 'blue', { value: '/blue-ready' })
  const green = await healthOnly(t, 'green', { value: '/v2/health' })
  const loaded = validateConfig(base({
    blue: { targets: [blue.url] },
    green: { targets: [green.url], health: { active: { path: '/v2/health', healthyThreshold: 1 } } }
  }, { active: { path: '/blue-ready', intervalMs: 50, healthyThreshold: 1, unhealthyThreshold: 1 } }), {})
  const sy = await startTestSwitchyard(t, loaded)
  let last: Array<{ color: string, health: string }> = []
  const targets = async (): Promise<Array<{ color: string, health: string }>> => {
    last = ((await adminCall(sy.adminUrl, 'GET', '/targets')).json as { targets: Array<{ color: string, health: string }> }).targets
    return last
  }
  await until('both targets known healthy by their checks', async () => (await targets()).every((x) => x.health === 'healthy'), { detail: () => JSON.stringify(last) })
  await until('a few probes of each', () => blue.asked.length >= 3 && green.asked.length >= 3)
  t.strictSame([...new Set(blue.asked)], ['/blue-ready'], 'blue is probed on the global path only')
  t.strictSame([...new Set(green.asked)], ['/v2/health'], 'green is probed on its own path only')
  const ready = await adminCall(sy.adminUrl, 'GET', '/readyz')
  t.equal(ready.status, 200, ready.body)
})

t.test('a color\'s own path alone turns active checks on for that color only', async (t) => {
  const blue = await healthOnly(t, 'blue', { value: '/never' })
  const green = await healthOnly(t, 'green', { value: '/ready' })
  const loaded = validateConfig(base({
    blue: { targets: [blue.url] },
    green: { targets: [green.url], health: { active: { path: '/ready', intervalMs: 50, healthyThreshold: 1 } } }
  }), {})
  const sy = await startTestSwitchyard(t, loaded)
  await until('green checked', () => green.asked.length >= 2)
  t.strictSame([...new Set(green.asked)], ['/ready'])
  t.strictSame(blue.asked, [], 'blue has no path: never probed')
  t.equal(sy.dataPath.pools.byColor[0]?.[0]?.health, 'unknown', 'blue stays unknown until it answers a request')
})

t.test('colorHealth: the color\'s block over the global one, field by field', async (t) => {
  const loaded = validateConfig(base({
    blue: { targets: ['http://127.0.0.1:1'] },
    green: { targets: ['http://127.0.0.1:2'], health: { active: { path: '/g', unhealthyThreshold: 7 }, passive: { consecutiveFailures: 2, enabled: false } } }
  }, { active: { path: '/b', intervalMs: 300, timeoutMs: 200 }, passive: { baseEjectionMs: 1000 } }), {})
  t.strictSame(colorHealth(loaded.config, 'blue'), {
    active: { path: '/b', intervalMs: 300, timeoutMs: 200, healthyThreshold: 2, unhealthyThreshold: 3 },
    passive: { enabled: true, consecutiveFailures: 5, baseEjectionMs: 1000, maxEjectionMs: 300000 }
  }, 'blue: the global block with its defaults')
  t.strictSame(colorHealth(loaded.config, 'green'), {
    active: { path: '/g', intervalMs: 300, timeoutMs: 200, healthyThreshold: 2, unhealthyThreshold: 7 },
    passive: { enabled: false, consecutiveFailures: 2, baseEjectionMs: 1000, maxEjectionMs: 300000 }
  }, 'green: its own fields, the global ones for the rest')
  t.equal(colorHealth(validateConfig(base({ blue: { targets: ['http://127.0.0.1:1'] } }), {}).config, 'blue').active, undefined, 'no path anywhere: no active checks')
})

t.test('a color\'s health block is validated: unknown keys, bad values, and the merged ejection bounds', async (t) => {
  let message = ''
  try {
    validateConfig(base({
      blue: { targets: ['http://127.0.0.1:1'], health: { active: { path: 'nope', typo: 1 } } },
      green: { targets: ['http://127.0.0.1:2'], health: { passive: { maxEjectionMs: 500 } } }
    }, { passive: { baseEjectionMs: 1000 } }), {})
  } catch (e) { message = (e as Error).message }
  t.match(message, /colors\.blue\.health\.active: must NOT have additional properties "typo"/)
  t.match(message, /colors\.blue\.health\.active\.path: must match pattern/)
  t.match(message, /colors\.green\.health\.passive\.maxEjectionMs: must be at least baseEjectionMs \(500 < 1000/)
})

t.test('per-color passive ejection: each color ejects after its own number of failures, and a reload changes it', async (t) => {
  const pools = new TargetPools(['blue', 'green'], [[{ id: 'b', url: 'http://127.0.0.1:1' }], [{ id: 'g', url: 'http://127.0.0.1:2' }]], [
    { enabled: true, consecutiveFailures: 1, baseEjectionMs: 60000, maxEjectionMs: 60000 },
    { enabled: true, consecutiveFailures: 3, baseEjectionMs: 60000, maxEjectionMs: 60000 }
  ])
  t.teardown(() => { pools.close() })
  const [b, g] = [pools.byColor[0]?.[0], pools.byColor[1]?.[0]]
  if (b === undefined || g === undefined) throw new Error('no targets')
  pools.outcome(b, false, 1)
  t.equal(b.health, 'ejected', 'blue: one failure ejects')
  pools.outcome(g, false, 1)
  pools.outcome(g, false, 1)
  t.equal(g.health, 'unknown', 'green: two failures do not')
  pools.setPassivePolicies([
    { enabled: true, consecutiveFailures: 1, baseEjectionMs: 60000, maxEjectionMs: 60000 },
    { enabled: false, consecutiveFailures: 3, baseEjectionMs: 60000, maxEjectionMs: 60000 }
  ])
  pools.outcome(g, false, 1)
  t.equal(g.health, 'unknown', 'green after a reload that turned its ejection off: the third failure does not eject')
})

t.test('ActiveChecker.setPolicy: a new path is probed from then on, and turning checks off makes the target healthy', async (t) => {
  const up = await healthOnly(t, 'x', { value: '/new' })
  const verdicts: Array<[boolean, string]> = []
  const probed = { origin: up.url, color: 'blue', verdict: (healthy: boolean, why: string) => { verdicts.push([healthy, why]) } }
  const policy = { intervalMs: 50, timeoutMs: 5000, healthyThreshold: 1, unhealthyThreshold: 1 }
  const checker = new ActiveChecker(() => ({ ...policy, path: '/old' }), [probed])
  t.teardown(() => checker.stop())
  await until('unhealthy on /old', () => verdicts.length === 1)
  t.equal(verdicts[0]?.[0], false)
  checker.setPolicy((p) => p.color === 'blue' ? { ...policy, path: '/new' } : undefined)
  await until('healthy on /new', () => verdicts.length === 2)
  t.match(verdicts[1], [true, /GET \/new answered 200/])
  const asked = up.asked.length
  await until('more probes', () => up.asked.length >= asked + 2)
  t.equal(up.asked.slice(asked).every((p) => p === '/new'), true, 'only /new from then on')

  checker.setPolicy(() => ({ ...policy, path: '/old' }))
  await until('unhealthy on /old again', () => verdicts.length === 3)
  t.equal(checker.checked, 1)
  checker.setPolicy(() => undefined)
  t.strictSame(verdicts[3], [true, 'active checks turned off'], 'checks turned off: healthy as far as they go')
  t.equal(checker.checked, 0, 'no target is probed any more')
})
