import t from 'tap'
import { SwitchyardError } from '../../src/errors.js'
import { flipTo, historyEntry, initialState, setWeights, type ChangeMeta, type HistoryEntry, type RoutingState } from '../../src/routing/routing-state.js'
import { MemoryStore } from '../../src/state/memory-store.js'
import type { CasOutcome, StateListener } from '../../src/state/store.js'
import { reconcileColors, Switchboard, type Transition } from '../../src/state/switchboard.js'
import { sleep, until } from '../helpers/services.js'

const NOW = new Date('2025-03-01T12:00:00.000Z')
const META: ChangeMeta = { changedBy: 'test', reason: 'test', at: NOW.toISOString() }

const toGreen = (bp: number): Transition => (s, meta) => ({ ok: true, value: setWeights(s, { blue: 10_000 - bp, green: bp }, meta) })
const flipToGreen: Transition = (s, meta) => flipTo(s, 'green', meta)

/** The part of a tap test that registers teardown. */
interface Teardown { teardown (fn: () => unknown): void }

let instances = 0

/** A switchboard on `store` (not started), stopped in teardown. */
function board (t: Teardown, store: MemoryStore, colors: readonly string[] = ['blue', 'green'], initialWeights: Record<string, number> = { blue: 10_000, green: 0 }): Switchboard {
  const sb = new Switchboard({ store, colors, initialWeights, instanceId: `test-${++instances}` })
  t.teardown(() => sb.stop())
  return sb
}

async function started (t: Teardown, store: MemoryStore, colors?: readonly string[], initialWeights?: Record<string, number>): Promise<Switchboard> {
  const sb = board(t, store, colors, initialWeights)
  await sb.start(NOW)
  return sb
}

/** A stored state with the given colors and weights, at version 7. */
function stored (colors: readonly string[], weights: Record<string, number>): RoutingState {
  return { ...initialState(colors, weights, META), version: 7, kind: 'weights' }
}

t.test('an empty store is seeded with the initial weights at version 1', async (t) => {
  const store = new MemoryStore()
  const sb = board(t, store, ['blue', 'green'], { blue: 7500, green: 2500 })
  t.throws(() => sb.state, 'no state before start')
  const s = await sb.start(NOW)
  t.equal(s.version, 1)
  t.strictSame(s.weights, { blue: 7500, green: 2500 })
  t.equal(s.kind, 'init')
  t.equal(s.previous, null)
  t.equal(s.changedAt, NOW.toISOString())
  t.strictSame(await store.load(), s, 'the seed is in the store')
  t.match(await store.history(10), [{ version: 1, kind: 'init', before: null }])
  t.equal(sb.state, s)
})

t.test('a stored state wins over the initial weights', async (t) => {
  const store = new MemoryStore()
  const s = stored(['blue', 'green'], { blue: 0, green: 10_000 })
  t.ok((await store.compareAndSet(0, s, historyEntry(null, s))).ok)
  const sb = await started(t, store)
  t.equal(sb.state.version, 7)
  t.strictSame(sb.state.weights, { blue: 0, green: 10_000 })
  t.equal((await store.history(10)).length, 1, 'nothing written at start')
})

t.test('reconcileColors', async (t) => {
  const base = stored(['blue', 'green'], { blue: 9000, green: 1000 })

  const same = reconcileColors(base, ['blue', 'green'], NOW)
  t.ok(same.ok && same.value === base, 'same colors: the same state, no new version')

  const joined = reconcileColors(base, ['blue', 'green', 'red'], NOW)
  t.ok(joined.ok, 'a new color joins')
  if (joined.ok) {
    t.strictSame(joined.value.colors, ['blue', 'green', 'red'])
    t.strictSame(joined.value.weights, { blue: 9000, green: 1000, red: 0 }, 'at weight 0')
    t.equal(joined.value.version, 8, 'as a new version')
    t.equal(joined.value.previous, null, 'and nothing to roll back to across a color change')
  }

  const orphan = reconcileColors(base, ['blue'], NOW)
  t.notOk(orphan.ok, 'a removed color that still has traffic stops the start')
  if (!orphan.ok) {
    t.match(orphan.error, /"green"/, 'naming the color')
    t.match(orphan.error, /10 %/, 'and its share')
  }

  const idle = stored(['blue', 'green', 'red'], { blue: 10_000, green: 0, red: 0 })
  const dropped = reconcileColors(idle, ['blue', 'green'], NOW)
  t.ok(dropped.ok, 'a removed color at 0 is dropped')
  if (dropped.ok) {
    t.strictSame(dropped.value.colors, ['blue', 'green'])
    t.strictSame(dropped.value.weights, { blue: 10_000, green: 0 })
    t.notOk('red' in dropped.value.weights, 'no weight left for it')
    t.equal(dropped.value.version, 8)
  }

  const reordered = reconcileColors(base, ['green', 'blue'], NOW)
  t.ok(reordered.ok, 'a reorder keeps the weights')
  if (reordered.ok) t.strictSame(reordered.value.weights, { green: 1000, blue: 9000 })
})

