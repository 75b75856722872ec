import { join } from 'node:path'
import t from 'tap'
import { pino } from 'pino'
import { Redis } from 'ioredis'
import { validateConfig } from '../../src/config/load-config.js'
import { historyEntry, initialState, setWeights, type RoutingState } from '../../src/routing/routing-state.js'
import { RedisStore, type RedisStoreConfig } from '../../src/state/redis-store.js'
import { Switchboard } from '../../src/state/switchboard.js'
import { startRedis } from '../helpers/redis.js'
import { adminCall, send, startTestSwitchyard, startUpstream, testConfig, until, type Teardown } from '../helpers/services.js'

// Hostile or damaged values written straight into a real Redis (ioredis, no switchyard code):
// every one is SWY_ERR_STORE_CORRUPT naming its problem, never a 500 with a stack, never accepted.

const META = { changedBy: 'test', reason: 'r', at: '2026-01-01T00:00:00.000Z' }
const COLORS = ['blue', 'green']
const good = setWeights(initialState(COLORS, { blue: 10_000, green: 0 }, META), { blue: 9000, green: 1000 }, META)

function keysOf (prefix: string): { state: string, history: string, secret: string, instances: string, expiries: string, changes: string } {
  const tag = `{${prefix}}`
  return { state: `${tag}:state`, history: `${tag}:history`, secret: `${tag}:secret`, instances: `${tag}:instances`, expiries: `${tag}:instance-expiries`, changes: `${tag}:changes` }
}

function storeConfig (url: string, dir: string, prefix: string, extra: Record<string, unknown> = {}): RedisStoreConfig {
  return validateConfig({ colors: { blue: { targets: ['http://127.0.0.1:1'] }, green: { targets: ['http://127.0.0.1:2'] } }, store: { kind: 'redis', url, prefix, lastKnownPath: join(dir, `${prefix}-lk.json`), ...extra } }, {}).config.store as RedisStoreConfig
}

async function rawClient (t: Teardown, url: string): Promise<Redis> {
  const raw = new Redis(url)
  t.teardown(() => raw.disconnect())
  return raw
}

/** How many GETs this Redis has served (the store reads its state with GET). */
async function stateReads (raw: Redis): Promise<number> {
  return Number(/cmdstat_get:calls=(\d+)/.exec(await raw.info('commandstats'))?.[1] ?? 0)
}

/** Writes a good state, history and secret under `prefix`, then applies `spoil` to the raw values. */
async function seed (raw: Redis, prefix: string, values: { state?: string, secret?: string, history?: string[] } = {}): Promise<void> {
  const k = keysOf(prefix)
  await raw.set(k.state, values.state ?? JSON.stringify(good))
  await raw.set(k.secret, values.secret ?? 's'.repeat(43))
  await raw.rpush(k.history, ...(values.history ?? [JSON.stringify(historyEntry(null, good))]))
}

const stateWith = (patch: Record<string, unknown>): string => JSON.stringify({ ...good, ...patch })

