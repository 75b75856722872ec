import { readdir, readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { SwitchyardError } from '../../src/errors.js'
import { historyEntry, initialState, setWeights, type HistoryEntry, type RoutingState } from '../../src/routing/routing-state.js'
import { FileStore } from '../../src/state/file-store.js'
import { HISTORY_LIMIT } from '../../src/state/store.js'

const COLORS = ['blue', 'green'] as const
const meta = (reason: string, at = '2025-01-01T00:00:00.000Z') => ({ changedBy: 'test', reason, at })

function seed (): RoutingState {
  return initialState(COLORS, { blue: 10_000, green: 0 }, meta('seed'))
}

/** The state after `state` with green at `greenBp`. */
function bump (state: RoutingState, greenBp: number): RoutingState {
  return setWeights(state, { blue: 10_000 - greenBp, green: greenBp }, meta(`green ${greenBp}`))
}

/** Commits `next` on top of `before` and fails the test if the store refuses. */
async function commit (t: Test, store: FileStore, before: RoutingState | null, next: RoutingState): Promise<RoutingState> {
  const cas = await store.compareAndSet(before?.version ?? 0, next, historyEntry(before, next))
  t.ok(cas.ok, `version ${next.version} committed`)
  return next
}

async function rejectsCorrupt (t: Test, promise: Promise<unknown>, what: string): Promise<SwitchyardError | undefined> {
  try {
    await promise
    t.fail(`${what}: should have rejected`)
    return undefined
  } catch (e) {
    t.ok(e instanceof SwitchyardError, `${what}: a SwitchyardError`)
    t.equal((e as SwitchyardError).code, 'SWY_ERR_STORE_CORRUPT', `${what}: SWY_ERR_STORE_CORRUPT`)
    return e as SwitchyardError
  }
}

t.test('an absent file is an empty store; the first write creates it', async (t) => {
  const dir = t.testdir({})
  const path = join(dir, 'nested', 'state.json')
  const store = new FileStore(path)
  t.equal(await store.load(), null)
  t.strictSame(await store.history(10), [])
  await commit(t, store, null, seed())
  const raw = JSON.parse(await readFile(path, 'utf8')) as { state: RoutingState }
  t.equal(raw.state.version, 1, 'the state is on disk')
  await store.close()
})

t.test('compare-and-set: the expected version must be the stored one', async (t) => {
  const dir = t.testdir({})
  const store = new FileStore(join(dir, 'state.json'))
  const s1 = seed()
  const early = await store.compareAndSet(1, s1, historyEntry(null, s1))
  t.match(early, { ok: false, reason: 'conflict', current: null }, 'an empty store is at version 0')
  await commit(t, store, null, s1)
  const again = await store.compareAndSet(0, s1, historyEntry(null, s1))
  t.match(again, { ok: false, reason: 'conflict', current: { version: 1 } }, 'a second seed conflicts with version 1')
  const s2 = await commit(t, store, s1, bump(s1, 1000))
  const stale = bump(s1, 5000)
  const cas = await store.compareAndSet(1, stale, historyEntry(s1, stale))
  t.match(cas, { ok: false, reason: 'conflict', current: { version: 2, weights: { green: 1000 } } }, 'stale: conflict with the current state')
  const ahead = await store.compareAndSet(5, stale, historyEntry(s1, stale))
  t.match(ahead, { ok: false, reason: 'conflict', current: { version: 2 } }, 'ahead of the store: conflict too')
  t.strictSame(await store.load(), s2, 'the refused writes changed nothing')
  t.equal((await store.history(10)).length, 2)
  await store.close()

  const reopened = new FileStore(join(dir, 'state.json'))
  t.strictSame(await reopened.load(), s2, 'nor on disk')
  await reopened.close()
})

t.test('concurrent compare-and-sets on one store: exactly one wins', async (t) => {
  const dir = t.testdir({})
  const store = new FileStore(join(dir, 'state.json'))
  const s1 = await commit(t, store, null, seed())
  const outcomes = await Promise.all(Array.from({ length: 10 }, (_, i) => {
    const next = bump(s1, (i + 1) * 100)
    return store.compareAndSet(1, next, historyEntry(s1, next))
  }))
  t.equal(outcomes.filter((o) => o.ok).length, 1, 'one commit')
  t.equal((await store.load())?.version, 2)
  t.equal((await store.history(100)).length, 2)
  await store.close()
})

t.test('subscribers hear every commit', async (t) => {
  const dir = t.testdir({})
  const store = new FileStore(join(dir, 'state.json'))
  const heard: number[] = []
  const unsubscribe = store.subscribe((s) => heard.push(s.version))
  const s1 = await commit(t, store, null, seed())
  const s2 = await commit(t, store, s1, bump(s1, 100))
  unsubscribe()
  await commit(t, store, s2, bump(s2, 200))
  t.strictSame(heard, [1, 2], 'until unsubscribed')
  await store.close()
})

t.test('history: newest first, limited, and capped on disk', async (t) => {
  const dir = t.testdir({})
  const path = join(dir, 'state.json')
  const store = new FileStore(path)
  let s = await commit(t, store, null, seed())
  for (let i = 1; i <= 4; i++) s = await commit(t, store, s, bump(s, i * 100))
  t.strictSame((await store.history(10)).map((e) => e.version), [5, 4, 3, 2, 1], 'newest first')
  t.strictSame((await store.history(2)).map((e) => e.version), [5, 4], 'at most limit')
  t.match((await store.history(1))[0], { version: 5, before: { version: 4 }, after: { version: 5, weights: { green: 400 } } })
  await store.close()

  // A document already at the cap (written the way the store writes it), then two more commits.
  const capped = join(dir, 'capped.json')
  const doc = JSON.parse(await readFile(path, 'utf8')) as { state: RoutingState, history: HistoryEntry[], secret: string, format: string }
  let last = seed()
  const history: HistoryEntry[] = [historyEntry(null, last)]
  for (let v = 2; v <= HISTORY_LIMIT; v++) {
    const next = bump(last, v % 10_000)
    history.unshift(historyEntry(last, next))
    last = next
  }
  await writeFile(capped, JSON.stringify({ ...doc, state: last, history }), { mode: 0o600 })
  const big = new FileStore(capped)
  t.equal((await big.load())?.version, HISTORY_LIMIT)
  t.equal((await big.history(HISTORY_LIMIT + 10)).length, HISTORY_LIMIT)
  let cur = last
  for (let i = 0; i < 2; i++) cur = await commit(t, big, cur, bump(cur, 9000 + i))
  await big.close()
  const again = new FileStore(capped)
  const entries = await again.history(HISTORY_LIMIT + 10)
  t.equal(entries.length, HISTORY_LIMIT, `capped at ${HISTORY_LIMIT}`)
  t.equal(entries[0]?.version, HISTORY_LIMIT + 2, 'the newest is kept')
  t.equal(entries.at(-1)?.version, 3, 'the oldest two are dropped')
  await again.close()
})

t.test('the secret is created once and stable across instances', async (t) => {
  const dir = t.testdir({})
  const path = join(dir, 'state.json')
  const a = new FileStore(path)
  const secret = await a.secret()
  t.ok(secret.length >= 32, 'a long secret')
  t.equal(await a.secret(), secret, 'stable in one instance')
  await commit(t, a, null, seed())
  t.equal(await a.secret(), secret, 'unchanged by a commit')
  await a.close()
  const b = new FileStore(path)
  t.equal(await b.secret(), secret, 'a second instance on the file reads the same secret')
  await b.close()
  const other = new FileStore(join(dir, 'other.json'))
  t.not(await other.secret(), secret, 'another file has another secret')
  await other.close()
})

t.test('the file is private (0600), written atomically, and reloads to the same state', async (t) => {
  const dir = t.testdir({})
  const path = join(dir, 'state.json')
  const store = new FileStore(path)
  let s = await commit(t, store, null, seed())
  for (let i = 1; i <= 5; i++) {
    s = await commit(t, store, s, bump(s, i * 100))
    t.equal((await stat(path)).mode & 0o777, 0o600, `mode 0600 after write ${i}`)
  }
  t.strictSame(await readdir(dir), ['state.json'], 'no temp files left behind')
  const secret = await store.secret()
  await store.close()

  const text = await readFile(path, 'utf8')
  const reopened = new FileStore(path)
  t.strictSame(await reopened.load(), s, 'a new store on the same path loads the same state')
  t.equal((await reopened.load())?.version, 6)
  t.equal((await reopened.history(100)).length, 6)
  t.equal(await reopened.secret(), secret)
  await reopened.close()
  t.equal(await readFile(path, 'utf8'), text, 'loading does not rewrite the file')
})

t.test('a corrupt or unreadable file stops the load and is left untouched', async (t) => {
  const good = new FileStore(join(t.testdir({}), 'state.json'))
  await commit(t, good, null, seed())
  await good.close()

  const valid = JSON.parse(await readFile(join(t.testdirName, 'state.json'), 'utf8')) as { state: RoutingState }
  const badSum = JSON.stringify({ ...valid, state: { ...valid.state, weights: { blue: 9000, green: 0 } } })
  const badFormat = JSON.stringify({ ...valid, format: 'something-else/9' })
  const noSecret = JSON.stringify({ ...valid, secret: 'short' })

  const cases: Array<{ name: string, content: string }> = [
    { name: 'not JSON', content: '{"format": "switchyard-state/1", "state": {' },
    { name: 'empty', content: '' },
    { name: 'JSON null', content: 'null' },
    { name: 'weights not summing', content: badSum },
    { name: 'unknown format', content: badFormat },
    { name: 'secret too short', content: noSecret }
  ]
  for (const c of cases) {
    const dir = t.testdir({ 'state.json': c.content })
    const path = join(dir, 'state.json')
    const store = new FileStore(path)
    const e = await rejectsCorrupt(t, store.load(), c.name)
    t.match(e?.message, path, `${c.name}: the message names the file`)
    const s1 = seed()
    await rejectsCorrupt(t, store.compareAndSet(0, s1, historyEntry(null, s1)), `${c.name}: a write`)
    await rejectsCorrupt(t, store.secret(), `${c.name}: the secret`)
    t.equal(await readFile(path, 'utf8'), c.content, `${c.name}: the file is untouched`)
    t.strictSame(await readdir(dir), ['state.json'], `${c.name}: nothing else written`)
    await store.close()
  }

  const dir = t.testdir({ 'state.json': {} })
  const store = new FileStore(join(dir, 'state.json'))
  await rejectsCorrupt(t, store.load(), 'a directory in place of the file')
  t.ok((await stat(join(dir, 'state.json'))).isDirectory(), 'the directory is still there')
  await store.close()
})
