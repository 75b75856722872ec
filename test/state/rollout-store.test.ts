import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { Redis } from 'ioredis'
import { validateConfig } from '../../src/config/load-config.js'
import { DEFAULT_ANALYSIS, type Rollout, type TrafficReport } from '../../src/rollout/types.js'
import { historyEntry, initialState, setWeights, type HistoryEntry, type RolloutEvent, type RoutingState } from '../../src/routing/routing-state.js'
import { FileStore } from '../../src/state/file-store.js'
import { MemoryStore } from '../../src/state/memory-store.js'
import { RedisStore, type RedisStoreConfig } from '../../src/state/redis-store.js'
import { HISTORY_LIMIT, type InstanceInfo, type Store } from '../../src/state/store.js'
import { Switchboard } from '../../src/state/switchboard.js'
import { startRedis } from '../helpers/redis.js'
import { type Teardown, until } from '../helpers/services.js'

// The store layer of rollouts, on every store: the rollout document (compare-and-set on its
// rev, atomic with a routing change and its history events), the driver lease, and the
// traffic report a heartbeat carries. One redis-server for the file; each test its own prefix.

const redis = await startRedis(t)
let prefixes = 0

function redisConfig (dir: string, prefix: string): RedisStoreConfig {
  const loaded = validateConfig({ colors: { blue: { targets: ['http://127.0.0.1:1'] } }, store: { kind: 'redis', url: redis.url, prefix, lastKnownPath: `${dir}/lk.json` } }, {})
  return loaded.config.store as RedisStoreConfig
}

/** A store under test and a second handle on the same data (another RedisStore; the same object for the one-process stores). */
interface Opened {
  readonly store: Store
  readonly other: Store
  /** A store on the same data, not yet connected (the one-process stores: the store itself). */
  readonly unconnected: () => Store
  /** Raw Redis and the store's key prefix (Redis only). */
  readonly raw?: { readonly redis: Redis, readonly tag: string }
}

interface Kind {
  readonly name: string
  open (t: Teardown & { testdir: () => string }): Promise<Opened>
}

const KINDS: readonly Kind[] = [
  {
    name: 'memory',
    async open (t) {
      const store = new MemoryStore()
      t.teardown(() => store.close())
      return { store, other: store, unconnected: () => store }
    }
  },
  {
    name: 'file',
    async open (t) {
      const store = new FileStore(join(t.testdir(), 'state.json'))
      t.teardown(() => store.close())
      return { store, other: store, unconnected: () => store }
    }
  },
  {
    name: 'redis',
    async open (t) {
      const dir = t.testdir()
      const prefix = `t${++prefixes}`
      const store = new RedisStore(redisConfig(dir, prefix))
      const other = new RedisStore(redisConfig(dir, prefix))
      t.teardown(() => store.close())
      t.teardown(() => other.close())
      await store.connect()
      await other.connect()
      const raw = new Redis(redis.url)
      t.teardown(() => raw.disconnect())
      const unconnected = (): Store => {
        const s = new RedisStore(redisConfig(dir, prefix))
        t.teardown(() => s.close())
        return s
      }
      return { store, other, unconnected, raw: { redis: raw, tag: `{${prefix}}` } }
    }
  }
]

const AT = '2026-12-01T10:00:00.000Z'
const meta = (reason: string) => ({ changedBy: 'alice', reason, at: AT })
const s1 = initialState(['blue', 'green'], { blue: 10_000, green: 0 }, meta('seed'))
const s2 = setWeights(s1, { blue: 9500, green: 500 }, { changedBy: 'rollout:r1 (alice)', reason: 'step 1', at: AT })

const TRAFFIC: TrafficReport = {
  epoch: 'e-1',
  colors: { blue: { requests: 1200, errors: 3, buckets: [100, 900, 190, 10, 0] }, green: { requests: 40, errors: 0, buckets: [5, 30, 5, 0, 0] } }
}

