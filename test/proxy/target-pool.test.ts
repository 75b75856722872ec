import { mock } from 'node:test'
import t from 'tap'
import type { OutlierPolicy } from '../../src/health/outlier.js'
import { until } from '../helpers/harness.js'
import { TargetPools, type HealthEvent, type Target } from '../../src/proxy/target-pool.js'

const policy: OutlierPolicy = { enabled: true, consecutiveFailures: 3, baseEjectionMs: 1000, maxEjectionMs: 8000 }

/** blue: a, b, c; green: g; gray: no target. */
function makePools (p: OutlierPolicy = policy): { pools: TargetPools, events: HealthEvent[], byId: (id: string) => Target } {
  const events: HealthEvent[] = []
  const target = (id: string): { id: string, url: string } => ({ id, url: `http://${id}.test:80/` })
  const pools = new TargetPools(['blue', 'green', 'gray'], [[target('a'), target('b'), target('c')], [target('g')], []], p, (e) => events.push(e))
  const byId = (id: string): Target => {
    const found = pools.byColor.flat().find((x) => x.id === id)
    if (found === undefined) throw new Error(`no target ${id}`)
    return found
  }
  return { pools, events, byId }
}

const BLUE = 0
const GREEN = 1
const GRAY = 2

/** The ids of `n` picks of `color`. */
function picks (pools: TargetPools, color: number, n: number, except?: Target): Array<string | undefined> {
  const out: Array<string | undefined> = []
  for (let i = 0; i < n; i++) out.push(pools.pick(color, except)?.id)
  return out
}

/**
 * Runs `fn` with setTimeout and Date under node:test's mock clock starting at `now`, so the
 * pool's ejection timers fire exactly when the test ticks past them. Synchronous on purpose:
 * no await runs while the clock is mocked, so tap's own timers never see it.
 */
function withMockClock (now: number, fn: (tick: (ms: number) => void) => void): void {
  mock.timers.enable({ apis: ['setTimeout', 'Date'], now })
  try { fn((ms) => mock.timers.tick(ms)) } finally { mock.timers.reset() }
}

t.test('ties: round robin over the targets, in order, from where the last pick started + 1', async (t) => {
  const { pools } = makePools()
  t.same(picks(pools, BLUE, 7), ['a', 'b', 'c', 'a', 'b', 'c', 'a'])
  t.same(picks(pools, GREEN, 3), ['g', 'g', 'g'], 'a one-target color always picks it')
})

t.test('least outstanding: the target with the fewest requests in flight wins whatever the rotation', async (t) => {
  const { pools, byId } = makePools()
  byId('a').inFlight = 2
  byId('b').inFlight = 1
  byId('c').inFlight = 0
  t.same(picks(pools, BLUE, 4), ['c', 'c', 'c', 'c'])
  byId('c').inFlight = 3
  t.same(picks(pools, BLUE, 3), ['b', 'b', 'b'])
})

t.test('ties among some targets: the first of the least loaded from the rotation start (exact sequence)', async (t) => {
  const { pools, byId } = makePools()
  byId('a').inFlight = 1
  // Starts at a, b, c, a, …: from a and from b the scan finds b first, from c it finds c.
  // (So with one target busy the other two share 2:1, not evenly; pinned here as it is.)
  t.same(picks(pools, BLUE, 6), ['b', 'b', 'c', 'b', 'b', 'c'])
  byId('b').inFlight = 1
  byId('c').inFlight = 1
  t.same(picks(pools, BLUE, 3), ['a', 'b', 'c'], 'equal again: plain round robin')
})

t.test('pick skips `except` (the retry\'s failed target), and has nothing when it was the only one', async (t) => {
  const { pools, byId } = makePools()
  t.same(picks(pools, BLUE, 4, byId('a')), ['b', 'b', 'c', 'b'])
  t.same(picks(pools, GREEN, 2, byId('g')), [undefined, undefined])
})