t.test('at start: a hostile value refuses the start, naming the problem', async (t) => {
  const redis = await startRedis(t)
  const raw = await rawClient(t, redis.url)
  const dir = t.testdir({})
  const cases: ReadonlyArray<readonly [name: string, values: { state?: string, secret?: string }, problem: RegExp]> = [
    ['a date out of range', { state: stateWith({ changedAt: '+275760-09-13T00:00:00.001Z' }) }, /changedAt must be an ISO 8601 time/],
    ['a drain window out of range', { state: stateWith({ drainUntil: { green: 1e300 } }) }, /drainUntil\.green is malformed/],
    ['a 1-character secret', { secret: 'x' }, /the cookie secret in Redis .*must be at least 43/],
    ['a weight of -5', { state: stateWith({ weights: { blue: 10_005, green: -5 } }) }, /weight of "green" must be an integer 0\.\.10000/],
    ['a version of 1e300', { state: stateWith({ version: 1e300 }) }, /version must be an integer/],
    ['a string where a number belongs', { state: stateWith({ weights: { blue: '9000', green: 1000 } }) }, /weight of "blue" must be an integer/],
    ['truncated JSON', { state: JSON.stringify(good).slice(0, 57) }, /the state in Redis .* is not valid JSON/],
    ['a target mode outside the set', { state: stateWith({ targets: { blue: { b1: 'exploded' } } }) }, /targets\.blue\.b1 must be draining or disabled/]
  ]
  let n = 0
  for (const [name, values, problem] of cases) {
    const prefix = `start${n++}`
    await seed(raw, prefix, values)
    const before = { state: await raw.get(keysOf(prefix).state), secret: await raw.get(keysOf(prefix).secret) }
    const store = new RedisStore(storeConfig(redis.url, dir, prefix))
    const sb = new Switchboard({ store, colors: COLORS, initialWeights: { blue: 10_000, green: 0 }, instanceId: `i${n}` })
    await t.rejects(sb.start(new Date()), { code: 'SWY_ERR_STORE_CORRUPT', message: problem }, `${name}: start refused with SWY_ERR_STORE_CORRUPT naming the problem`)
    await sb.stop()
    await store.close()
    t.strictSame({ state: await raw.get(keysOf(prefix).state), secret: await raw.get(keysOf(prefix).secret) }, before, `${name}: the value is left for the operator`)
  }

  // The whole start (as the CLI runs it) refuses too, with the same error.
  const up = await startUpstream(t, 'blue')
  const green = await startUpstream(t, 'green')
  await seed(raw, 'whole', { state: stateWith({ version: 1e300 }) })
  await t.rejects(startTestSwitchyard(t, testConfig([up, green], { store: { kind: 'redis', url: redis.url, prefix: 'whole', lastKnownPath: join(dir, 'whole.json') } })),
    { code: 'SWY_ERR_STORE_CORRUPT', message: /version must be an integer/ })
})

t.test('a compare-and-set over a truncated state is SWY_ERR_STORE_CORRUPT and leaves it; a re-seed does not overwrite it', async (t) => {
  const redis = await startRedis(t)
  const raw = await rawClient(t, redis.url)
  const truncated = JSON.stringify(good).slice(0, 30)
  await seed(raw, 'cas', { state: truncated })
  const store = new RedisStore(storeConfig(redis.url, t.testdir({}), 'cas'))
  t.teardown(() => store.close())
  await store.connect()
  const next = setWeights(good, { blue: 0, green: 10_000 }, META)
  await t.rejects(store.compareAndSet(good.version, next, historyEntry(good, next)), { code: 'SWY_ERR_STORE_CORRUPT' }, 'not "unavailable"')
  await t.rejects(store.reseed(next, 's'.repeat(43), historyEntry(good, next)), { code: 'SWY_ERR_STORE_CORRUPT' })
  t.equal(await raw.get(keysOf('cas').state), truncated, 'untouched')
})