/** A rollout document at `rev` (with every optional part filled, so the schema sees it all). */
function rollout (rev: number, over: Partial<Rollout> = {}): Rollout {
  return {
    id: 'r1',
    rev,
    phase: 'progressing',
    from: 'blue',
    to: 'green',
    steps: [{ weight: 5, pauseSeconds: 1 }, { weight: 50, pause: 'approval' }, { weight: 100 }],
    analysis: DEFAULT_ANALYSIS,
    reason: 'v2.3.0',
    startedAt: AT,
    startedBy: 'alice',
    startWeights: { blue: 10_000, green: 0 },
    startVersion: 1,
    stepIndex: 0,
    stage: 'analysing',
    stepVersion: 2,
    stepStartedAt: AT,
    heldMs: 0,
    pausedAt: null,
    stepPasses: 1,
    approved: false,
    intervalStartedAt: AT,
    baseline: { i1: TRAFFIC },
    reference: { requests: 500, errorRatio: 0.01, latency: 0.25 },
    analyses: [{ at: AT, step: 0, from: { requests: 900, errorRatio: 0.002, latency: 0.1 }, to: { requests: 0, errorRatio: 0, latency: null }, verdict: 'inconclusive', why: 'too few requests' }],
    consecutiveFailures: 0,
    endedAt: null,
    endReason: null,
    updatedAt: AT,
    ...over
  }
}

/** A history entry for a rollout event that changes no routing (at the state `s`). */
function event (s: RoutingState, kind: RolloutEvent['event'], step: number, verdict?: RolloutEvent['verdict']): HistoryEntry {
  return { ...historyEntry(s, s), kind: 'rollout', changedBy: 'rollout:r1 (alice)', reason: kind, rollout: { id: 'r1', event: kind, step, ...(verdict === undefined ? {} : { verdict }) } }
}

const describeHistory = (h: readonly HistoryEntry[]): string[] => h.map((e) => `${e.kind}:${e.rollout?.event ?? e.version}`)