t.test('start reconciles a stored state with the config', async (t) => {
  const store = new MemoryStore()
  const s = stored(['blue', 'green'], { blue: 9000, green: 1000 })
  await store.compareAndSet(0, s, historyEntry(null, s))
  const sb = await started(t, store, ['blue', 'green', 'red'])
  t.equal(sb.state.version, 8)
  t.strictSame(sb.state.weights, { blue: 9000, green: 1000, red: 0 })
  t.equal((await store.load())?.version, 8, 'the reconciled state is stored')
  t.match(await store.history(1), [{ version: 8, before: { version: 7 } }], 'and audited')

  const refusing = board(t, store, ['blue', 'red'], { blue: 10_000, red: 0 })
  try {
    await refusing.start(NOW)
    t.fail('a config without a color that has traffic must not start')
  } catch (e) {
    t.ok(e instanceof SwitchyardError)
    t.equal((e as SwitchyardError).code, 'SWY_ERR_CONFIG_INVALID')
    t.match((e as SwitchyardError).message, /"green"/)
  }
  t.equal((await store.load())?.version, 8, 'the refused start wrote nothing')
})

t.test('change: a new version, listeners told, no-ops not written', async (t) => {
  const store = new MemoryStore()
  const sb = await started(t, store)
  const applied: Array<[number, number | null]> = []
  sb.onApply((s, before) => applied.push([s.version, before?.version ?? null]))
  t.strictSame(applied, [[1, null]], 'a late listener hears the current state at once')

  const r = await sb.change(toGreen(1000), META)
  t.ok(r.ok && r.value.changed && r.value.state.version === 2)
  t.equal(sb.state.version, 2)
  t.strictSame(applied, [[1, null], [2, 1]])

  const noop = await sb.change(toGreen(1000), META, 2)
  t.ok(noop.ok && !noop.value.changed && noop.value.state.version === 2, 'same weights: not a change')
  t.equal((await store.history(10)).length, 2)

  const bad = await sb.change((s, meta) => flipTo(s, 'red', meta), META)
  t.match(bad, { ok: false, error: { code: 'SWY_ERR_UNKNOWN_COLOR' } })

  const stale = await sb.change(flipToGreen, META, 1)
  t.match(stale, { ok: false, error: { code: 'SWY_ERR_STATE_VERSION_CONFLICT' } })
  t.equal(sb.state.version, 2)
})

t.test('two switchboards on one store: a raced If-Match write has one winner', async (t) => {
  const store = new MemoryStore()
  const a = await started(t, store)
  const b = await started(t, store)
  t.equal(a.state.version, 1)
  t.equal(b.state.version, 1, 'the second start found the seed')
  t.equal((await store.history(10)).length, 1, 'seeded once')

  const [ra, rb] = await Promise.all([a.change(toGreen(1000), META, 1), b.change(flipToGreen, META, 1)])
  const wins = [ra, rb].filter((r) => r.ok)
  const losses = [ra, rb].filter((r) => !r.ok)
  t.equal(wins.length, 1, 'exactly one wins')
  t.equal(losses.length, 1, 'the other loses')
  t.match(losses[0], { ok: false, error: { code: 'SWY_ERR_STATE_VERSION_CONFLICT' } })
  t.equal((await store.load())?.version, 2)
  t.equal(a.state.version, 2, 'both switchboards follow the store')
  t.equal(b.state.version, 2)
  t.strictSame(a.state.weights, b.state.weights)
  t.equal((await store.history(10)).length, 2)
})

t.test('two switchboards, one behind: a write without If-Match is retried on the fresh state', async (t) => {
  const store = new MemoryStore()
  const a = await started(t, store)
  const b = await started(t, store)
  await b.stop() // b no longer hears commits, so its view goes stale
  t.ok((await a.change(toGreen(1000), META)).ok)
  t.equal(b.state.version, 1, 'b is behind')

  const stale = await b.change(flipToGreen, META, 1)
  t.match(stale, { ok: false, error: { code: 'SWY_ERR_STATE_VERSION_CONFLICT' } }, 'with If-Match: the store refuses b\'s stale base')
  t.equal((await store.load())?.version, 2, 'nothing written')
  t.equal(b.state.version, 2, 'the conflict brought b up to date')

  const s3 = (await store.load()) as RoutingState
  const next = setWeights(s3, { blue: 5000, green: 5000 }, META)
  t.ok((await store.compareAndSet(2, next, historyEntry(s3, next))).ok, 'someone else commits version 3')
  const retried = await b.change(flipToGreen, META)
  t.ok(retried.ok, 'without If-Match: retried on the fresh state')
  if (retried.ok) {
    t.equal(retried.value.state.version, 4)
    t.match(retried.value.state.previous, { version: 3, weights: { blue: 5000, green: 5000 } }, 'based on the newest state')
  }
  t.equal((await store.load())?.version, 4)
})

