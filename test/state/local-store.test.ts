import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { historyEntry, initialState, setWeights, type HistoryEntry, type RoutingState } from '../../src/routing/routing-state.js'
import { FileStore } from '../../src/state/file-store.js'
import { MemoryStore } from '../../src/state/memory-store.js'
import { HISTORY_LIMIT, type Store } from '../../src/state/store.js'

const meta = (reason: string) => ({ changedBy: 'test', reason, at: '2025-01-01T00:00:00.000Z' })
const bump = (s: RoutingState, green: number): RoutingState => setWeights(s, { blue: 10_000 - green, green }, meta(`green ${green}`))

/** Commits versions 1..HISTORY_LIMIT through the store's own compare-and-set. */
async function fill (store: Store): Promise<RoutingState> {
  let s = initialState(['blue', 'green'], { blue: 10_000, green: 0 }, meta('seed'))
  await store.compareAndSet(0, s, historyEntry(null, s))
  for (let v = 2; v <= HISTORY_LIMIT; v++) {
    const next = bump(s, v % 10_000)
    await store.compareAndSet(s.version, next, historyEntry(s, next))
    s = next
  }
  return s
}

t.test('memory store: a re-seed keeps the history at its cap, like a commit', async (t) => {
  const store = new MemoryStore()
  const last = await fill(store)
  t.equal((await store.history(HISTORY_LIMIT + 10)).length, HISTORY_LIMIT, 'full')
  const ahead = bump(bump(last, 1), 2)
  t.equal(await store.reseed(ahead, 'r'.repeat(43), historyEntry(last, ahead)), true, 'a newer state re-seeds')
  const entries = await store.history(HISTORY_LIMIT + 10)
  t.equal(entries.length, HISTORY_LIMIT, `still capped at ${HISTORY_LIMIT}`)
  t.equal(entries[0]?.version, ahead.version, 'the re-seed entry is the newest')
  t.equal(entries.at(-1)?.version, 2, 'the oldest entry made room')
})

t.test('file store: a re-seed keeps the history at its cap, on disk too', async (t) => {
  const dir = t.testdir({})
  const path = join(dir, 'state.json')
  const seedStore = new FileStore(path)
  const s1 = initialState(['blue', 'green'], { blue: 10_000, green: 0 }, meta('seed'))
  await seedStore.compareAndSet(0, s1, historyEntry(null, s1))
  await seedStore.close()
  // A document at the cap, written as the store writes it.
  const doc = JSON.parse(await readFile(path, 'utf8')) as { state: RoutingState, history: HistoryEntry[] }
  let last = s1
  const history: HistoryEntry[] = [historyEntry(null, s1)]
  for (let v = 2; v <= HISTORY_LIMIT; v++) {
    const next = bump(last, v % 10_000)
    history.unshift(historyEntry(last, next))
    last = next
  }
  await writeFile(path, JSON.stringify({ ...doc, state: last, history }), { mode: 0o600 })
  const store = new FileStore(path)
  const ahead = bump(last, 3)
  t.equal(await store.reseed(ahead, 'r'.repeat(43), historyEntry(last, ahead)), true)
  await store.close()
  const reopened = new FileStore(path)
  const entries = await reopened.history(HISTORY_LIMIT + 10)
  t.equal(entries.length, HISTORY_LIMIT, `capped at ${HISTORY_LIMIT} on disk`)
  t.equal(entries[0]?.version, ahead.version)
  await reopened.close()
})

t.test('both stores: a writer is not told of its own write; everyone else is, once', async (t) => {
  for (const store of [new MemoryStore(), new FileStore(join(t.testdir({}), 'state.json'))] as Store[]) {
    const writerHeard: number[] = []
    const otherHeard: number[] = []
    const writer = (s: RoutingState): void => { writerHeard.push(s.version) }
    store.subscribe(writer)
    store.subscribe((s) => { otherHeard.push(s.version) })
    const s1 = initialState(['blue', 'green'], { blue: 10_000, green: 0 }, meta('seed'))
    await store.compareAndSet(0, s1, historyEntry(null, s1), writer)
    const s2 = bump(s1, 100)
    await store.reseed(s2, 'r'.repeat(43), historyEntry(s1, s2), writer)
    const s3 = bump(s2, 200)
    await store.compareAndSet(2, s3, historyEntry(s2, s3))
    t.strictSame(writerHeard, [3], `${store.kind}: the writer hears only the write it did not make`)
    t.strictSame(otherHeard, [1, 2, 3], `${store.kind}: another subscriber hears every write once`)
    await store.close()
  }
})

t.test('both stores: a heartbeat tells onHeartbeat listeners', async (t) => {
  for (const store of [new MemoryStore(), new FileStore(join(t.testdir({}), 'state.json'))] as Store[]) {
    let beats = 0
    const off = store.onHeartbeat(() => { beats++ })
    await store.heartbeat({ id: 'a', appliedVersion: 1, appliedAt: 1, at: 1 }, 10_000)
    off()
    await store.heartbeat({ id: 'a', appliedVersion: 1, appliedAt: 1, at: 1 }, 10_000)
    t.equal(beats, 1, `${store.kind}: one beat heard, none after unsubscribing`)
    await store.close()
  }
})