for (const kind of KINDS) {
  t.test(`${kind.name}: a rollout is created, read back and compare-and-set on its rev`, async (t) => {
    const { store, other } = await kind.open(t)
    t.equal(await store.loadRollout(), null, 'no rollout in a fresh store')
    t.same(await store.writeRollout({ expectedRev: 0, rollout: rollout(1) }), { ok: true }, 'created at rev 1')
    t.same(await other.loadRollout(), rollout(1), 'read back whole (through the schema)')
    const stale = await other.writeRollout({ expectedRev: 0, rollout: rollout(1, { reason: 'second start' }) })
    t.same(stale, { ok: false, reason: 'rollout-conflict', current: rollout(1) }, 'a second create loses and learns the stored one')
    t.same(await store.writeRollout({ expectedRev: 1, rollout: rollout(2, { phase: 'paused', pausedAt: AT }) }), { ok: true }, 'rev 1 → 2')
    const lost = await other.writeRollout({ expectedRev: 1, rollout: rollout(2, { phase: 'aborted' }) })
    t.equal(lost.ok ? 'ok' : lost.reason, 'rollout-conflict', 'a stale rev loses')
    t.equal(!lost.ok && lost.reason === 'rollout-conflict' ? lost.current?.phase : undefined, 'paused', 'and learns the current document')
    t.equal((await store.loadRollout())?.phase, 'paused', 'the loser wrote nothing')
    t.same(await store.history(10), [], 'no history from rollout writes without events')
  })

  t.test(`${kind.name}: a stale rev or a stale state version writes nothing at all`, async (t) => {
    const { store } = await kind.open(t)
    await store.compareAndSet(0, s1, historyEntry(null, s1))
    await store.writeRollout({ expectedRev: 0, rollout: rollout(1) })
    const change = { expectedVersion: 1, state: s2, entry: historyEntry(s1, s2) }
    const events = [event(s2, 'step', 0)]
    const staleRev = await store.writeRollout({ expectedRev: 0, rollout: rollout(1, { reason: 'x' }), change, events })
    t.equal(staleRev.ok ? 'ok' : staleRev.reason, 'rollout-conflict')
    const staleState = await store.writeRollout({ expectedRev: 1, rollout: rollout(2), change: { ...change, expectedVersion: 7 }, events })
    t.same(staleState, { ok: false, reason: 'state-conflict', current: s1 }, 'a stale state version loses and learns the current state')
    t.same(await store.loadRollout(), rollout(1), 'the rollout is unchanged')
    t.same(await store.load(), s1, 'the state is unchanged')
    t.same(describeHistory(await store.history(10)), ['init:1'], 'no history entry was added')
  })

  t.test(`${kind.name}: a change and its events are written together, history newest first`, async (t) => {
    const { store, other } = await kind.open(t)
    await store.compareAndSet(0, s1, historyEntry(null, s1))
    const heard: number[] = []
    const mine: number[] = []
    const theirs = (s: RoutingState): void => { heard.push(s.version) }
    const own = (s: RoutingState): void => { mine.push(s.version) }
    other.subscribe(theirs)
    store.subscribe(own)
    const start = event(s1, 'start', 0)
    t.same(await store.writeRollout({ expectedRev: 0, rollout: rollout(1), events: [start] }), { ok: true }, 'start: events only')
    const r = await store.writeRollout({
      expectedRev: 1,
      rollout: rollout(2, { stepVersion: 2 }),
      change: { expectedVersion: 1, state: s2, entry: historyEntry(s1, s2) },
      events: [event(s2, 'verdict', 0, 'pass'), event(s2, 'pause', 0)]
    }, own)
    t.same(r, { ok: true })
    t.same(await other.load(), s2, 'the state is written')
    t.equal((await other.loadRollout())?.rev, 2, 'with the rollout')
    const history = await other.history(10)
    t.same(describeHistory(history), ['rollout:pause', 'rollout:verdict', 'weights:2', 'rollout:start', 'init:1'], 'events after the change, the last event newest')
    t.same(history[1]?.rollout, { id: 'r1', event: 'verdict', step: 0, verdict: 'pass' }, 'the event record reads back')
    t.same(history[2], historyEntry(s1, s2), "the change's own entry")
    await until('the other handle to hear of version 2', () => heard.includes(2), { detail: () => JSON.stringify(heard) })
    t.ok(heard.includes(2), 'a subscriber (on another store object for Redis) is told of the change')
    if (store === other) t.same(mine, [], 'the writer is not told of its own write')
    t.same(await store.writeRollout({ expectedRev: 2, rollout: rollout(3) }), { ok: true }, 'a rollout-only write')
    t.equal((await other.load())?.version, 2, 'leaves the state alone')
  })

  t.test(`${kind.name}: routing writes keep the rollout document`, async (t) => {
    const { store } = await kind.open(t)
    await store.compareAndSet(0, s1, historyEntry(null, s1))
    await store.writeRollout({ expectedRev: 0, rollout: rollout(1) })
    await store.compareAndSet(1, s2, historyEntry(s1, s2))
    const s3 = setWeights(s2, { blue: 0, green: 10_000 }, meta('reseed'))
    t.equal(await store.reseed(s3, 'z'.repeat(43), historyEntry(s2, s3)), true)
    t.same(await store.loadRollout(), rollout(1), 'a compare-and-set and a re-seed leave the rollout as it was')
  })

  t.test(`${kind.name}: the driver lease has one holder, renewed by it, taken over after its TTL`, async (t) => {
    const { store, other } = await kind.open(t)
    t.equal(await store.leaseHolder(), null, 'nobody holds a fresh lease')
    const [a, b] = await Promise.all([store.acquireLease('a', 60_000), other.acquireLease('b', 60_000)])
    t.equal([a, b].filter(Boolean).length, 1, 'exactly one of two candidates gets it')
    const [holder, loser] = a ? ['a', 'b'] : ['b', 'a']
    t.equal(await other.leaseHolder(), holder)
    t.equal(await other.acquireLease(loser, 60_000), false, 'the other still cannot take it')
    t.equal(await store.acquireLease(holder, 60_000), true, 'the holder renews it')
    await other.releaseLease(loser)
    t.equal(await store.leaseHolder(), holder, 'a release by a non-holder does nothing')

    // A renewal sets the expiry from now: shortened to 100 ms, it lapses and the other takes over.
    t.equal(await store.acquireLease(holder, 100), true)
    await until('the 100 ms lease to lapse and the other to take it', () => other.acquireLease(loser, 60_000))
    t.equal(await store.leaseHolder(), loser, 'the other holds it after the TTL')
    t.equal(await store.acquireLease(holder, 60_000), false, 'and the old holder cannot take it back')

    // Renewed with a long TTL before its short one runs out, it outlives the short one.
    await store.releaseLease(loser)
    t.equal(await store.leaseHolder(), null, 'released by its holder')
    const since = Date.now()
    t.equal(await store.acquireLease(holder, 150), true)
    t.equal(await store.acquireLease(holder, 60_000), true, 'renewed for a minute')
    await until('the first 150 ms to pass', () => Date.now() > since + 400)
    t.equal(await other.acquireLease(loser, 60_000), false, 'the renewal extended it')
    t.equal(await other.leaseHolder(), holder)
  })

  t.test(`${kind.name}: a heartbeat carries its traffic report`, async (t) => {
    const { store, other } = await kind.open(t)
    const beat: InstanceInfo = { id: 'i1', appliedVersion: 1, appliedAt: 1, at: 2, traffic: TRAFFIC }
    await store.heartbeat(beat, 60_000)
    await store.heartbeat({ id: 'old', appliedVersion: 1, appliedAt: 1, at: 2 }, 60_000)
    const live = [...await other.instances()].sort((x, y) => x.id.localeCompare(y.id))
    t.same(live, [beat, { id: 'old', appliedVersion: 1, appliedAt: 1, at: 2 }], 'with and without traffic')
  })

  t.test(`${kind.name}: the switchboard's heartbeat publishes options.traffic()`, async (t) => {
    const { other, unconnected } = await kind.open(t)
    let calls = 0
    const sb = new Switchboard({ store: unconnected(), colors: ['blue', 'green'], initialWeights: { blue: 10_000, green: 0 }, instanceId: 'sw1', heartbeatMs: 50, traffic: () => ({ epoch: 'e-1', colors: { blue: { requests: ++calls, errors: 0, buckets: [calls] } } }) })
    t.teardown(() => sb.stop())
    await sb.start(new Date(AT))
    await until('a second heartbeat with traffic', async () => {
      const me = (await other.instances()).find((i) => i.id === 'sw1')
      return (me?.traffic?.colors.blue?.requests ?? 0) >= 2
    })
    const me = (await other.instances()).find((i) => i.id === 'sw1')
    t.equal(me?.traffic?.epoch, 'e-1', 'each beat carries a fresh report')
  })
}