/** A MemoryStore that counts what it delivers to each subscription, and its instance reads. */
class CountingStore extends MemoryStore {
  delivered = 0
  reads = 0
  readonly #counted = new Map<unknown, StateListener>()
  override subscribe (listener: StateListener, onError?: (e: Error) => void): () => void {
    const counted: StateListener = (s) => { this.delivered++; listener(s) }
    this.#counted.set(listener, counted)
    return super.subscribe(counted, onError)
  }

  /** The writer names its own listener; the store knows it by its counting wrapper. */
  override compareAndSet (expected: number, next: RoutingState, entry: HistoryEntry, from?: StateListener): Promise<CasOutcome> {
    return super.compareAndSet(expected, next, entry, from === undefined ? undefined : this.#counted.get(from) ?? from)
  }

  override async instances (): ReturnType<MemoryStore['instances']> {
    this.reads++
    return await super.instances()
  }
}

/** A MemoryStore whose heartbeat messages are lost (the records still land). */
class DeafStore extends MemoryStore {
  override onHeartbeat (): () => void { return () => {} }
}

t.test('a write is applied once: the store does not echo it to the writer', async (t) => {
  const store = new CountingStore()
  const sb = await started(t, store)
  let applies = 0
  sb.onApply(() => { applies++ })
  applies = 0 // the registration call
  const before = store.delivered
  for (let i = 1; i <= 3; i++) t.ok((await sb.change(toGreen(i * 1000), META)).ok)
  t.equal(applies, 3, 'one apply per write')
  t.equal(store.delivered - before, 0, 'the store delivered none of its own writes back to the writer')

  const other = await started(t, store)
  const heardBefore = store.delivered
  t.ok((await sb.change(toGreen(5000), META)).ok)
  t.equal(store.delivered - heardBefore, 1, 'another switchboard on the store hears the write once')
  t.equal(other.state.version, sb.state.version)
})

t.test('?wait re-checks when a heartbeat lands, not on a timer', async (t) => {
  const store = new CountingStore()
  const sb = new Switchboard({ store, colors: ['blue', 'green'], initialWeights: { blue: 10_000, green: 0 }, instanceId: 'me', heartbeatMs: 3_600_000, waitRecheckMs: 3_600_000 })
  t.teardown(() => sb.stop())
  await sb.start(NOW)
  await store.heartbeat({ id: 'ghost', appliedVersion: 1, appliedAt: 1, at: Date.now() }, 3_600_000)
  const r = await sb.change(toGreen(1000), META)
  t.ok(r.ok)
  const readsBefore = store.reads
  const waiting = sb.waitFor(2, 60_000)
  await until('the first propagation check', async () => store.reads > readsBefore)
  // A poller would read the instances again and again here; a listener waits for a beat.
  await sleep(200)
  t.equal(store.reads - readsBefore, 1, 'one read while no heartbeat came')
  await store.heartbeat({ id: 'ghost', appliedVersion: 2, appliedAt: 2, at: Date.now() }, 3_600_000)
  const p = await waiting
  t.strictSame(p.lagging, [], 'converged on the heartbeat')
  t.strictSame(p.applied.map((i) => i.id).sort(), ['ghost', 'me'])
  t.equal(store.reads - readsBefore, 2, 'and re-read once for it')
})

t.test('?wait: a lost heartbeat message delays the answer but never hangs it', async (t) => {
  const store = new DeafStore()
  const sb = await started(t, store)
  await store.heartbeat({ id: 'ghost', appliedVersion: 1, appliedAt: 1, at: Date.now() }, 3_600_000)
  t.ok((await sb.change(toGreen(1000), META)).ok)
  const waiting = sb.waitFor(2, 60_000, 20)
  await store.heartbeat({ id: 'ghost', appliedVersion: 2, appliedAt: 2, at: Date.now() }, 3_600_000)
  const p = await waiting
  t.strictSame(p.lagging, [], 'the fallback re-check found it')

  const timedOut = await sb.waitFor(3, 50, 3_600_000)
  t.equal(timedOut.lagging.length, 2, 'a version nobody applied: the deadline answers with who lags')
})
