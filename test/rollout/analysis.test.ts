import t, { type Test } from 'tap'
import fc from 'fast-check'
import { countsOf, errorRatioExcessTest, judge, LATENCY_FLOOR_SECONDS, Z_95, type SideCounts } from '../../src/rollout/analysis.js'
import { DEFAULT_ANALYSIS, type AnalysisConfig } from '../../src/rollout/types.js'
import { DURATION_BUCKETS } from '../../src/metrics/metrics.js'
import { holds } from '../routing/fixtures/routing.js'

const AT = '2026-12-01T14:00:00.000Z'

function side (requests: number, errors: number, latency: number | null): SideCounts {
  return { requests, errors, latency }
}

function close (t: Test, got: number, want: number, message: string): void {
  t.ok(Math.abs(got - want) < 1e-9, `${message}: ${got} ≈ ${want}`)
}

t.test('errorRatioExcessTest: the z statistic as computed by hand', async (t) => {
  t.ok(Math.abs(Z_95 - 1.6449) < 1e-4, 'the one-sided 95 % critical value')
  // 40/200 vs 0/200, δ = 1 pp: SE = √(0.2 × 0.8 / 200) = √0.0008.
  let r = errorRatioExcessTest({ requests: 200, errors: 0 }, { requests: 200, errors: 40 }, 0.01)
  close(t, r.z, 0.19 / Math.sqrt(0.0008), '20 % vs 0 %')
  close(t, r.difference, 0.2, 'difference')
  t.equal(r.significant, true)
  // 4/200 vs 0/200: z = 0.01 / √(0.02 × 0.98 / 200) ≈ 1.01: above the margin, not significant.
  r = errorRatioExcessTest({ requests: 200, errors: 0 }, { requests: 200, errors: 4 }, 0.01)
  close(t, r.z, 0.01 / Math.sqrt(0.02 * 0.98 / 200), '2 % vs 0 %')
  t.equal(r.significant, false)
  // Both sides with errors, unequal sizes: 30/500 vs 10/1000, δ = 2 pp.
  r = errorRatioExcessTest({ requests: 1000, errors: 10 }, { requests: 500, errors: 30 }, 0.02)
  close(t, r.z, (0.06 - 0.01 - 0.02) / Math.sqrt(0.06 * 0.94 / 500 + 0.01 * 0.99 / 1000), '6 % vs 1 %')
  t.equal(r.significant, true)
  // No margin: 11/1000 vs 5/1000 → z = 0.006 / √(0.011 × 0.989/1000 + 0.005 × 0.995/1000) ≈ 1.50.
  r = errorRatioExcessTest({ requests: 1000, errors: 5 }, { requests: 1000, errors: 11 }, 0)
  close(t, r.z, 0.006 / Math.sqrt((0.011 * 0.989 + 0.005 * 0.995) / 1000), '1.1 % vs 0.5 %, δ = 0')
  t.equal(r.significant, false)
})

t.test('errorRatioExcessTest: the zero-variance cases (both ratios 0 or 1)', async (t) => {
  const a = 200.5 / 201
  const b = 0.5 / 201
  let r = errorRatioExcessTest({ requests: 200, errors: 0 }, { requests: 200, errors: 200 }, 0.01)
  close(t, r.z, 0.99 / Math.sqrt(a * (1 - a) / 200 + b * (1 - b) / 200), 'all errors vs none: the zero-cell correction')
  t.equal(r.significant, true, 'all 200 failing against none: significant')
  r = errorRatioExcessTest({ requests: 1, errors: 0 }, { requests: 1, errors: 1 }, 0.01)
  close(t, r.z, 0.99 / Math.sqrt(0.75 * 0.25 * 2), '1 of 1 vs 0 of 1')
  t.equal(r.significant, false, 'one unlucky request is not significant')
  for (const [errors, delta] of [[0, 0], [0, 0.01], [200, 0], [200, 0.01]] as const) {
    r = errorRatioExcessTest({ requests: 200, errors }, { requests: 200, errors }, delta)
    t.ok(Number.isFinite(r.z) && r.z <= 0 && !r.significant, `both ${errors / 2} %, δ ${delta}: z ${r.z}, not significant`)
  }
  r = errorRatioExcessTest({ requests: 200, errors: 200 }, { requests: 200, errors: 0 }, 0)
  t.ok(Number.isFinite(r.z) && r.z < 0 && !r.significant, 'to better than from in full')
  r = errorRatioExcessTest({ requests: 0, errors: 0 }, { requests: 200, errors: 200 }, 0)
  t.same(r, { difference: 1, z: 0, significant: false }, 'a side without requests: never significant')
})