t.test('memory: the history stays capped when a rollout write adds entries', async (t) => {
  const store = new MemoryStore()
  let s = s1
  await store.compareAndSet(0, s, historyEntry(null, s))
  for (let v = 2; v <= HISTORY_LIMIT; v++) {
    const next = setWeights(s, { blue: 10_000 - v, green: v }, meta(`v${v}`))
    await store.compareAndSet(s.version, next, historyEntry(s, next))
    s = next
  }
  const next = setWeights(s, { blue: 5000, green: 5000 }, meta('step'))
  await store.writeRollout({ expectedRev: 0, rollout: rollout(1), change: { expectedVersion: s.version, state: next, entry: historyEntry(s, next) }, events: [event(next, 'step', 0)] })
  const h = await store.history(HISTORY_LIMIT + 10)
  t.equal(h.length, HISTORY_LIMIT)
  t.same(describeHistory(h.slice(0, 2)), ['rollout:step', `weights:${next.version}`])
})

t.test('redis: the history stays capped, and the keys share the hash tag', async (t) => {
  const { store, raw } = await KINDS[2]!.open(t)
  const { redis: r, tag } = raw!
  await store.compareAndSet(0, s1, historyEntry(null, s1))
  await r.rpush(`${tag}:history`, ...Array.from({ length: HISTORY_LIMIT - 1 }, () => JSON.stringify(historyEntry(null, s1))))
  await store.writeRollout({ expectedRev: 0, rollout: rollout(1), change: { expectedVersion: 1, state: s2, entry: historyEntry(s1, s2) }, events: [event(s2, 'start', 0), event(s2, 'step', 0)] })
  t.equal(await r.llen(`${tag}:history`), HISTORY_LIMIT)
  t.same(describeHistory(await store.history(3)), ['rollout:step', 'rollout:start', 'weights:2'])
  await store.acquireLease('a', 60_000)
  t.same((await r.keys(`${tag}:rollout*`)).sort(), [`${tag}:rollout`, `${tag}:rollout-lease`])
})

