/**
 * Rollouts that roll back by themselves, with real upstreams and traffic: a green answering
 * 500 on one request in five, and a green three times slower than blue. Each step's pause is
 * an hour, so the only way these rollouts end is the analysis.
 */
import t, { type Test } from 'tap'
import { until } from '../helpers/harness.js'
import { adminCall, send, startTestSwitchyard, stickyCookie, testConfig, type Upstream } from '../helpers/services.js'
import { rolloutHistory, startFaultyUpstream, trafficLoop, untilRollout, type Fault, type FaultyUpstream } from '../helpers/rollouts.js'

t.setTimeout(5 * 60_000)

async function start (t: Test, greenFault: Fault, blueFault: Fault = {}): Promise<{ proxyUrl: string, adminUrl: string, green: FaultyUpstream }> {
  const blue = await startFaultyUpstream(t, 'blue', blueFault)
  const green = await startFaultyUpstream(t, 'green', greenFault)
  const running = await startTestSwitchyard(t, testConfig([blue, green] as unknown as Upstream[], { initial: { weights: { blue: 100, green: 0 } }, rollout: { tickMs: 50 } }))
  return { proxyUrl: running.proxyUrl, adminUrl: running.adminUrl, green }
}

t.test('a green answering 5xx on 20 % of requests is rolled back; blue serves everyone after, sticky green users included', async (t) => {
  const { proxyUrl, adminUrl } = await start(t, { errorEvery: 5 })
  const started = await adminCall(adminUrl, 'POST', '/rollouts', {
    to: 'green',
    steps: [{ weight: 50, pauseSeconds: 3600 }, { weight: 100 }],
    analysis: { intervalSeconds: 1, minRequests: 20, maxErrorRatioDelta: 1, maxLatencyRatio: 1000, failureLimit: 2 }
  })
  t.equal(started.status, 201, started.body)
  await untilRollout(adminUrl, 'the first step applied everywhere', (r) => r.stage === 'analysing')
  // A client that lands on green and keeps its cookie.
  let cookie: string | undefined
  await until('a client sticky to green', async () => {
    const a = await send(`${proxyUrl}/`)
    if (a.body === 'green' || a.body === 'green failed') cookie = stickyCookie(a)
    return cookie !== undefined
  })
  trafficLoop(t, proxyUrl)
  const done = await untilRollout(adminUrl, 'the rollout to end', (r) => r.phase !== 'progressing')
  t.equal(done.phase, 'rolled-back')
  const analyses = done.analyses
  const firstFail = analyses.findIndex((a) => a.verdict === 'fail')
  t.ok(firstFail >= 0, 'a failing analysis')
  t.ok(analyses.length - firstFail <= 2, `rolled back within failureLimit (2) intervals of the first failure: ${analyses.map((a) => a.verdict).join(',')}`)
  t.match(analyses.at(-1)?.why, /5xx/)
  t.ok((analyses.at(-1)?.to.errorRatio ?? 0) > 0.1, 'the failing figures are shown')
  t.match(done.endReason, /5xx/)
  t.match((await adminCall(adminUrl, 'GET', '/state')).json, { weights: { blue: 100, green: 0 }, switchPolicy: { mode: 'immediate' } })
  for (let i = 0; i < 20; i++) {
    const a = await send(`${proxyUrl}/`, { headers: { cookie: cookie ?? '' } })
    t.equal(a.body, 'blue', 'the sticky green client is on blue at once')
    if (a.body !== 'blue') break
  }
  const history = await rolloutHistory(adminUrl)
  const rollback = history.find((e) => e.rollout?.event === 'rollback')
  t.match(rollback, { kind: 'rollout', rollout: { verdict: 'fail' }, after: { weights: { blue: 100, green: 0 } } })
  t.match(rollback?.reason, /rolled back/)
})

t.test('a green three times slower than blue is rolled back on latency', async (t) => {
  const { proxyUrl, adminUrl } = await start(t, { delayMs: 90 }, { delayMs: 30 })
  trafficLoop(t, proxyUrl, 8)
  const started = await adminCall(adminUrl, 'POST', '/rollouts', {
    to: 'green',
    steps: [{ weight: 50, pauseSeconds: 3600 }, { weight: 100 }],
    analysis: { intervalSeconds: 1, minRequests: 10, maxLatencyRatio: 1.5, latencyQuantile: 0.5, failureLimit: 2 }
  })
  t.equal(started.status, 201, started.body)
  const done = await untilRollout(adminUrl, 'the rollout to end', (r) => r.phase !== 'progressing')
  t.equal(done.phase, 'rolled-back')
  t.match(done.lastAnalysis, { verdict: 'fail' })
  t.match(done.lastAnalysis.why, /p50|latency/)
  t.ok(done.lastAnalysis.to.latency > 1.5 * done.lastAnalysis.from.latency)
  t.match((await adminCall(adminUrl, 'GET', '/state')).json, { weights: { blue: 100, green: 0 } })
})

t.test('a blue-green flip with a bake: blue is measured, green takes 100 %, a failing bake flips back', async (t) => {
  const { proxyUrl, adminUrl, green } = await start(t, {})
  trafficLoop(t, proxyUrl)
  const started = await adminCall(adminUrl, 'POST', '/rollouts', {
    to: 'green',
    steps: [{ weight: 100, pauseSeconds: 3600 }],
    analysis: { intervalSeconds: 1, minRequests: 20, maxLatencyRatio: 1000, failureLimit: 2 }
  })
  t.equal(started.status, 201, started.body)
  t.match(started.json, { rollout: { stage: 'measuring-reference' } })
  const flipped = await untilRollout(adminUrl, 'the flip applied everywhere', (r) => r.stage === 'analysing')
  t.ok(flipped.reference.requests >= 20, 'blue\'s figures from before the flip are the reference')
  t.match((await adminCall(adminUrl, 'GET', '/state')).json, { weights: { blue: 0, green: 100 } })
  const passed = await untilRollout(adminUrl, 'a passing bake interval', (r) => r.analyses.some((a) => a.verdict === 'pass'))
  t.equal(passed.phase, 'progressing', 'a healthy bake goes on (its pause is an hour)')
  t.equal(passed.lastAnalysis.from.requests, passed.reference.requests, 'green is compared with the reference')
  // Green turns bad during its bake.
  green.fault = { errorEvery: 4 }
  const done = await untilRollout(adminUrl, 'the bake to fail', (r) => r.phase !== 'progressing')
  t.equal(done.phase, 'rolled-back')
  t.match((await adminCall(adminUrl, 'GET', '/state')).json, { weights: { blue: 100, green: 0 } })
})
