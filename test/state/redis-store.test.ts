import t from 'tap'
import { Redis } from 'ioredis'
import { validateConfig } from '../../src/config/load-config.js'
import { historyEntry, initialState, setWeights } from '../../src/routing/routing-state.js'
import { RedisStore, type RedisStoreConfig } from '../../src/state/redis-store.js'
import { startRedis } from '../helpers/redis.js'
import { type Teardown, until } from '../helpers/services.js'

function storeConfig (url: string, dir: string, extra: Partial<RedisStoreConfig> = {}): RedisStoreConfig {
  const loaded = validateConfig({ colors: { blue: { targets: ['http://127.0.0.1:1'] } }, store: { kind: 'redis', url, lastKnownPath: `${dir}/lk.json`, ...extra } }, {})
  return loaded.config.store as RedisStoreConfig
}

/** A RedisStore on `url`, connected, closed in teardown. */
async function connectedStore (t: Teardown, url: string, dir: string, extra: Partial<RedisStoreConfig> = {}): Promise<RedisStore> {
  const store = new RedisStore(storeConfig(url, dir, extra))
  t.teardown(() => store.close())
  await store.connect()
  return store
}

const meta = { changedBy: 'test', reason: 'r', at: new Date(0).toISOString() }
const s1 = initialState(['blue', 'green'], { blue: 10000, green: 0 }, meta)

t.test('compare-and-set on version: one writer wins, history and notification follow', async (t) => {
  const redis = await startRedis(t)
  const dir = t.testdir()
  const a = await connectedStore(t, redis.url, dir)
  const b = await connectedStore(t, redis.url, dir)
  t.equal(await a.load(), null, 'empty store')
  t.same(await a.compareAndSet(0, s1, historyEntry(null, s1)), { ok: true })
  const seen: number[] = []
  b.subscribe((s) => seen.push(s.version))
  const s2a = setWeights(s1, { blue: 9000, green: 1000 }, meta)
  const s2b = setWeights(s1, { blue: 5000, green: 5000 }, meta)
  const [ra, rb] = await Promise.all([a.compareAndSet(1, s2a, historyEntry(s1, s2a)), b.compareAndSet(1, s2b, historyEntry(s1, s2b))])
  t.equal([ra.ok, rb.ok].filter(Boolean).length, 1, 'exactly one wins')
  const loser = ra.ok ? rb : ra
  t.equal(loser.ok ? -1 : loser.current?.version, 2, 'the loser learns the winning version')
  const history = await a.history(10)
  t.same(history.map((h) => h.version), [2, 1], 'history newest first, no lost entry')
  const winner = ra.ok ? s2a : s2b
  t.same((await b.load())?.weights, winner.weights, 'both read the winner')
  await until('subscribers to hear of version 2', () => seen.includes(2), { detail: () => `heard ${JSON.stringify(seen)}` })
  t.ok(seen.includes(2), 'subscribers heard of version 2')
})

t.test('the secret is created once and shared', async (t) => {
  const redis = await startRedis(t)
  const dir = t.testdir()
  const a = await connectedStore(t, redis.url, dir)
  const b = await connectedStore(t, redis.url, dir)
  const [x, y] = await Promise.all([a.secret(), b.secret()])
  t.equal(x, y)
  t.ok(x.length >= 32)
})

t.test('reseed never lowers the version and brings its secret along', async (t) => {
  const redis = await startRedis(t)
  const dir = t.testdir()
  const a = await connectedStore(t, redis.url, dir)
  const s2 = setWeights(s1, { blue: 0, green: 10000 }, meta)
  t.equal(await a.reseed(s2, 'x'.repeat(43), historyEntry(null, s2)), true, 'empty store re-seeded')
  t.equal((await a.load())?.version, 2)
  t.equal(await a.secret(), 'x'.repeat(43))
  t.equal(await a.reseed(s1, 'y'.repeat(43), historyEntry(null, s1)), false, 'an older state does not overwrite')
  t.equal((await a.load())?.version, 2)
  t.equal(await a.secret(), 'x'.repeat(43), 'and does not replace the secret')
})

t.test('heartbeats expire after their TTL', async (t) => {
  const redis = await startRedis(t)
  const dir = t.testdir()
  const a = await connectedStore(t, redis.url, dir)
  await a.heartbeat({ id: 'one', appliedVersion: 3, appliedAt: 1, at: 2 }, 150)
  await a.heartbeat({ id: 'two', appliedVersion: 4, appliedAt: 1, at: 2 }, 60_000)
  t.same((await a.instances()).map((i) => i.id).sort(), ['one', 'two'])
  await until('the 150 ms heartbeat to expire', async () => (await a.instances()).length === 1)
  t.same((await a.instances()).map((i) => i.id), ['two'], 'the expired heartbeat is gone')
})

t.test('keys share one hash tag (Cluster-safe) under the prefix', async (t) => {
  const redis = await startRedis(t)
  const dir = t.testdir()
  const a = await connectedStore(t, redis.url, dir, { prefix: 'edge1' })
  await a.compareAndSet(0, s1, historyEntry(null, s1))
  await a.secret()
  await a.heartbeat({ id: 'i', appliedVersion: 1, appliedAt: 1, at: 1 }, 10_000)
  const raw = new Redis(redis.url)
  t.teardown(() => raw.disconnect())
  const keys = (await raw.keys('*')).sort()
  t.same(keys, ['{edge1}:history', '{edge1}:instance-expiries', '{edge1}:instances', '{edge1}:secret', '{edge1}:state'])
})

t.test('with Redis down every call fails fast with SWY_ERR_STORE_UNAVAILABLE', async (t) => {
  const redis = await startRedis(t)
  const dir = t.testdir()
  const a = new RedisStore(storeConfig(redis.url, dir))
  t.teardown(() => a.close())
  const ups: boolean[] = []
  a.onConnectivity((up) => ups.push(up))
  await a.connect()
  await a.compareAndSet(0, s1, historyEntry(null, s1))
  await redis.kill()
  await until('the store to report Redis down', () => ups.length >= 2, { detail: () => `connectivity ${JSON.stringify(ups)}` })
  await t.rejects(a.load(), { code: 'SWY_ERR_STORE_UNAVAILABLE' })
  const s2 = setWeights(s1, { blue: 0, green: 10000 }, meta)
  await t.rejects(a.compareAndSet(1, s2, historyEntry(s1, s2)), { code: 'SWY_ERR_STORE_UNAVAILABLE' })
  t.same(ups, [true, false], 'connectivity reported up, then down')
  await redis.start()
  await until('the store to report Redis up again', () => ups.length >= 3, { detail: () => `connectivity ${JSON.stringify(ups)}` })
  t.same(ups, [true, false, true], 'and up again after a restart')
  t.equal(await a.load(), null, 'the restarted Redis is empty')
})