t.test('redis: a damaged rollout value answers SWY_ERR_STORE_CORRUPT and is never overwritten', async (t) => {
  const { store, raw } = await KINDS[2]!.open(t)
  const { redis: r, tag } = raw!
  const bad = JSON.stringify({ ...rollout(3), stepIndex: -1, stage: 'sideways', startWeights: { blue: 7 } })
  await r.set(`${tag}:rollout`, bad)
  const e = await store.loadRollout().then(() => undefined, (e: unknown) => e as { code?: string, message?: string })
  t.equal(e?.code, 'SWY_ERR_STORE_CORRUPT')
  t.match(e?.message, /rollout\.stepIndex/, 'names the step index')
  t.match(e?.message, /rollout\.stage/, 'and the stage')
  t.match(e?.message, /startWeights must sum to 10000/, 'and the start weights')
  await t.rejects(store.writeRollout({ expectedRev: 0, rollout: rollout(1) }), { code: 'SWY_ERR_STORE_CORRUPT' }, 'a new rollout over it fails')
  t.equal(await r.get(`${tag}:rollout`), bad, 'and leaves it for the operator')
  const noRev = JSON.stringify({ ...rollout(3), rev: 'three' })
  await r.set(`${tag}:rollout`, noRev)
  for (const expectedRev of [0, 3]) {
    await t.rejects(store.writeRollout({ expectedRev, rollout: rollout(4) }), { code: 'SWY_ERR_STORE_CORRUPT', message: /rollout\.rev/ }, `a rev that cannot be read matches no expected rev (${expectedRev})`)
  }
  t.equal(await r.get(`${tag}:rollout`), noRev, 'never overwritten')
  await r.set(`${tag}:rollout`, '{"rev": 1, "trunc')
  await t.rejects(store.loadRollout(), { code: 'SWY_ERR_STORE_CORRUPT', message: /not valid JSON/ })
})

t.test('redis: a heartbeat whose traffic report is out of bounds is refused on read', async (t) => {
  const { store } = await KINDS[2]!.open(t)
  const colors = Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`c${i}`, { requests: 1, errors: 0, buckets: [1] }]))
  await store.heartbeat({ id: 'wide', appliedVersion: 1, appliedAt: 1, at: 2, traffic: { epoch: 'e', colors } }, 60_000)
  await t.rejects(store.instances(), { code: 'SWY_ERR_STORE_CORRUPT', message: /traffic/ }, '17 colors')
  await store.heartbeat({ id: 'wide', appliedVersion: 1, appliedAt: 1, at: 2, traffic: { epoch: 'e', colors: { blue: { requests: -1, errors: 0, buckets: new Array<number>(65).fill(0) } } } }, 60_000)
  await t.rejects(store.instances(), { code: 'SWY_ERR_STORE_CORRUPT', message: /traffic/ }, 'a negative count and 65 buckets')
})

