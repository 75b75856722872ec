import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { stringify } from 'yaml'
import { loadConfigFile } from '../../src/config/load-config.js'
import type { Running } from '../../src/app.js'
import { gate } from '../helpers/harness.js'
import { trafficLoop } from '../helpers/rollouts.js'
import { adminCall, send, startTestSwitchyard, startUpstream, testLogger, until, type Answer, type Upstream } from '../helpers/services.js'

const OLD = 'o'.repeat(32)
const NEW = 'n'.repeat(32)
const READER = 'r'.repeat(32)
const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` })

/** The config file the test edits: two colors, a write and a read token, the memory store. */
function configFor (upstreams: readonly Upstream[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  const colors: Record<string, { targets: string[] }> = {}
  for (const u of upstreams) (colors[u.color] ??= { targets: [] }).targets.push(u.url)
  return {
    listen: { host: '127.0.0.1', port: 0 },
    admin: { listen: { host: '127.0.0.1', port: 0 }, tokens: [{ name: 'ci', token: OLD, role: 'write' }, { name: 'viewer', token: READER, role: 'read' }] },
    colors,
    store: { kind: 'memory' },
    log: { level: 'silent' },
    ...extra
  }
}

interface Setup {
  readonly sy: Running
  readonly file: string
  readonly logger: ReturnType<typeof testLogger>
  write (config: Record<string, unknown>): Promise<void>
  reload (token?: string): Promise<Answer>
}

async function setup (t: Test, config: Record<string, unknown>): Promise<Setup> {
  const dir = t.testdir({})
  const file = join(dir, 'switchyard.yaml')
  const write = async (c: Record<string, unknown>): Promise<void> => { await writeFile(file, stringify(c)) }
  await write(config)
  const logger = testLogger()
  const sy = await startTestSwitchyard(t, await loadConfigFile(file, {}), { logger, reloadFrom: async () => await loadConfigFile(file, {}) })
  return { sy, file, logger, write, reload: async (token = OLD) => await adminCall(sy.adminUrl, 'POST', '/reload', undefined, bearer(token)) }
}

function json (answer: Answer): Record<string, unknown> {
  return typeof answer.json === 'object' && answer.json !== null ? answer.json as Record<string, unknown> : {}
}

t.test('a rotated token works right after the reload and the removed one gets 401', async (t) => {
  const blue = await startUpstream(t, 'blue')
  const base = configFor([blue])
  const s = await setup(t, base)
  t.equal((await adminCall(s.sy.adminUrl, 'GET', '/state', undefined, bearer(OLD))).status, 200, 'the old token works before')
  t.equal((await adminCall(s.sy.adminUrl, 'GET', '/state', undefined, bearer(NEW))).status, 401, 'the new one does not yet')

  await s.write({ ...base, admin: { listen: { host: '127.0.0.1', port: 0 }, tokens: [{ name: 'ci2', token: NEW, role: 'write' }, { name: 'viewer', token: READER, role: 'read' }] } })
  const read = await s.reload(READER)
  t.equal(read.status, 403, 'a read token may not reload')
  t.equal(json(read).error, 'SWY_ERR_AUTH_FORBIDDEN')
  t.equal((await adminCall(s.sy.adminUrl, 'POST', '/reload')).status, 401, 'no token: 401')

  const done = await s.reload(OLD)
  t.equal(done.status, 200, done.body)
  t.strictSame(json(done), { reloaded: true, changed: ['admin.tokens'] }, 'the answer names what changed')
  t.notMatch(done.body, NEW, 'never a token value in the answer')

  const removed = await adminCall(s.sy.adminUrl, 'GET', '/state', undefined, bearer(OLD))
  t.equal(removed.status, 401, 'the removed token is refused right after the reload')
  t.equal(json(removed).error, 'SWY_ERR_AUTH_INVALID_TOKEN')
  t.equal((await adminCall(s.sy.adminUrl, 'GET', '/state', undefined, bearer(NEW))).status, 200, 'the new token works right after')
  t.match(json(await adminCall(s.sy.adminUrl, 'GET', '/ui/api/whoami', undefined, bearer(NEW))), { name: 'ci2', write: true }, 'the new token has its new name and role')

  const again = await s.reload(NEW)
  t.strictSame(json(again), { reloaded: false, changed: [] }, 'the same file again changes nothing')
})

t.test('a config with problems is refused whole, with every problem listed, and the old config keeps running', async (t) => {
  const blue = await startUpstream(t, 'blue')
  const base = configFor([blue])
  const s = await setup(t, base)
  // Three problems, one of them semantic, next to a token rotation that must not apply.
  await s.write({
    ...base,
    admin: { listen: { host: '127.0.0.1', port: 0 }, tokens: [{ name: 'ci2', token: NEW, role: 'write' }] },
    upstream: { connectTimeoutMs: -1 },
    health: { active: { path: 'no-slash' }, passive: { baseEjectionMs: 5000, maxEjectionMs: 100 } }
  })
  const refused = await s.reload()
  t.equal(refused.status, 400, refused.body)
  const body = json(refused)
  t.equal(body.error, 'SWY_ERR_RELOAD_INVALID')
  const problems = body.problems as string[]
  t.equal(problems.length, 3, `every problem listed: ${problems.join(' | ')}`)
  t.match(problems.join('\n'), /upstream\.connectTimeoutMs[\s\S]*health\.active\.path[\s\S]*maxEjectionMs/)
  t.equal((await adminCall(s.sy.adminUrl, 'GET', '/state', undefined, bearer(OLD))).status, 200, 'the old token still works')
  t.equal((await adminCall(s.sy.adminUrl, 'GET', '/state', undefined, bearer(NEW))).status, 401, 'the token of the refused file does not')
  t.equal((await send(s.sy.proxyUrl + '/')).body, 'blue', 'the data path serves on')

  await s.write({ ...base, listen: { host: '127.0.0.1', port: 1 }, admin: { listen: { host: '127.0.0.1', port: 0 }, tokens: [{ name: 'ci2', token: NEW, role: 'write' }] }, store: { kind: 'file', path: './nowhere.json' } })
  const live = await s.reload()
  t.equal(live.status, 409, live.body)
  t.equal(json(live).error, 'SWY_ERR_RELOAD_NOT_LIVE')
  t.match(json(live).settings, ['listen.port (a listen address)', 'store.kind (the store)', 'store.path (the store)'], 'the settings that need a restart are named')
  t.match(json(live).message, /listen\.port[\s\S]*nothing was reloaded/)
  t.equal((await adminCall(s.sy.adminUrl, 'GET', '/state', undefined, bearer(NEW))).status, 401, 'refused whole: the token change in the same file did not apply')

  await s.write({ ...base, colors: { ...(base.colors as object), green: { targets: [blue.url] } } })
  t.match(json(await s.reload()).settings, ['colors (the list of colors and their order)'], 'a new color needs a restart')

  await s.write(base)
  t.strictSame(json(await s.reload()), { reloaded: false, changed: [] }, 'the running file again: accepted, nothing changed')
  await s.write({ ...base, log: { level: 'warn' } })
  t.strictSame(json(await s.reload()), { reloaded: true, changed: ['log.level'] })
  t.equal(s.logger.level, 'warn', 'the log level changed live')
})

t.test('20 reloads under load: 0 failed requests, and every replaced upstream agent closes', async (t) => {
  const blue = await startUpstream(t, 'blue')
  const green = await startUpstream(t, 'green')
  const base = configFor([blue, green], { initial: { weights: { blue: 50, green: 50 } }, health: { active: { path: '/', intervalMs: 50, healthyThreshold: 1 } } })
  const s = await setup(t, base)
  const loop = trafficLoop(t, s.sy.proxyUrl, 4)
  await until('traffic flows', () => loop.sent() > 8)
  for (let i = 1; i <= 20; i++) {
    const token = i % 2 === 0 ? OLD : NEW
    // Every reload changes the upstream agent's settings (a new agent each time), the
    // health checks and the tokens.
    await s.write({
      ...base,
      admin: { listen: { host: '127.0.0.1', port: 0 }, tokens: [{ name: `ci${i}`, token, role: 'write' }] },
      upstream: { connectTimeoutMs: 5000 + i, keepAliveTimeoutMs: 4000 + i },
      health: { active: { path: '/', intervalMs: 50 + i, healthyThreshold: 1 } }
    })
    const answer = await s.reload(i % 2 === 0 ? NEW : OLD)
    t.equal(answer.status, 200, `reload ${i}: ${answer.body}`)
    t.strictSame(json(answer).changed, ['admin.tokens', 'health.active.intervalMs', 'upstream.connectTimeoutMs', 'upstream.keepAliveTimeoutMs'], `reload ${i} names what changed`)
    // Requests go through the new agent before the next reload.
    const before = loop.sent()
    await until(`requests after reload ${i}`, () => loop.sent() >= before + 4)
  }
  await loop.stop()
  t.strictSame(loop.failures(), [], `0 failed requests out of ${loop.sent()}`)
  await until('every replaced agent closed', () => s.sy.dataPath.upstream.retiring === 0, { detail: () => `${s.sy.dataPath.upstream.retiring} still closing` })
})

t.test('new upstream timeouts apply to the next request, and a request in flight on the old agent finishes', async (t) => {
  const held = gate()
  t.teardown(() => { held.open() })
  const blue = await startUpstream(t, 'blue', { holdUntil: held.opened })
  const base = configFor([blue])
  const s = await setup(t, base)

  const inFlight = send(s.sy.proxyUrl + '/')
  await until('the request reached the upstream', () => blue.seen.length === 1)
  await s.write({ ...base, upstream: { responseTimeoutMs: 100 } })
  t.strictSame(json(await s.reload()), { reloaded: true, changed: ['upstream.responseTimeoutMs'] })
  t.equal(s.sy.dataPath.upstream.retiring, 1, 'the old agent waits for its request')

  const timedOut = await send(s.sy.proxyUrl + '/')
  t.equal(timedOut.status, 504, 'a request after the reload times out after the new responseTimeoutMs')
  t.equal(json(timedOut).error, 'SWY_ERR_UPSTREAM_TIMEOUT')

  held.open()
  const first = await inFlight
  t.equal(first.status, 200, 'the request in flight through the old agent finished')
  t.equal(first.body, 'blue')
  await until('the old agent closed', () => s.sy.dataPath.upstream.retiring === 0)
})
