import t from 'tap'
import { sleep } from '../helpers/harness.js'
import { eventually, startPrometheus, type VectorSample } from '../helpers/prometheus.js'
import { adminCall, send, startTestSwitchyard, startUpstream, testConfig } from '../helpers/services.js'

/** Ticks of `batch` concurrent requests, `everyMs` apart: a steady rate over several seconds. */
const TICKS = 60
const BATCH = 40
const EVERY_MS = 100
const SENT = TICKS * BATCH

function byColor (samples: readonly VectorSample[]): Record<string, number> {
  const out: Record<string, number> = {}
  for (const s of samples) out[s.metric.color ?? '?'] = s.value
  return out
}

t.test('Prometheus scraping the admin /metrics sees the 90/10 split that clients saw, request for request', async (t) => {
  const blue = await startUpstream(t, 'blue')
  const green = await startUpstream(t, 'green')
  const sy = await startTestSwitchyard(t, testConfig([blue, green]))
  const adminTarget = new URL(sy.adminUrl).host
  const prom = await startPrometheus(t, t.testdir({}), [adminTarget])

  // The target is up before the traffic starts, so the scrapes span all of it.
  await eventually(async () => {
    const up = await prom.query('up{job="switchyard"}')
    return up.length === 1 && up[0]?.value === 1 ? true : undefined
  }, () => `target ${adminTarget} not up:\n${prom.log()}`)

  const put = await adminCall(sy.adminUrl, 'PUT', '/weights', { weights: { blue: 90, green: 10 }, reason: 'canary 10%' })
  t.equal(put.status, 200)

  // Fresh clients: no cookie, so each request is placed by the weights.
  const seen: Record<string, number> = { blue: 0, green: 0 }
  let failed = 0
  for (let tick = 0; tick < TICKS; tick++) {
    const answers = await Promise.all(Array.from({ length: BATCH }, async () => await send(sy.proxyUrl + '/')))
    for (const a of answers) {
      if (a.status !== 200) failed++
      else seen[a.body] = (seen[a.body] ?? 0) + 1
    }
    await sleep(EVERY_MS) // pacing only: spreads the load over several scrapes
  }
  t.equal(failed, 0, 'every request answered 200')
  t.equal((seen.blue ?? 0) + (seen.green ?? 0), SENT, 'every answer came from blue or green')
  t.equal(blue.seen.length, seen.blue, 'blue upstream got what clients saw from blue')
  t.equal(green.seen.length, seen.green, 'green upstream got what clients saw from green')

  // Wait for a scrape that includes the last request: the raw counters sum to what was sent.
  const counts = await eventually(async () => {
    const c = byColor(await prom.query('sum by (color) (switchyard_requests_total{job="switchyard"})'))
    return Object.values(c).reduce((a, b) => a + b, 0) === SENT ? c : undefined
  }, () => `Prometheus never saw ${SENT} requests:\n${prom.log()}`)

  t.equal(counts.blue, seen.blue, 'blue: Prometheus counts what clients got')
  t.equal(counts.green, seen.green, 'green: Prometheus counts what clients got')
  t.equal(counts.none, 0, 'no request went unserved')
  const share = (counts.green ?? 0) / SENT
  t.ok(Math.abs(share - 0.10) <= 0.05, `green share ${(share * 100).toFixed(2)}% is 10% ± 5`)

  // Every request was placed by the weights, and answered 2xx.
  const classes = await prom.query('sum by (code_class, reason) (switchyard_requests_total{job="switchyard", color!="none"}) > 0')
  t.same(classes.map((s) => [s.metric.code_class, s.metric.reason, s.value]), [['2xx', 'weight', SENT]])

  const weights = byColor(await prom.query('switchyard_weight{job="switchyard"}'))
  t.same(weights, { blue: 90, green: 10 }, 'the weight gauges')
  const switches = await prom.query('switchyard_switches_total{job="switchyard", kind="weights"}')
  t.equal(switches[0]?.value, 1, 'one weights change')

  await prom.stop()
  t.ok(prom.child.exitCode !== null || prom.child.signalCode !== null, 'prometheus has exited')
})