t.test('judge: verdicts and their why, exactly', async (t) => {
  const config = DEFAULT_ANALYSIS
  const cases: ReadonlyArray<readonly [from: SideCounts, to: SideCounts, verdict: string, why: string]> = [
    [side(150, 0, 0.1), side(12, 0, 0.1), 'inconclusive', 'too few requests: from had 150 and to had 12 (< 200)'],
    [side(150, 0, 0.1), side(5000, 4000, 9), 'inconclusive', 'too few requests: from had 150 (< 200)'],
    [side(5000, 0, 0.1), side(199, 199, 9), 'inconclusive', 'too few requests: to had 199 (< 200)'],
    [side(200, 0, 0.098), side(200, 40, 0.098), 'fail', '5xx 20.0 % vs 0.0 % (+20.0 pp > 1 pp, z=6.7)'],
    [side(400, 0, 0.098), side(400, 0, 0.312), 'fail', 'p99 312 ms vs 98 ms (3.2× > 1.5×)'],
    [side(400, 0, 0.098), side(400, 200, 0.312), 'fail', '5xx 50.0 % vs 0.0 % (+50.0 pp > 1 pp, z=19.6); p99 312 ms vs 98 ms (3.2× > 1.5×)'],
    [side(200, 0, 0.1), side(200, 4, 0.12), 'pass', '5xx 2.0 % vs 0.0 % (+2.0 pp > 1 pp, not significant: z=1.0 ≤ 1.64); p99 120 ms vs 100 ms (1.2× ≤ 1.5×)'],
    [side(1000, 5, 0.0042), side(1000, 4, 0.0061), 'pass', '5xx 0.4 % vs 0.5 % (-0.1 pp ≤ 1 pp); p99 6.1 ms vs 4.2 ms (1.45× ≤ 1.5×)'],
    [side(1000, 0, 0), side(1000, 0, 0.0004), 'pass', '5xx 0.0 % vs 0.0 % (+0.0 pp ≤ 1 pp); p99 0.40 ms vs 0.00 ms (0.4× the 1 ms floor ≤ 1.5×)'],
    [side(1000, 0, 0.0002), side(1000, 0, 0.003), 'fail', 'p99 3.0 ms vs 0.20 ms (3.0× the 1 ms floor > 1.5×)'],
    [side(1000, 0, 0.1), side(1000, 0, 0.152), 'fail', 'p99 152 ms vs 100 ms (1.52× > 1.5×)'],
    [side(1000, 0, null), side(1000, 0, 0.5), 'pass', '5xx 0.0 % vs 0.0 % (+0.0 pp ≤ 1 pp); p99 not measured']
  ]
  for (const [from, to, verdict, why] of cases) {
    const a = judge(from, to, config, AT, 2)
    t.equal(a.verdict, verdict, why)
    t.equal(a.why, why)
  }
  const a = judge(side(200, 0, 0.098), side(400, 40, 0.1), config, AT, 3)
  t.same(a, { at: AT, step: 3, from: { requests: 200, errorRatio: 0, latency: 0.098 }, to: { requests: 400, errorRatio: 0.1, latency: 0.1 }, verdict: 'fail', why: a.why }, 'the record GET /rollout shows')
  t.same(Object.keys(a.from).sort(), ['errorRatio', 'latency', 'requests'], 'SideFigures only, no counts')
  t.equal(judge(side(2000, 0, 0.1), side(2000, 0, 0.1), { ...config, latencyQuantile: 0.999 }, AT, 0).why, '5xx 0.0 % vs 0.0 % (+0.0 pp ≤ 1 pp); p99.9 100 ms vs 100 ms (1.0× ≤ 1.5×)', 'the quantile is named as configured')
})

t.test('judge against a recorded reference (steps at 100 %: from has no live traffic)', async (t) => {
  // The reference is stored as SideFigures; countsOf() gets the counts back.
  const reference = { requests: 300, errorRatio: 3 / 300, latency: 0.05 }
  t.same(countsOf(reference), { requests: 300, errors: 3, latency: 0.05 })
  t.equal(judge(countsOf(reference), side(300, 60, 0.05), DEFAULT_ANALYSIS, AT, 0).verdict, 'fail')
  t.equal(judge(countsOf(reference), side(300, 2, 0.06), DEFAULT_ANALYSIS, AT, 0).verdict, 'pass')
  t.equal(judge(countsOf({ requests: 0, errorRatio: 0, latency: null }), side(300, 0, 0.06), DEFAULT_ANALYSIS, AT, 0).verdict, 'inconclusive')
  holds(t, 'countsOf recovers the errors of any errors/requests ratio', fc.property(fc.integer({ min: 1, max: 1e9 }), fc.nat({ max: 1e9 }), (requests, e) => {
    const errors = e % (requests + 1)
    return countsOf({ requests, errorRatio: errors / requests, latency: null }).errors === errors
  }))
})

