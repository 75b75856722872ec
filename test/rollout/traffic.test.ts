import t from 'tap'
import fc from 'fast-check'
import { histogramQuantile, intervalFigures, sideFigures, snapshotOf, type TrafficSource } from '../../src/rollout/traffic.js'
import type { ColorTraffic, TrafficReport } from '../../src/rollout/types.js'
import { DURATION_BUCKETS } from '../../src/metrics/metrics.js'
import { holds } from '../routing/fixtures/routing.js'

const BOUNDS = [0.1, 0.5, 1]

function traffic (requests: number, errors: number, buckets: number[]): ColorTraffic {
  return { requests, errors, buckets }
}

function report (epoch: string, colors: Record<string, ColorTraffic>): TrafficReport {
  return { epoch, colors }
}

t.test('histogramQuantile: the figures Prometheus histogram_quantile() gives (computed by hand)', async (t) => {
  // Per-bucket counts over bounds [0.1, 0.5, 1] and +Inf; cumulative in the comments.
  const cases: ReadonlyArray<readonly [buckets: number[], q: number, expected: number | null, why: string]> = [
    [[10, 20, 10, 0], 0.5, 0.3, 'cum 10,30,40: rank 20 in (0.1, 0.5]: 0.1 + 0.4 × 10/20'],
    [[10, 20, 10, 0], 0.25, 0.1, 'rank 10 = cum of the first bucket: its upper bound'],
    [[10, 20, 10, 0], 0.9, 0.8, 'rank 36 in (0.5, 1]: 0.5 + 0.5 × 6/10'],
    [[10, 20, 10, 0], 1, 1, 'rank 40: the last finite bucket holding it'],
    [[4, 0, 0, 0], 0.5, 0.05, 'the first bucket interpolates from 0: 0.1 × 2/4'],
    [[0, 0, 0, 5], 0.99, 1, 'everything in +Inf: the highest finite bound'],
    [[1, 0, 0, 1], 0.5, 0.1, 'rank 1 = cum 1 of the first bucket'],
    [[1, 0, 0, 1], 0.75, 1, 'rank 1.5 beyond every finite bucket: the highest finite bound'],
    [[0, 3, 0, 0], 0.99, 0.1 + 0.4 * (2.97 / 3), 'empty first bucket: interpolates in the second'],
    [[0, 0, 0, 0], 0.5, null, 'no observations'],
    [[], 0.5, null, 'no buckets']
  ]
  for (const [buckets, q, expected, why] of cases) {
    const got = histogramQuantile(buckets, BOUNDS, q)
    if (expected === null) t.equal(got, null, why)
    else t.ok(got !== null && Math.abs(got - expected) < 1e-12, `${why}: ${got} ≈ ${expected}`)
  }
  // The switchyard histogram itself: 90 requests ≤ 100 ms, 10 in (100 ms, 250 ms].
  const buckets = DURATION_BUCKETS.map(() => 0).concat(0)
  buckets[DURATION_BUCKETS.indexOf(0.1)] = 90
  buckets[DURATION_BUCKETS.indexOf(0.25)] = 10
  t.ok(Math.abs((histogramQuantile(buckets, DURATION_BUCKETS, 0.99) as number) - 0.235) < 1e-12, 'p99: 0.1 + 0.15 × 9/10')
  t.ok(Math.abs((histogramQuantile(buckets, DURATION_BUCKETS, 0.5) as number) - (0.05 + 0.05 * 50 / 90)) < 1e-12, 'p50: 0.05 + 0.05 × 50/90')
})

t.test('histogramQuantile: properties', async (t) => {
  const hist = fc.array(fc.nat({ max: 1000 }), { minLength: DURATION_BUCKETS.length + 1, maxLength: DURATION_BUCKETS.length + 1 })
  const highest = DURATION_BUCKETS[DURATION_BUCKETS.length - 1] as number
  holds(t, 'null exactly when there are no observations, otherwise in [0, highest bound]', fc.property(hist, fc.double({ min: 0.5, max: 0.999, noNaN: true }), (b, q) => {
    const v = histogramQuantile(b, DURATION_BUCKETS, q)
    const total = b.reduce((x, y) => x + y, 0)
    return total === 0 ? v === null : v !== null && v >= 0 && v <= highest
  }))
  holds(t, 'monotone in q', fc.property(hist, fc.double({ min: 0.01, max: 1, noNaN: true }), fc.double({ min: 0.01, max: 1, noNaN: true }), (b, q1, q2) => {
    const [lo, hi] = q1 <= q2 ? [q1, q2] : [q2, q1]
    const a = histogramQuantile(b, DURATION_BUCKETS, lo)
    const c = histogramQuantile(b, DURATION_BUCKETS, hi)
    return a === null ? c === null : c !== null && a <= c + 1e-12
  }))
  holds(t, 'lies in the bucket holding the rank', fc.property(hist, fc.double({ min: 0.5, max: 0.999, noNaN: true }), (b, q) => {
    const total = b.reduce((x, y) => x + y, 0)
    fc.pre(total > 0)
    const v = histogramQuantile(b, DURATION_BUCKETS, q) as number
    // The observations at or below v's bucket bound reach the rank; those below its lower bound do not.
    let cum = 0
    for (let i = 0; i < DURATION_BUCKETS.length; i++) {
      const lower = i === 0 ? 0 : DURATION_BUCKETS[i - 1] as number
      const upper = DURATION_BUCKETS[i] as number
      const before = cum
      cum += b[i] as number
      if (cum >= q * total && (b[i] as number) > 0) return v >= lower && v <= upper && before < q * total
    }
    return v === highest
  }))
})

