import t from 'tap'
import { DURATION_BUCKETS, Metrics } from '../../src/metrics/metrics.js'
import { REASON_INDEX } from '../../src/routing/types.js'
import { ROLLOUT_PHASES } from '../../src/rollout/types.js'
import { histogramQuantile, intervalFigures } from '../../src/rollout/traffic.js'
import { familiesWithPrefix, promtool } from '../helpers/prometheus.js'

const WIDTH = DURATION_BUCKETS.length + 1

/** A per-bucket histogram with `counts` at the given bucket indices. */
function buckets (counts: Record<number, number>): number[] {
  const out = new Array<number>(WIDTH).fill(0)
  for (const [i, n] of Object.entries(counts)) out[Number(i)] = n
  return out
}

/** The value of one sample line in an exposition, or undefined when absent. */
function sample (text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(series + ' '))
  return line === undefined ? undefined : Number(line.slice(series.length + 1))
}

t.test('traffic(): per configured color, requests over every reason and class, 5xx, per-bucket durations', async (t) => {
  const m = new Metrics(['blue', 'green'], { defaultMetrics: false })
  t.same(m.traffic(), { blue: { requests: 0, errors: 0, buckets: buckets({}) }, green: { requests: 0, errors: 0, buckets: buckets({}) } }, 'every color at 0 before any request')
  const green = 1
  m.request(green, REASON_INDEX.weight, 200, 0.004) // bucket (2.5 ms, 5 ms]: index 2
  m.request(green, REASON_INDEX.sticky, 204, 0.004)
  m.request(green, REASON_INDEX.override, 503, 0.3) // (0.25, 0.5]: index 8
  m.request(green, REASON_INDEX.weight, 502, 12) // slower than 10 s: +Inf, index 13
  m.request(green, REASON_INDEX.fallback, 404, 0.001) // ≤ 1 ms: index 0 (bounds are inclusive)
  m.request(green, REASON_INDEX.weight, 499, 0.05) // an abandoned request: 4xx, index 5
  m.request(0, REASON_INDEX.weight, 200, 0.1) // blue: index 6
  m.request(-1, REASON_INDEX.weight, 503, 0.001) // no color served it: not in traffic()
  const got = m.traffic()
  t.same(Object.keys(got), ['blue', 'green'], 'configured colors only, not "none"')
  t.same(got.green, { requests: 6, errors: 2, buckets: buckets({ 0: 1, 2: 2, 5: 1, 8: 1, 13: 1 }) })
  t.same(got.blue, { requests: 1, errors: 0, buckets: buckets({ 6: 1 }) })
  t.equal(got.green?.buckets.length, WIDTH, 'one count per bound and +Inf')
  // The buckets are a copy: the data path goes on counting without changing a published report.
  m.request(green, REASON_INDEX.weight, 200, 0.004)
  t.equal(got.green?.buckets[2], 2, 'the earlier report is unchanged')
  t.equal(m.traffic().green?.buckets[2], 3)
  // The report agrees with the scrape: the cumulative buckets and the counters.
  const text = await m.registry.metrics()
  t.equal(sample(text, 'switchyard_request_duration_seconds_count{color="green"}'), 7)
  t.equal(sample(text, 'switchyard_request_duration_seconds_bucket{le="0.005",color="green"}'), 4)
})

t.test('traffic() feeds the interval figures: two heartbeats apart, the delta and its p99', async (t) => {
  const m = new Metrics(['blue', 'green'], { defaultMetrics: false })
  for (let i = 0; i < 50; i++) m.request(1, REASON_INDEX.weight, 200, 0.02)
  const before = { a: { epoch: 'e', colors: m.traffic() } }
  for (let i = 0; i < 99; i++) m.request(1, REASON_INDEX.weight, 200, 0.2)
  m.request(1, REASON_INDEX.weight, 500, 0.2)
  const interval = intervalFigures(before, [{ id: 'a', traffic: { epoch: 'e', colors: m.traffic() } }], 'green')
  t.equal(interval.requests, 100)
  t.equal(interval.errors, 1)
  // 100 observations in (0.1, 0.25]: p99 = 0.1 + 0.15 × 99/100.
  t.ok(Math.abs((histogramQuantile(interval.buckets, DURATION_BUCKETS, 0.99) as number) - 0.2485) < 1e-12)
})