t.test('a color with no targets, or an unknown color index, has no pick and is not available', async (t) => {
  const { pools } = makePools()
  t.equal(pools.pick(GRAY), undefined)
  t.equal(pools.pick(7), undefined)
  t.same([...pools.available], [1, 1, 0])
})

t.test('modes: draining and disabled targets take no new request; a color with none enabled is unavailable', async (t) => {
  const { pools, byId } = makePools()
  pools.setModes((x) => x.id === 'a' ? 'draining' : x.id === 'b' ? 'disabled' : 'enabled')
  t.same(picks(pools, BLUE, 3), ['c', 'c', 'c'])
  t.same([byId('a').usable, byId('b').usable, byId('c').usable], [false, false, true])
  t.equal(pools.available[BLUE], 1)
  pools.setModes((x) => x.color === BLUE ? 'disabled' : 'enabled')
  t.equal(pools.available[BLUE], 0, 'no enabled blue target: blue cannot serve')
  t.equal(pools.pick(BLUE), undefined)
  pools.setModes(() => 'enabled')
  t.equal(pools.available[BLUE], 1)
  t.same(picks(pools, BLUE, 3).sort(), ['a', 'b', 'c'], 'every target is back in the rotation')
})

t.test('active health: an unhealthy target is skipped and reported once; healthy again, it returns', async (t) => {
  const { pools, events, byId } = makePools()
  pools.setActiveHealth(byId('g'), false, 'GET /health: 500')
  pools.setActiveHealth(byId('g'), false, 'GET /health: 500')
  t.equal(events.length, 1, 'the same verdict twice is one event')
  t.match(events[0], { target: { id: 'g' }, healthy: false, why: 'GET /health: 500' })
  t.equal(byId('g').health, 'unhealthy')
  t.equal(pools.available[GREEN], 0)
  t.equal(pools.pick(GREEN), undefined)
  pools.setActiveHealth(byId('g'), true, 'GET /health: 200')
  t.equal(pools.available[GREEN], 1)
  t.equal(pools.pick(GREEN)?.id, 'g')
  t.match(events[1], { target: { id: 'g' }, healthy: true })
})

