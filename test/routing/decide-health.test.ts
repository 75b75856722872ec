import t from 'tap'
import fc from 'fast-check'
import { decide } from '../../src/routing/decide.js'
import { buildRouteTable, NO_ROUTE } from '../../src/routing/route-table.js'
import { flipTo, initialState, setTargetMode, setWeights, targetMode } from '../../src/routing/routing-state.js'
import { BUCKETS } from '../../src/routing/types.js'

const COLORS = ['blue', 'green', 'red', 'amber']

/** Integer basis points over n colors summing to BUCKETS, some of them 0. */
const weightsArb = fc.integer({ min: 2, max: 4 }).chain((n) =>
  fc.array(fc.integer({ min: 0, max: 10 }), { minLength: n, maxLength: n }).filter((xs) => xs.some((x) => x > 0)).map((xs) => {
    const total = xs.reduce((a, b) => a + b, 0)
    const bp = xs.map((x) => Math.floor((x * BUCKETS) / total))
    const last = bp.findLastIndex((x, i) => (xs[i] as number) > 0)
    bp[last] = (bp[last] as number) + BUCKETS - bp.reduce((a, b) => a + b, 0)
    return Object.fromEntries(bp.map((w, i) => [COLORS[i] as string, w]))
  }))

const input = fc.record({
  bucket: fc.integer({ min: 0, max: BUCKETS - 1 }),
  sticky: fc.boolean(),
  available: fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }),
  cookieColor: fc.integer({ min: -1, max: 3 }),
  now: fc.integer({ min: 0, max: 2000 }),
  drain: fc.array(fc.integer({ min: 0, max: 2000 }), { minLength: 4, maxLength: 4 })
})

t.test('property: a chosen color can serve, and has weight unless the reason is drain; no route only when no weighted color can serve', async () => {
  fc.assert(fc.property(weightsArb, input, (weights, i) => {
    const colors = Object.keys(weights)
    const drainUntil = Object.fromEntries(colors.map((c, k) => [c, (i.drain[k] as number) * 1000]))
    const table = buildRouteTable(1, colors, weights, { enabled: false }, drainUntil)
    const available = Uint8Array.from(colors, (_c, k) => (i.available[k] === true ? 1 : 0))
    const d = decide(table, undefined, i.sticky ? i.bucket : -1, i.bucket, i.cookieColor < colors.length ? i.cookieColor : -1, i.now, available)
    const weightedUp = colors.some((c, k) => (weights[c] as number) > 0 && available[k] === 1)
    if (d === NO_ROUTE) return !weightedUp
    if (available[d.color] !== 1) return false
    const w = weights[colors[d.color] as string] as number
    if (d.reason === 'drain') return w === 0 && d.color === i.cookieColor && (table.drainUntil[d.color] as number) > i.now
    return w > 0
  }))
})

t.test('property: with every color up and no drain window, health changes nothing', async () => {
  fc.assert(fc.property(weightsArb, fc.integer({ min: 0, max: BUCKETS - 1 }), fc.boolean(), (weights, bucket, sticky) => {
    const colors = Object.keys(weights)
    const table = buildRouteTable(1, colors, weights, { enabled: false })
    const all = new Uint8Array(colors.length).fill(1)
    return decide(table, undefined, sticky ? bucket : -1, bucket, -1, 0, all) === decide(table, undefined, sticky ? bucket : -1, bucket)
  }))
})

t.test('fallback is the next weighted color in order that can serve', async (t) => {
  const table = buildRouteTable(1, ['blue', 'green', 'red'], { blue: 5000, green: 0, red: 5000 }, { enabled: false })
  const bucketOfBlue = 10
  t.same(decide(table, undefined, bucketOfBlue, 0, -1, 0, Uint8Array.of(0, 1, 1)), { color: 2, reason: 'fallback', reasonIndex: 4 }, 'green has weight 0: skipped for red')
  t.equal(decide(table, undefined, bucketOfBlue, 0, -1, 0, Uint8Array.of(0, 1, 0)), NO_ROUTE, 'only a weight-0 color is up: no route')
})

t.test('an override to a color that cannot serve is no route, not a silent other color', async (t) => {
  const table = buildRouteTable(1, ['blue', 'green'], { blue: 10000, green: 0 }, { enabled: true })
  t.equal(decide(table, 'green', -1, 0, -1, 0, Uint8Array.of(1, 0)), NO_ROUTE)
  t.equal(decide(table, 'green', -1, 0, -1, 0, Uint8Array.of(1, 1)).reason, 'override')
})

t.test('drain windows are set when a color drops to 0 under the drain policy, and only then', async (t) => {
  const meta = (at: number) => ({ changedBy: 't', reason: '', at: new Date(at).toISOString() })
  const s1 = initialState(['blue', 'green'], { blue: 10000, green: 0 }, meta(0))
  const drained = flipTo(s1, 'green', meta(1000), { mode: 'drain', drainSeconds: 30 })
  t.ok(drained.ok)
  if (!drained.ok) return
  t.same(drained.value.drainUntil, { blue: 31000 }, 'blue dropped to 0: window until change + 30 s')
  const immediate = flipTo(s1, 'green', meta(1000), { mode: 'immediate', drainSeconds: 0 })
  t.same(immediate.ok && immediate.value.drainUntil, {}, 'immediate: no window')
  const again = setWeights(drained.value, { blue: 0, green: 10000 }, meta(5000), { mode: 'drain', drainSeconds: 99 })
  t.same(again.drainUntil, { blue: 31000 }, 'a later change keeps the window of a color already at 0')
  const back = setWeights(drained.value, { blue: 5000, green: 5000 }, meta(6000))
  t.same(back.drainUntil, {}, 'a color with weight again has no window')
  const table = buildRouteTable(drained.value.version, ['blue', 'green'], drained.value.weights, { enabled: false }, drained.value.drainUntil)
  t.equal(decide(table, undefined, 0, 0, 0, 30.9, Uint8Array.of(1, 1)).reason, 'drain', 'inside the window')
  t.equal(decide(table, undefined, 0, 0, 0, 31, Uint8Array.of(1, 1)).color, 1, 'at its end: by weight')
})

t.test('target modes: set, shown, and back to the default', async (t) => {
  const meta = { changedBy: 't', reason: '', at: new Date(0).toISOString() }
  const s1 = initialState(['blue', 'green'], { blue: 10000, green: 0 }, meta)
  const s2 = setTargetMode(s1, 'blue', 'a', 'draining', meta)
  t.equal(s2.version, 2)
  t.equal(s2.kind, 'target')
  t.equal(targetMode(s2, 'blue', 'a'), 'draining')
  t.equal(targetMode(s2, 'blue', 'constructor'), 'enabled', 'no prototype lookups')
  t.same(s2.rollbackTo, s1.previous, 'a target change does not move what rollback restores (rollbackTo; previous is the version just before)')
  t.equal(s2.previous?.version, 1)
  const s3 = setTargetMode(s2, 'blue', 'a', 'enabled', meta)
  t.same(s3.targets, {}, 'enabled is the default and is not stored')
})