t.test('while running: a hostile value published keeps routing on the last good state, logs one error, /readyz degraded, writes refused', async (t) => {
  const redis = await startRedis(t)
  const raw = await rawClient(t, redis.url)
  const ups = [await startUpstream(t, 'blue'), await startUpstream(t, 'green')]
  const lines: Array<{ level: number, msg: string, problem?: string }> = []
  const logger = pino<string>({ level: 'info' }, { write: (line: string) => { lines.push(JSON.parse(line) as { level: number, msg: string }) } })
  const dir = t.testdir({})
  const running = await startTestSwitchyard(t, testConfig(ups, { store: { kind: 'redis', url: redis.url, prefix: 'live', lastKnownPath: join(dir, 'lk.json'), resyncIntervalMs: 200, heartbeatMs: 100, instanceTtlMs: 1000 } }), { logger })
  const put = await adminCall(running.adminUrl, 'PUT', '/weights', { weights: { blue: 100, green: 0 } })
  t.equal(put.status, 200)
  const version = (put.json as { version: number }).version
  const k = keysOf('live')

  for (const [name, value] of [
    ['a weight of -5', stateWith({ version: version + 1, weights: { blue: 10_005, green: -5 } })],
    ['a weight of -5 at the same version', stateWith({ version, weights: { blue: 10_005, green: -5 } })],
    ['truncated JSON', '{"version":' + String(version + 1)]
  ] as const) {
    lines.length = 0
    await raw.set(k.state, value)
    await raw.publish(k.changes, String(version + 1))
    await until(`${name}: /readyz degraded`, async () => ((await adminCall(running.adminUrl, 'GET', '/readyz')).json as { status: string }).status === 'degraded')
    const ready = await adminCall(running.adminUrl, 'GET', '/readyz')
    t.equal(ready.status, 200, `${name}: still ready (fail static)`)
    t.match((ready.json as { detail: string }).detail, /SWY_ERR_STORE_CORRUPT/, `${name}: the detail names the reason`)
    const state = (await adminCall(running.adminUrl, 'GET', '/state')).json as { version: number, weights: Record<string, number> }
    t.equal(state.version, version, `${name}: routing on the last good version`)
    t.strictSame(state.weights, { blue: 100, green: 0 })
    t.equal((await send(running.proxyUrl + '/')).body, 'blue', `${name}: traffic still flows by it`)
    const refused = await adminCall(running.adminUrl, 'POST', '/flip', { to: 'green' })
    t.equal(refused.status, 500, `${name}: a write is refused`)
    t.equal((refused.json as { error: string }).error, 'SWY_ERR_STORE_CORRUPT')
    t.notMatch(refused.body, /\n\s+at /, `${name}: no stack in the answer`)
    t.equal(await raw.get(k.state), value, `${name}: the damaged value is left for the operator`)
    // Several re-reads later (resyncIntervalMs 200) the problem is still logged once: wait for
    // the re-reads themselves (Redis counts every GET), not for a time in which they might run.
    const readsBefore = await stateReads(raw)
    await until(`${name}: three re-reads of the damaged value`, async () => (await stateReads(raw)) >= readsBefore + 3)
    t.equal(lines.filter((l) => l.level === 50 && /not valid/.test(l.msg)).length, 1, `${name}: one error logged, not one per re-read`)
  }

  const fixed = setWeights({ ...running.switchboard.state }, { blue: 5000, green: 5000 }, META)
  await raw.set(k.state, JSON.stringify(fixed))
  await raw.publish(k.changes, String(fixed.version))
  await until('/readyz ready again once the value is fixed', async () => ((await adminCall(running.adminUrl, 'GET', '/readyz')).json as { status: string }).status === 'ready')
  t.equal(running.switchboard.state.version, fixed.version, 'the fixed state is applied')
  t.ok(lines.some((l) => l.msg === 'store readable again'), 'and its return logged')
})

t.test('GET /history: an unreadable entry answers SWY_ERR_STORE_CORRUPT naming it; GET /instances the same for a hostile heartbeat', async (t) => {
  const redis = await startRedis(t)
  const raw = await rawClient(t, redis.url)
  const ups = [await startUpstream(t, 'blue'), await startUpstream(t, 'green')]
  const running = await startTestSwitchyard(t, testConfig(ups, { store: { kind: 'redis', url: redis.url, prefix: 'hist', lastKnownPath: join(t.testdir({}), 'lk.json') } }))
  const k = keysOf('hist')
  t.equal((await adminCall(running.adminUrl, 'GET', '/history')).status, 200, 'readable at first')
  for (const [name, entry, problem] of [
    ['a null entry', 'null', /history entry 1 .*entry is not an object/],
    ['an entry with a date out of range', JSON.stringify({ ...historyEntry(null, good), changedAt: '+275760-09-13T00:00:00.001Z' }), /history entry 1 .*changedAt/],
    ['truncated JSON', '{"version":', /history entry 1 .*not valid JSON/]
  ] as const) {
    await raw.lpush(k.history, entry)
    const res = await adminCall(running.adminUrl, 'GET', '/history')
    t.equal(res.status, 500, `${name}: 500`)
    t.equal((res.json as { error: string }).error, 'SWY_ERR_STORE_CORRUPT', `${name}: SWY_ERR_STORE_CORRUPT`)
    t.match((res.json as { message: string }).message, problem, `${name}: naming the entry and the problem`)
    t.notMatch(res.body, /\n\s+at /, `${name}: no stack`)
    await raw.lpop(k.history)
  }
  t.equal((await adminCall(running.adminUrl, 'GET', '/history')).status, 200, 'readable again once the entry is gone')

  await raw.hset(k.instances, 'evil', JSON.stringify({ id: 'evil', appliedVersion: 1, appliedAt: 1e300, at: 1 }))
  await raw.zadd(k.expiries, Date.now() + 3_600_000, 'evil')
  const instances = await adminCall(running.adminUrl, 'GET', '/instances')
  t.equal(instances.status, 500)
  t.equal((instances.json as { error: string }).error, 'SWY_ERR_STORE_CORRUPT', 'a hostile heartbeat: SWY_ERR_STORE_CORRUPT, not a RangeError')
})