t.test('passive ejection: N consecutive failures eject; the target returns exactly when its backoff ends', async (t) => {
  const { pools, events, byId } = makePools()
  const b = byId('b')
  withMockClock(10_000, (tick) => {
    pools.outcome(b, false, Date.now())
    pools.outcome(b, false, Date.now())
    t.equal(b.usable, true, 'two failures: still in service')
    pools.outcome(b, true, Date.now())
    pools.outcome(b, false, Date.now())
    pools.outcome(b, false, Date.now())
    t.equal(b.usable, true, 'a success in between reset the count')
    pools.outcome(b, false, Date.now())
    t.equal(b.health, 'ejected', 'the third failure in a row ejects')
    t.equal(b.outlier.ejectedUntil, 11_000)
    t.equal(b.usable, false)
    t.match(events.at(-1), { target: { id: 'b' }, healthy: false, why: /ejected for 1000 ms after 3 consecutive failures \(ejection #1\)/ })
    t.same(picks(pools, BLUE, 4), ['a', 'c', 'c', 'a'], 'picks skip the ejected target')
    pools.outcome(b, false, Date.now())
    t.equal(events.length, 1, 'outcomes while ejected neither count nor re-eject')

    tick(999)
    t.equal(b.health, 'ejected', '1 ms before the end: still ejected')
    tick(1)
    t.equal(b.health, 'healthy', 'at the end of the backoff: back')
    t.equal(b.usable, true)
    t.equal(b.outlier.returnedAt, 11_000)
    t.match(events.at(-1), { target: { id: 'b' }, healthy: true, why: 'ejection of 1000 ms ended' })

    for (let i = 0; i < 3; i++) pools.outcome(b, false, Date.now())
    t.equal(b.outlier.ejectedUntil, 13_000, 'the next ejection doubles the backoff')
    tick(1999)
    t.equal(b.health, 'ejected')
    tick(1)
    t.equal(b.health, 'healthy')
  })
})

t.test('an ejected only target makes its color unavailable until it returns; an actively unhealthy one stays out', async (t) => {
  const { pools, byId } = makePools()
  const g = byId('g')
  withMockClock(0, (tick) => {
    for (let i = 0; i < 3; i++) pools.outcome(g, false, Date.now())
    t.equal(pools.available[GREEN], 0)
    pools.setActiveHealth(g, false, 'down')
    tick(1000)
    t.equal(g.outlier.ejectedUntil, 0, 'the ejection ended')
    t.equal(g.health, 'unhealthy', 'but the active check still says down')
    t.equal(pools.available[GREEN], 0)
    pools.setActiveHealth(g, true, 'up')
    t.equal(pools.available[GREEN], 1)
  })
})

t.test('an active check that turns healthy ends a passive ejection; the old ejection timer then ends nothing', async (t) => {
  const { pools, events, byId } = makePools()
  const g = byId('g')
  withMockClock(0, (tick) => {
    for (let i = 0; i < 3; i++) pools.outcome(g, false, Date.now())
    for (let i = 0; i < 3; i++) pools.outcome(g, false, Date.now()) // while ejected: ignored
    t.equal(g.outlier.ejectedUntil, 1000, 'ejected for the base backoff')
    pools.setActiveHealth(g, false, 'GET /healthz failed')
    tick(200)
    pools.setActiveHealth(g, true, 'GET /healthz answered 200')
    t.equal(g.outlier.ejectedUntil, 0, 'the check proved the target serves: the ejection ends now')
    t.equal(g.health, 'healthy')
    t.equal(pools.available[GREEN], 1, 'its color can serve again at once')
    t.match(events.at(-1), { target: { id: 'g' }, healthy: true, why: 'GET /healthz answered 200' })
    t.equal(g.outlier.returnedAt, 200, 'it returned at the check')
    for (let i = 0; i < 3; i++) pools.outcome(g, false, Date.now())
    t.equal(g.outlier.ejectedUntil, 200 + 2000, 'ejected anew, the backoff doubled (the count is kept)')
    tick(800)
    t.equal(g.health, 'ejected', 'the first ejection\'s timer (due at 1000) did not end the second one')
    tick(1400)
    t.equal(g.health, 'healthy', 'the second ends at its own time')
  })
})

t.test('an active check that stays healthy does not end an ejection (the app fails while /healthz answers)', async (t) => {
  const { pools, byId } = makePools()
  const g = byId('g')
  withMockClock(0, (tick) => {
    for (let i = 0; i < 3; i++) pools.outcome(g, false, Date.now())
    pools.setActiveHealth(g, true, 'still fine')
    t.equal(g.health, 'ejected', 'no transition, no un-ejection')
    tick(1000)
    t.equal(g.health, 'healthy')
  })
})

t.test('close() cancels pending ejection timers', async (t) => {
  const { pools, events, byId } = makePools()
  const a = byId('a')
  withMockClock(0, (tick) => {
    for (let i = 0; i < 3; i++) pools.outcome(a, false, Date.now())
    pools.close()
    tick(60_000)
    t.equal(a.health, 'ejected', 'no timer fired after close')
    t.equal(events.length, 1)
  })
})

t.test('passive ejection disabled: failures never eject', async (t) => {
  const { pools, events, byId } = makePools({ ...policy, enabled: false })
  for (let i = 0; i < 20; i++) pools.outcome(byId('a'), false, i)
  t.equal(byId('a').usable, true)
  t.equal(events.length, 0)
})

t.test('find: by id, or by any URL with the target\'s origin', async (t) => {
  const { pools } = makePools()
  t.equal(pools.find(BLUE, 'b')?.id, 'b')
  t.equal(pools.find(BLUE, 'http://c.test/some/path')?.id, 'c')
  t.equal(pools.find(BLUE, 'http://c.test:81/'), undefined, 'another port is another origin')
  t.equal(pools.find(GREEN, 'a'), undefined, 'only within the color')
})

t.test('a target is unknown until it answers a request or passes a check, and is routed to meanwhile', async (t) => {
  const { pools, events, byId } = makePools()
  t.strictSame(pools.byColor.flat().map((x) => x.health), ['unknown', 'unknown', 'unknown', 'unknown'], 'nothing has shown any target up yet')
  t.equal(pools.available[BLUE], 1, 'unknown targets are still routed to')
  t.ok(byId('a').usable)
  pools.outcome(byId('a'), false, 1000)
  t.equal(byId('a').health, 'unknown', 'a failed request does not show it up')
  pools.outcome(byId('a'), true, 1000)
  t.equal(byId('a').health, 'healthy', 'an answered request does')
  pools.setActiveHealth(byId('b'), true, 'GET /health answered 200')
  t.equal(byId('b').health, 'healthy', 'a passed check does (the verdict was already healthy: no event)')
  t.equal(events.length, 0)
  pools.setActiveHealth(byId('c'), false, 'GET /health failed')
  t.equal(byId('c').health, 'unhealthy', 'a failed check shows it down')
  pools.setActiveHealth(byId('c'), true, 'GET /health answered 200')
  t.equal(byId('c').health, 'healthy', 'and a passed one up again')
})

t.test('targets join and leave at run time: picks, availability and membership events follow', (t) => {
  const { pools, byId } = makePools()
  const seen: string[] = []
  pools.onMembership((e) => seen.push(`${e.kind} ${e.target.colorName}/${e.target.id} ${e.target.source}`))
  t.equal(pools.available[GRAY], 0, 'gray starts with no target')
  const x = pools.add(GRAY, { id: 'x', url: 'http://x.test:80/' }, 'api')
  t.equal(pools.available[GRAY], 1, 'an added target makes its color available at once')
  t.same(picks(pools, GRAY, 2), ['x', 'x'])
  t.equal(x.health, 'unknown', 'a new target is unknown until it answers')
  const d = pools.add(GRAY, { id: 'd', url: 'http://d.test:80/' }, 'dns', 'disabled')
  t.same(picks(pools, GRAY, 3), ['x', 'x', 'x'], 'a target added disabled takes nothing')
  pools.remove(x)
  t.ok(x.removed, 'a removed target knows it')
  t.equal(pools.available[GRAY], 0, 'removing the last usable target makes the color unavailable')
  t.same(picks(pools, GRAY, 2), [undefined, undefined])
  pools.remove(x)
  t.same(seen, ['added gray/x api', 'added gray/d dns', 'removed gray/x api'], 'one event per change; removing twice is a no-op')
  t.equal(d.source, 'dns')
  // Retiring: no new requests whatever the modes say, until removed.
  pools.retire(byId('a'))
  pools.setModes(() => 'enabled')
  t.notOk(picks(pools, BLUE, 6).includes('a'), 'a retiring target takes no new request even when the state says enabled')
  t.equal(pools.available[BLUE], 1)
  t.end()
})

t.test('a retiring target leaves its pool once its last request in flight ends', async (t) => {
  const { pools, byId } = makePools()
  const left: string[] = []
  pools.onMembership((e) => { if (e.kind === 'removed') left.push(e.target.id) })
  const idle = byId('c')
  pools.retire(idle)
  t.same(left, ['c'], 'an idle target leaves at once')
  const busy = byId('a')
  busy.inFlight = 2
  pools.retire(busy)
  t.notOk(busy.removed, 'a target with requests in flight stays')
  t.notOk(picks(pools, BLUE, 4).includes('a'), 'but takes no new request')
  busy.inFlight = 0
  await until('the retired target to leave', () => busy.removed)
  t.same(left, ['c', 'a'])
  t.same(pools.byColor[BLUE]?.map((x) => x.id), ['b'])
  pools.close()
})
