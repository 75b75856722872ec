/**
 * The operator's actions on a rollout, on one instance: approval, pause and resume, abort,
 * promote; manual changes refused while one is active and forced through; every request
 * checked with every problem listed and nothing started on a 4xx.
 */
import t, { type Test } from 'tap'
import { adminCall, startTestSwitchyard, testConfig, type Upstream } from '../helpers/services.js'
import { rolloutHistory, rolloutOf, startFaultyUpstream, trafficLoop, untilRollout } from '../helpers/rollouts.js'

t.setTimeout(5 * 60_000)

const ANALYSIS = { intervalSeconds: 1, minRequests: 3, maxLatencyRatio: 1000, failureLimit: 5 }

async function start (t: Test, traffic = true): Promise<{ proxyUrl: string, adminUrl: string }> {
  const blue = await startFaultyUpstream(t, 'blue')
  const green = await startFaultyUpstream(t, 'green')
  const running = await startTestSwitchyard(t, testConfig([blue, green] as unknown as Upstream[], { initial: { weights: { blue: 100, green: 0 } }, rollout: { tickMs: 50 } }))
  if (traffic) trafficLoop(t, running.proxyUrl)
  return { proxyUrl: running.proxyUrl, adminUrl: running.adminUrl }
}

async function weights (adminUrl: string): Promise<unknown> {
  return ((await adminCall(adminUrl, 'GET', '/state')).json as { weights: unknown }).weights
}

t.test('an approval step waits for /approve; pause holds a step and resume continues it', async (t) => {
  const { adminUrl } = await start(t)
  const started = await adminCall(adminUrl, 'POST', '/rollouts', { to: 'green', steps: [{ weight: 20, pause: 'approval' }, { weight: 60, pauseSeconds: 1 }, { weight: 100 }], analysis: ANALYSIS })
  t.equal(started.status, 201, started.body)
  const waiting = await untilRollout(adminUrl, 'awaiting approval', (r) => r.phase === 'awaiting-approval')
  t.equal(waiting.stepIndex, 0)
  await untilRollout(adminUrl, 'passes while waiting', (r) => r.stepPasses >= 2)
  t.equal((await rolloutOf(adminUrl)).stepIndex, 0, 'passes do not approve')
  const resumeEarly = await adminCall(adminUrl, 'POST', '/rollout/resume', {})
  t.match(resumeEarly, { status: 409, json: { error: 'SWY_ERR_ROLLOUT_PHASE' } })
  const approved = await adminCall(adminUrl, 'POST', '/rollout/approve', { reason: 'looks good' })
  t.equal(approved.status, 200, approved.body)
  const second = await untilRollout(adminUrl, 'step 2 applied', (r) => r.stepIndex === 1 && r.stage === 'analysing')
  t.equal(second.phase, 'progressing')
  const paused = await adminCall(adminUrl, 'POST', '/rollout/pause', { reason: 'lunch' })
  t.match(paused, { status: 200, json: { rollout: { phase: 'paused' } } })
  await untilRollout(adminUrl, 'analyses go on while paused', (r) => r.analyses.filter((a) => a.step === 1 && a.verdict === 'pass').length >= 2)
  const held = await rolloutOf(adminUrl)
  t.match(held, { phase: 'paused', stepIndex: 1 }, 'a paused step does not advance though its pause and analyses are done')
  t.match(await weights(adminUrl), { green: 60 })
  t.match(await adminCall(adminUrl, 'POST', '/rollout/approve'), { status: 409, json: { error: 'SWY_ERR_ROLLOUT_PHASE' } })
  t.equal((await adminCall(adminUrl, 'POST', '/rollout/resume')).status, 200)
  const done = await untilRollout(adminUrl, 'the rollout to succeed', (r) => r.phase === 'succeeded')
  t.equal(done.stepIndex, 2)
  const events = (await rolloutHistory(adminUrl)).map((e) => e.rollout?.event)
  for (const e of ['start', 'approve', 'pause', 'resume', 'succeeded']) t.ok(events.includes(e), `${e} is in the history`)
  const approve = (await rolloutHistory(adminUrl)).find((e) => e.rollout?.event === 'approve')
  t.match(approve, { changedBy: 'loopback', reason: /looks good/ })
})

t.test('abort restores the starting weights; promote goes to 100 % at once; ended rollouts refuse actions', async (t) => {
  const { adminUrl } = await start(t)
  t.equal((await adminCall(adminUrl, 'PUT', '/weights', { weights: { blue: 90, green: 10 } })).status, 200)
  await adminCall(adminUrl, 'POST', '/rollouts', { to: 'green', steps: [{ weight: 30, pauseSeconds: 3600 }, { weight: 100 }], analysis: ANALYSIS })
  await untilRollout(adminUrl, 'step 1 applied', (r) => r.stage === 'analysing')
  t.match(await weights(adminUrl), { blue: 70, green: 30 })
  const aborted = await adminCall(adminUrl, 'POST', '/rollout/abort', { reason: 'wrong build' })
  t.match(aborted, { status: 200, json: { rollout: { phase: 'aborted', active: false, endReason: /wrong build/ } } })
  t.match(await weights(adminUrl), { blue: 90, green: 10 }, 'the weights the rollout started from')
  t.match(await adminCall(adminUrl, 'POST', '/rollout/pause'), { status: 409, json: { error: 'SWY_ERR_ROLLOUT_NOT_ACTIVE' } })

  const again = await adminCall(adminUrl, 'POST', '/rollouts', { to: 'green', steps: [{ weight: 30, pauseSeconds: 3600 }, { weight: 60, pauseSeconds: 3600 }, { weight: 100 }], analysis: ANALYSIS })
  t.equal(again.status, 201, 'a new rollout after an ended one')
  await untilRollout(adminUrl, 'step 1 applied', (r) => r.stage === 'analysing')
  const promoted = await adminCall(adminUrl, 'POST', '/rollout/promote', { reason: 'hotfix' })
  t.match(promoted, { status: 200, json: { rollout: { phase: 'succeeded', stepIndex: 0, endReason: /promoted.*hotfix/ } } })
  t.match(await weights(adminUrl), { blue: 0, green: 100 })
  const promote = (await rolloutHistory(adminUrl)).find((e) => e.rollout?.event === 'promote')
  t.match(promote, { after: { weights: { green: 100 } } }, 'recorded as a promotion')
})