t.test('the latency floor is the first bound of the request-duration histogram', async (t) => {
  t.equal(LATENCY_FLOOR_SECONDS, DURATION_BUCKETS[0])
})

// Arbitraries -------------------------------------------------------------------------------

const configArb: fc.Arbitrary<AnalysisConfig> = fc.record({
  intervalSeconds: fc.integer({ min: 1, max: 600 }),
  minRequests: fc.integer({ min: 0, max: 1000 }),
  maxErrorRatioDelta: fc.double({ min: 0, max: 100, noNaN: true }),
  maxLatencyRatio: fc.double({ min: 1, max: 10, noNaN: true }),
  latencyQuantile: fc.double({ min: 0.5, max: 0.999, noNaN: true }),
  failureLimit: fc.integer({ min: 1, max: 10 })
})
const latencyArb = fc.option(fc.double({ min: 0, max: 20, noNaN: true }), { nil: null })
const sideArb = fc.record({ requests: fc.nat({ max: 1e6 }), errorShare: fc.double({ min: 0, max: 1, noNaN: true }), latency: latencyArb })
  .map((s) => side(s.requests, Math.floor(s.requests * s.errorShare), s.latency))

t.test('property: a to no worse than from (5xx ratio and latency) never fails', async (t) => {
  holds(t, 'never fail', fc.property(sideArb, fc.nat({ max: 1e6 }), fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true }), configArb,
    (from, toRequests, errorShare, latencyShare, config) => {
      // errors/toRequests ≤ from.errors/from.requests, exactly (integers).
      const toErrors = from.requests === 0 ? 0 : Math.floor(Math.floor((from.errors * toRequests) / from.requests) * errorShare)
      const to = side(toRequests, toErrors, from.latency === null ? null : from.latency * latencyShare)
      return judge(from, to, config, AT, 0).verdict !== 'fail'
    }), { numRuns: 2000 })
})

t.test('property: fewer than minRequests on either side is always inconclusive', async (t) => {
  holds(t, 'inconclusive', fc.property(sideArb, sideArb, configArb, fc.boolean(), (a, b, config, fromShort) => {
    const min = Math.max(1, config.minRequests)
    const short = side(a.requests % min, Math.min(a.errors, a.requests % min), a.latency)
    const [from, to] = fromShort ? [short, b] : [b, short]
    const verdict = judge(from, to, { ...config, minRequests: min }, AT, 0)
    return verdict.verdict === 'inconclusive' && verdict.why.includes(`(< ${min})`)
  }), { numRuns: 2000 })
})

t.test('property: a to with a much higher 5xx ratio and many requests always fails', async (t) => {
  holds(t, 'fail', fc.property(
    fc.integer({ min: 1000, max: 1e6 }), fc.integer({ min: 1000, max: 1e6 }),
    fc.double({ min: 0, max: 0.05, noNaN: true }), fc.double({ min: 0, max: 5, noNaN: true }), fc.double({ min: 0.1, max: 0.5, noNaN: true }),
    configArb, latencyArb, latencyArb,
    (nFrom, nTo, pFrom, deltaPoints, excess, config, lFrom, lTo) => {
      const from = side(nFrom, Math.round(pFrom * nFrom), lFrom)
      const to = side(nTo, Math.min(nTo, Math.ceil((from.errors / nFrom + deltaPoints / 100 + excess) * nTo)), lTo)
      const a = judge(from, to, { ...config, minRequests: Math.min(config.minRequests, 1000), maxErrorRatioDelta: deltaPoints }, AT, 0)
      return a.verdict === 'fail' && a.why.startsWith('5xx ')
    }), { numRuns: 2000 })
})

t.test('property: the verdict is deterministic (same input, same analysis; no state between calls)', async (t) => {
  holds(t, 'deterministic', fc.property(sideArb, sideArb, configArb, sideArb, sideArb, (from, to, config, x, y) => {
    const first = judge(from, to, config, AT, 1)
    judge(x, y, config, AT, 2)
    return JSON.stringify(judge(from, to, config, AT, 1)) === JSON.stringify(first)
  }))
})