t.test('intervalFigures: deltas per instance, restarts and new instances counted whole', async (t) => {
  const baseline = snapshotOf([
    { id: 'a', traffic: report('e1', { green: traffic(100, 5, [60, 40, 0, 0]), blue: traffic(1000, 0, [1000, 0, 0, 0]) }) },
    { id: 'b', traffic: report('e2', { green: traffic(50, 0, [50, 0, 0, 0]) }) },
    { id: 'gone', traffic: report('e3', { green: traffic(7, 7, [0, 0, 0, 7]) }) },
    { id: 'c', traffic: report('e4', { blue: traffic(10, 0, [10, 0, 0, 0]) }) }
  ])
  const now: TrafficSource[] = [
    { id: 'a', traffic: report('e1', { green: traffic(130, 6, [80, 50, 0, 0]), blue: traffic(1500, 1, [1499, 1, 0, 0]) }) },
    // b restarted: a new epoch, counters from 0 again (smaller than its baseline).
    { id: 'b', traffic: report('e2b', { green: traffic(20, 2, [18, 0, 2, 0]) }) },
    // d is new.
    { id: 'd', traffic: report('e5', { green: traffic(5, 0, [5, 0, 0, 0]) }) },
    // c had no green in its baseline: its green counters all came after it.
    { id: 'c', traffic: report('e4', { blue: traffic(10, 0, [10, 0, 0, 0]), green: traffic(3, 1, [0, 0, 0, 3]) }) },
    // e publishes no traffic (an older version): nothing.
    { id: 'e' }
  ]
  t.same(intervalFigures(baseline, now, 'green'), {
    requests: 30 + 20 + 5 + 3,
    errors: 1 + 2 + 0 + 1,
    buckets: [20 + 18 + 5, 10, 2, 3]
  }, 'a: delta; b: restarted, whole; d: new, whole; c: color new, whole; gone and e: nothing')
  t.same(intervalFigures(baseline, now, 'blue'), { requests: 500, errors: 1, buckets: [499, 1, 0, 0] })
  t.same(intervalFigures(baseline, now, 'red'), { requests: 0, errors: 0, buckets: [] }, 'a color nobody reports')
  t.same(intervalFigures(null, now.slice(0, 1), 'green'), traffic(130, 6, [80, 50, 0, 0]), 'no baseline: everything')
  t.same(intervalFigures(baseline, [], 'green'), traffic(0, 0, []), 'no live instance')
  // Same epoch but lower counters (should not happen): clamped at 0 per field, never negative.
  const lower = [{ id: 'a', traffic: report('e1', { green: traffic(90, 9, [70, 20, 0, 0]) }) }]
  t.same(intervalFigures(baseline, lower, 'green'), traffic(0, 4, [10, 0, 0, 0]))
})

t.test('snapshotOf keeps the reports of the instances that have one', async (t) => {
  const r = report('x', { blue: traffic(1, 0, [1]) })
  t.same(snapshotOf([{ id: 'a', traffic: r }, { id: 'b' }, { id: 'c', traffic: undefined }]), { a: r })
  t.same(snapshotOf([]), {})
})

t.test('intervalFigures: property: growth since a snapshot is counted exactly, whatever restarts', async (t) => {
  const counters = fc.record({ requests: fc.nat({ max: 1e6 }), errors: fc.nat({ max: 1e6 }), buckets: fc.array(fc.nat({ max: 1e6 }), { minLength: 4, maxLength: 4 }) })
  const instance = fc.record({ before: counters, growth: counters, restarted: fc.boolean() })
  holds(t, 'sum of growth (and of the new counters for restarted instances)', fc.property(fc.array(instance, { maxLength: 6 }), (xs) => {
    const before = xs.map((x, i) => ({ id: `i${i}`, traffic: report('old', { green: x.before }) }))
    const now = xs.map((x, i) => {
      const grown = x.restarted
        ? x.growth
        : traffic(x.before.requests + x.growth.requests, x.before.errors + x.growth.errors, x.before.buckets.map((b, k) => b + (x.growth.buckets[k] as number)))
      return { id: `i${i}`, traffic: report(x.restarted ? 'new' : 'old', { green: grown }) }
    })
    const got = intervalFigures(snapshotOf(before), now, 'green')
    const want = xs.reduce((acc, x) => traffic(acc.requests + x.growth.requests, acc.errors + x.growth.errors, acc.buckets.map((b, k) => b + (x.growth.buckets[k] as number))), traffic(0, 0, [0, 0, 0, 0]))
    return got.requests === want.requests && got.errors === want.errors && (xs.length === 0 ? got.buckets.length === 0 : got.buckets.every((b, k) => b === want.buckets[k]))
  }))
})

t.test('sideFigures: requests, 5xx, their ratio and the latency quantile', async (t) => {
  t.same(sideFigures(traffic(40, 10, [10, 20, 10, 0]), 0.25, BOUNDS), { requests: 40, errors: 10, errorRatio: 0.25, latency: 0.1 })
  t.same(sideFigures(traffic(0, 0, [0, 0, 0, 0]), 0.99, BOUNDS), { requests: 0, errors: 0, errorRatio: 0, latency: null }, 'no requests: ratio 0, latency null')
  t.same(sideFigures(traffic(0, 0, []), 0.99, BOUNDS), { requests: 0, errors: 0, errorRatio: 0, latency: null })
})
