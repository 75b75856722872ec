/**
 * Rollouts that go forward, on one instance with real upstreams and real traffic: a healthy
 * green widens 5 → 25 → 50 → 100 and succeeds, every step recorded; without traffic a
 * rollout stays on its first step, inconclusive, however long its pause.
 */
import t, { type Test } from 'tap'
import { adminCall, startTestSwitchyard, testConfig, until, type Upstream } from '../helpers/services.js'
import { rolloutHistory, rolloutOf, startFaultyUpstream, trafficLoop, untilRollout } from '../helpers/rollouts.js'

t.setTimeout(5 * 60_000)

async function start (t: Test): Promise<{ proxyUrl: string, adminUrl: string, metrics: () => Promise<string> }> {
  const blue = await startFaultyUpstream(t, 'blue')
  const green = await startFaultyUpstream(t, 'green')
  const running = await startTestSwitchyard(t, testConfig([blue, green] as unknown as Upstream[], { initial: { weights: { blue: 100, green: 0 } }, rollout: { tickMs: 50 } }))
  return { proxyUrl: running.proxyUrl, adminUrl: running.adminUrl, metrics: async () => await running.metrics.registry.metrics() }
}

t.test('a healthy green goes 5 → 25 → 50 → 100 and the rollout succeeds, every step in the history', async (t) => {
  const { proxyUrl, adminUrl, metrics } = await start(t)
  t.equal((await adminCall(adminUrl, 'GET', '/rollout')).status, 404, 'no rollout yet')
  t.match((await adminCall(adminUrl, 'GET', '/rollout')).json, { error: 'SWY_ERR_NO_ROLLOUT' })
  trafficLoop(t, proxyUrl)
  const started = await adminCall(adminUrl, 'POST', '/rollouts', {
    to: 'green',
    steps: [{ weight: 5, pauseSeconds: 1 }, { weight: 25, pauseSeconds: 1 }, { weight: 50, pauseSeconds: 1 }, { weight: 100 }],
    // Latency noise on a busy machine must not fail a healthy canary: a generous ratio.
    analysis: { intervalSeconds: 1, minRequests: 5, maxLatencyRatio: 20, failureLimit: 3 },
    reason: 'v2.3.0'
  })
  t.equal(started.status, 201, started.body)
  t.match(started.json, { rollout: { phase: 'progressing', from: 'blue', to: 'green', stepIndex: 0, active: true, reason: 'v2.3.0' } })
  const done = await untilRollout(adminUrl, 'the rollout to succeed', (r) => r.phase !== 'progressing')
  t.equal(done.phase, 'succeeded', JSON.stringify(done.lastAnalysis))
  t.equal(done.active, false)
  t.equal(done.driver, null, 'no driver once ended')
  t.match((await adminCall(adminUrl, 'GET', '/state')).json, { weights: { blue: 0, green: 100 }, kind: 'rollout' })
  const history = await rolloutHistory(adminUrl)
  const steps = history.filter((e) => e.rollout?.event === 'step')
  t.same(steps.map((e) => e.rollout?.step), [0, 1, 2, 3], 'each step once, in order')
  t.same(steps.map((e) => e.after.weights.green), [5, 25, 50, 100])
  t.ok(steps.every((e) => typeof e.changedBy === 'string' && e.changedBy.startsWith(`rollout:${String(done.id)} (`)), 'changedBy names the rollout and its operator')
  t.same(history.at(0)?.rollout?.event, 'start')
  t.same(history.at(-1)?.rollout?.event, 'succeeded')
  t.ok(history.some((e) => e.rollout?.event === 'verdict' && e.rollout.verdict === 'pass'), 'verdicts are recorded')
  // Every step before the last had a passing analysis at its own step.
  for (const step of [0, 1, 2]) t.ok(done.analyses.some((a) => a.step === step && a.verdict === 'pass'), `step ${step} passed an analysis`)
  // Every instance reports the phase it last read (the driver at once, others on their next tick).
  let text = ''
  await until('the phase gauge to say succeeded', async () => { text = await metrics(); return /switchyard_rollout_phase\{phase="succeeded"\} 1/.test(text) })
  t.match(text, /switchyard_rollout_phase\{phase="progressing"\} 0/)
  t.match(text, /switchyard_rollout_analysis_total\{verdict="pass"\} [1-9]/)
})

t.test('no traffic: the rollout stays on its first step, inconclusive, and is never promoted', async (t) => {
  const { adminUrl } = await start(t)
  const started = await adminCall(adminUrl, 'POST', '/rollouts', {
    to: 'green',
    steps: [{ weight: 5, pauseSeconds: 1 }, { weight: 100 }],
    analysis: { intervalSeconds: 1, minRequests: 5 }
  })
  t.equal(started.status, 201, started.body)
  const r = await untilRollout(adminUrl, 'three analyses', (r) => r.analyses.length >= 3)
  t.equal(r.stepIndex, 0)
  t.equal(r.phase, 'progressing')
  t.ok(r.stepElapsedSeconds > 1, 'its pause has long elapsed')
  t.ok(r.analyses.every((a) => a.verdict === 'inconclusive'), 'every analysis is inconclusive')
  t.match(r.lastAnalysis.why, /fewer than 5|minRequests|requests/)
  t.match((await adminCall(adminUrl, 'GET', '/state')).json, { weights: { blue: 95, green: 5 } })
  t.equal((await rolloutOf(adminUrl)).stepIndex, 0)
})