t.test('redis: with Redis down the rollout calls fail with SWY_ERR_STORE_UNAVAILABLE', async (t) => {
  const own = await startRedis(t)
  const store = new RedisStore({ ...redisConfig(t.testdir(), 'down'), url: own.url })
  t.teardown(() => store.close())
  const ups: boolean[] = []
  store.onConnectivity((up) => ups.push(up))
  await store.connect()
  await own.kill()
  await until('the store to report Redis down', () => ups.includes(false))
  await t.rejects(store.loadRollout(), { code: 'SWY_ERR_STORE_UNAVAILABLE' })
  await t.rejects(store.writeRollout({ expectedRev: 0, rollout: rollout(1) }), { code: 'SWY_ERR_STORE_UNAVAILABLE' })
  await t.rejects(store.acquireLease('a', 1000), { code: 'SWY_ERR_STORE_UNAVAILABLE' })
  await t.rejects(store.leaseHolder(), { code: 'SWY_ERR_STORE_UNAVAILABLE' })
  await t.rejects(store.releaseLease('a'), { code: 'SWY_ERR_STORE_UNAVAILABLE' })
})

t.test('file: the rollout survives a restart, and the file holds it', async (t) => {
  const path = join(t.testdir(), 'state.json')
  const first = new FileStore(path)
  await first.compareAndSet(0, s1, historyEntry(null, s1))
  await first.writeRollout({ expectedRev: 0, rollout: rollout(1), change: { expectedVersion: 1, state: s2, entry: historyEntry(s1, s2) }, events: [event(s2, 'start', 0)] })
  await first.close()
  const doc = JSON.parse(await readFile(path, 'utf8')) as { rollout?: unknown }
  t.same(doc.rollout, rollout(1), 'the file holds the rollout')
  const second = new FileStore(path)
  t.teardown(() => second.close())
  t.same(await second.loadRollout(), rollout(1), 'a new store on the same file reads it')
  t.same(await second.load(), s2)
  t.same(describeHistory(await second.history(10)), ['rollout:start', 'weights:2', 'init:1'])
  t.same(await second.writeRollout({ expectedRev: 1, rollout: rollout(2) }), { ok: true }, 'and continues from its rev')
})

t.test('file: a file without a rollout has no `rollout` field after routing writes', async (t) => {
  const path = join(t.testdir(), 'state.json')
  const store = new FileStore(path)
  t.teardown(() => store.close())
  await store.compareAndSet(0, s1, historyEntry(null, s1))
  const doc = JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>
  t.same(Object.keys(doc).sort(), ['format', 'history', 'secret', 'state'], 'the file is what the previous release wrote')
  t.equal(await store.loadRollout(), null)
})

t.test('file: a damaged rollout in the state file answers SWY_ERR_STORE_CORRUPT naming it', async (t) => {
  const path = join(t.testdir(), 'state.json')
  const seed = new FileStore(path)
  await seed.compareAndSet(0, s1, historyEntry(null, s1))
  await seed.writeRollout({ expectedRev: 0, rollout: rollout(1) })
  await seed.close()
  const doc = JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>
  await writeFile(path, JSON.stringify({ ...doc, rollout: { ...rollout(1), rev: 0, analyses: [{ verdict: 'maybe' }], stepStartedAt: '2026-13-45T99:00:00Z' } }))
  const store = new FileStore(path)
  t.teardown(() => store.close())
  const e = await store.loadRollout().then(() => undefined, (e: unknown) => e as { code?: string, message?: string })
  t.equal(e?.code, 'SWY_ERR_STORE_CORRUPT')
  t.match(e?.message, /rollout\.rev/, 'names the rev')
  t.match(e?.message, /rollout\.analyses\.0/, 'and the analysis')
  t.match(e?.message, /rollout\.stepStartedAt is not a valid time/, 'and the time')
})