t.test('rollout metrics: every phase and verdict series exists at 0 from the start', async (t) => {
  const m = new Metrics(['blue', 'green'], { defaultMetrics: false })
  const text = await m.registry.metrics()
  t.match(text, /# HELP switchyard_rollout_phase .+\n# TYPE switchyard_rollout_phase gauge\n/)
  t.match(text, /# TYPE switchyard_rollout_step gauge\n/)
  t.match(text, /# TYPE switchyard_rollout_analysis_total counter\n/)
  for (const phase of ROLLOUT_PHASES) t.equal(sample(text, `switchyard_rollout_phase{phase="${phase}"}`), 0, `phase ${phase} at 0: there never was a rollout`)
  t.equal(sample(text, 'switchyard_rollout_step'), 0)
  for (const verdict of ['pass', 'fail', 'inconclusive']) t.equal(sample(text, `switchyard_rollout_analysis_total{verdict="${verdict}"}`), 0, `${verdict} at 0`)
})

t.test('rollout metrics: exactly one phase at 1, the step, the verdicts counted', async (t) => {
  const m = new Metrics(['blue', 'green'], { defaultMetrics: false })
  const phases = async (): Promise<Record<string, number | undefined>> => {
    const text = await m.registry.metrics()
    return Object.fromEntries(ROLLOUT_PHASES.map((p) => [p, sample(text, `switchyard_rollout_phase{phase="${p}"}`)]))
  }
  m.rolloutPhase('progressing', 2)
  t.same(await phases(), { progressing: 1, paused: 0, 'awaiting-approval': 0, succeeded: 0, 'rolled-back': 0, aborted: 0 })
  t.equal(sample(await m.registry.metrics(), 'switchyard_rollout_step'), 2)
  m.rolloutPhase('rolled-back', 3)
  t.same(await phases(), { progressing: 0, paused: 0, 'awaiting-approval': 0, succeeded: 0, 'rolled-back': 1, aborted: 0 }, 'the old phase back at 0')
  t.equal(sample(await m.registry.metrics(), 'switchyard_rollout_step'), 3)
  m.rolloutPhase(null, 5)
  t.same(Object.values(await phases()), [0, 0, 0, 0, 0, 0], 'no rollout: every phase 0')
  t.equal(sample(await m.registry.metrics(), 'switchyard_rollout_step'), 0)
  m.rolloutAnalysis('pass')
  m.rolloutAnalysis('fail')
  m.rolloutAnalysis('fail')
  const text = await m.registry.metrics()
  t.equal(sample(text, 'switchyard_rollout_analysis_total{verdict="pass"}'), 1)
  t.equal(sample(text, 'switchyard_rollout_analysis_total{verdict="fail"}'), 2)
  t.equal(sample(text, 'switchyard_rollout_analysis_total{verdict="inconclusive"}'), 0)
})

t.test('the rollout series pass promtool check metrics', async (t) => {
  const m = new Metrics(['blue', 'green'], { defaultMetrics: false })
  m.rolloutPhase('awaiting-approval', 1)
  m.rolloutAnalysis('inconclusive')
  const ours = familiesWithPrefix(await m.registry.metrics(), 'switchyard_rollout_')
  t.match(ours, /switchyard_rollout_phase\{phase="awaiting-approval"\} 1\n/)
  const run = await promtool(['check', 'metrics'], { stdin: ours })
  t.equal(run.stdout + run.stderr, '', 'promtool reports nothing')
  t.equal(run.code, 0)
})
