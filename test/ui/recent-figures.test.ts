import t from 'tap'
import { histogramQuantile, intervalFigures, RecentFigures } from '../../src/admin/recent-figures.js'
import type { ColorTraffic } from '../../src/rollout/types.js'
import { until } from '../helpers/harness.js'

const BOUNDS = [0.01, 0.1, 1]

t.test('histogramQuantile interpolates inside the bucket that holds the quantile', async (t) => {
  const cases: Array<[string, number, number[], number | null]> = [
    ['empty', 0.99, [0, 0, 0, 0], null],
    ['all in the first bucket: from 0 to its bound', 0.5, [10, 0, 0, 0], 0.005],
    ['all in the second bucket', 0.99, [0, 100, 0, 0], 0.01 + 0.09 * 0.99],
    ['the quantile at a bucket edge', 0.5, [50, 50, 0, 0], 0.01],
    ['p99 of 99 fast and 1 slow', 0.99, [99, 0, 1, 0], 0.01],
    ['p99 of 98 fast and 2 slow lands in the slow bucket', 0.99, [98, 0, 2, 0], 0.1 + 0.9 * 0.5],
    ['the overflow bucket: the highest finite bound', 0.99, [0, 0, 0, 5], 1]
  ]
  for (const [what, q, counts, want] of cases) {
    const got = histogramQuantile(q, counts, BOUNDS)
    if (want === null) t.equal(got, null, what)
    else t.ok(got !== null && Math.abs(got - want) < 1e-9, `${what}: ${got} ≈ ${want}`)
  }
})

t.test('intervalFigures: rate, 5xx ratio and p99 from two cumulative samples; nothing across a restart', async (t) => {
  const a: ColorTraffic = { requests: 100, errors: 1, buckets: [90, 10, 0, 0] }
  const b: ColorTraffic = { requests: 300, errors: 11, buckets: [280, 20, 0, 0] }
  const p = intervalFigures(a, b, 2, BOUNDS)
  t.equal(p?.rate, 100)
  t.equal(p?.errorRatio, 0.05)
  t.ok(p?.p99 !== null && p?.p99 !== undefined && p.p99 > 0.01 && p.p99 <= 0.1, `p99 in the second bucket (${p?.p99})`)
  t.same(intervalFigures(a, a, 1, BOUNDS), { rate: 0, errorRatio: null, p99: null }, 'no requests: no ratio, no p99')
  t.equal(intervalFigures(b, a, 1, BOUNDS), undefined, 'counters went back (a restart)')
  t.equal(intervalFigures(a, b, 0, BOUNDS), undefined, 'no time passed')
})

t.test('the ring keeps the last window of points per color, oldest first', async (t) => {
  let now = 1_000_000
  let blue = { requests: 0, errors: 0, buckets: [0, 0, 0, 0] }
  let green = { requests: 0, errors: 0, buckets: [0, 0, 0, 0] }
  let fail = false
  const ring = new RecentFigures({
    colors: ['blue', 'green'],
    intervalMs: 1000,
    windowSeconds: 3,
    bounds: BOUNDS,
    now: () => now,
    source: () => {
      if (fail) throw new Error('source down')
      return { blue, green }
    }
  })
  await ring.sample()
  t.same(ring.view().at, [], 'one sample is no interval yet')
  for (let i = 1; i <= 5; i++) {
    now += 1000
    blue = { requests: blue.requests + 10 * i, errors: blue.errors + i, buckets: [blue.buckets[0] as number + 10 * i, 0, 0, 0] }
    green = { requests: green.requests + 1, errors: 0, buckets: [0, 0, green.buckets[2] as number + 1, 0] }
    await ring.sample()
  }
  const v = ring.view()
  t.same(v.at, [1_003_000, 1_004_000, 1_005_000], 'three points: the window, oldest first')
  t.same(v.series.blue?.rate, [30, 40, 50])
  t.same(v.series.blue?.errorRatio, [0.1, 0.1, 0.1])
  t.same(v.series.green?.rate, [1, 1, 1])
  t.same(v.series.green?.p99, [0.1 + 0.9 * 0.99, 0.1 + 0.9 * 0.99, 0.1 + 0.9 * 0.99])

  fail = true
  now += 1000
  await ring.sample()
  t.same(ring.view().at, v.at, 'a failing source leaves a gap, not an error')
  fail = false
  blue = { requests: 0, errors: 0, buckets: [0, 0, 0, 0] }
  now += 1000
  await ring.sample()
  const after = ring.view()
  t.equal(after.at[after.at.length - 1], now)
  t.same(after.series.blue?.rate.slice(-1), [0], 'a restarted counter: no figure for that interval')
  t.same(after.series.blue?.errorRatio.slice(-1), [null])
})

t.test('start samples on a timer (twice is once)', async (t) => {
  let calls = 0
  const ring = new RecentFigures({ colors: ['blue'], intervalMs: 10, source: () => { calls++; return { blue: { requests: calls, errors: 0, buckets: [calls] } } } })
  ring.start()
  ring.start()
  t.teardown(() => { ring.stop() })
  await until('a few samples', () => ring.view().at.length >= 3)
  const v = ring.view()
  t.ok(v.series.blue?.rate.every((r) => r > 0), 'each interval counted its requests')
})