t.test('scripts run as EVALSHA: after the first call the script text is not sent again', async (t) => {
  const redis = await startRedis(t)
  const raw = await rawClient(t, redis.url)
  const store = new RedisStore(storeConfig(redis.url, t.testdir({}), 'sha'))
  t.teardown(() => store.close())
  await store.connect()
  const stats = async (): Promise<{ eval: number, evalsha: number }> => {
    const info = await raw.info('commandstats')
    const calls = (name: string): number => Number(new RegExp(`^cmdstat_${name}:calls=(\\d+)`, 'm').exec(info)?.[1] ?? 0)
    return { eval: calls('eval'), evalsha: calls('evalsha') }
  }
  let s: RoutingState = initialState(COLORS, { blue: 10_000, green: 0 }, META)
  await store.compareAndSet(0, s, historyEntry(null, s))
  await store.heartbeat({ id: 'a', appliedVersion: 1, appliedAt: 1, at: 1 }, 10_000)
  await store.instances()
  const warm = await stats()
  for (let i = 1; i <= 10; i++) {
    const next = setWeights(s, { blue: 10_000 - i, green: i }, META)
    t.ok((await store.compareAndSet(s.version, next, historyEntry(s, next))).ok)
    s = next
    await store.heartbeat({ id: 'a', appliedVersion: s.version, appliedAt: 1, at: 1 }, 10_000)
    await store.instances()
  }
  const after = await stats()
  t.equal(after.eval - warm.eval, 0, 'no EVAL (script text) for 30 script calls')
  t.ok(after.evalsha - warm.evalsha >= 30, `EVALSHA for each of them (${after.evalsha - warm.evalsha})`)
})

t.test('Redis: ?wait wakes on the heartbeat another instance publishes', async (t) => {
  const redis = await startRedis(t)
  const dir = t.testdir({})
  class Counting extends RedisStore {
    reads = 0
    override async instances (): ReturnType<RedisStore['instances']> {
      this.reads++
      return await super.instances()
    }
  }
  const store = new Counting(storeConfig(redis.url, dir, 'wait'))
  t.teardown(() => store.close())
  const sb = new Switchboard({ store, colors: COLORS, initialWeights: { blue: 10_000, green: 0 }, instanceId: 'me', heartbeatMs: 3_600_000, waitRecheckMs: 3_600_000 })
  t.teardown(() => sb.stop())
  await sb.start(new Date())
  const other = new RedisStore(storeConfig(redis.url, dir, 'wait'))
  t.teardown(() => other.close())
  await other.connect()
  await other.heartbeat({ id: 'other', appliedVersion: 1, appliedAt: 1, at: Date.now() }, 3_600_000)
  t.ok((await sb.change((s, m) => ({ ok: true, value: setWeights(s, { blue: 0, green: 10_000 }, m) }), META)).ok)
  const waiting = sb.waitFor(2, 60_000)
  const before = store.reads
  await other.heartbeat({ id: 'other', appliedVersion: 2, appliedAt: 2, at: Date.now() }, 3_600_000)
  const p = await waiting
  t.strictSame(p.lagging, [], 'converged when the other instance\'s heartbeat was published')
  t.ok(store.reads - before <= 3, `a handful of reads, not a poll (${store.reads - before})`)
})