t.test('manual changes during a rollout: 409 SWY_ERR_ROLLOUT_ACTIVE; with force the rollout is aborted and the change applied', async (t) => {
  const { adminUrl } = await start(t, false)
  await adminCall(adminUrl, 'POST', '/rollouts', { to: 'green', steps: [{ weight: 10, pauseSeconds: 3600 }, { weight: 100 }], analysis: ANALYSIS })
  await untilRollout(adminUrl, 'step 1 applied', (r) => r.stage === 'analysing')
  const version = ((await adminCall(adminUrl, 'GET', '/state')).json as { version: number }).version
  for (const [method, path, body] of [['PUT', '/weights', { weights: { blue: 50, green: 50 } }], ['POST', '/flip', { to: 'green' }], ['POST', '/rollback', {}]] as const) {
    const refused = await adminCall(adminUrl, method, path, body)
    t.match(refused, { status: 409, json: { error: 'SWY_ERR_ROLLOUT_ACTIVE', message: /force/ } }, `${method} ${path}`)
  }
  t.equal(((await adminCall(adminUrl, 'GET', '/state')).json as { version: number }).version, version, 'nothing written')
  const forced = await adminCall(adminUrl, 'PUT', '/weights', { weights: { blue: 50, green: 50 }, force: true, reason: 'manual' })
  t.equal(forced.status, 200, forced.body)
  t.match(await weights(adminUrl), { blue: 50, green: 50 })
  t.match(await rolloutOf(adminUrl), { phase: 'aborted', endReason: /forced PUT \/weights/ })
  t.equal(((await adminCall(adminUrl, 'GET', '/state')).json as { version: number }).version, version + 1, 'one routing change: no bounce through the starting weights')
  const history = (await adminCall(adminUrl, 'GET', '/history?limit=2')).json as { entries: Array<Record<string, unknown>> }
  t.match(history.entries, [{ kind: 'weights', reason: 'manual' }, { kind: 'rollout', rollout: { event: 'abort' } }], 'both recorded, abort first')
  t.equal((await adminCall(adminUrl, 'POST', '/flip', { to: 'blue' })).status, 200, 'no rollout active: no guard')
})

t.test('bad requests: every problem listed, 409 when one is active, nothing started on a 4xx', async (t) => {
  const { adminUrl } = await start(t, false)
  const cases: Array<[unknown, number, string, RegExp?]> = [
    [{ to: 'green' }, 400, 'SWY_ERR_ADMIN_INVALID_BODY', /steps/],
    [{ to: 'green', steps: [] }, 400, 'SWY_ERR_ADMIN_INVALID_BODY'],
    [{ to: 'green', steps: [{ weight: 0 }] }, 400, 'SWY_ERR_ADMIN_INVALID_BODY'],
    [{ to: 'green', steps: [{ weight: 101 }] }, 400, 'SWY_ERR_ADMIN_INVALID_BODY'],
    [{ to: 'green', steps: [{ weight: 10, pauseSeconds: 0 }, { weight: 100 }] }, 400, 'SWY_ERR_ADMIN_INVALID_BODY'],
    [{ to: 'green', steps: [{ weight: 100 }], analysis: { intervalSeconds: 0.5 } }, 400, 'SWY_ERR_ADMIN_INVALID_BODY'],
    [{ to: 'green', steps: [{ weight: 100 }], extra: 1 }, 400, 'SWY_ERR_ADMIN_INVALID_BODY'],
    [{ to: 'purple', steps: [{ weight: 100 }] }, 400, 'SWY_ERR_UNKNOWN_COLOR', /purple/],
    [{ to: 'green', steps: [{ weight: 50 }, { weight: 40.123, pauseSeconds: 5 }, { weight: 100 }] }, 400, 'SWY_ERR_ROLLOUT_INVALID', /steps\[0\] has neither.*steps\[1\]\.weight 40\.123 has more than two decimals.*below the step before/]
  ]
  for (const [body, status, code, message] of cases) {
    const a = await adminCall(adminUrl, 'POST', '/rollouts', body)
    t.match(a, { status, json: { error: code, ...(message === undefined ? {} : { message }) } }, JSON.stringify(body))
  }
  t.equal((await adminCall(adminUrl, 'GET', '/rollout')).status, 404, 'nothing started')
  t.equal((await adminCall(adminUrl, 'POST', '/rollouts', { to: 'green', steps: [{ weight: 10, pauseSeconds: 60 }, { weight: 100 }] })).status, 201)
  const second = await adminCall(adminUrl, 'POST', '/rollouts', { to: 'green', steps: [{ weight: 100 }] })
  t.match(second, { status: 409, json: { error: 'SWY_ERR_ROLLOUT_ACTIVE' } })
  t.match(await adminCall(adminUrl, 'POST', '/rollout/jump'), { status: 404, json: { error: 'SWY_ERR_ADMIN_NOT_FOUND' } })
})
