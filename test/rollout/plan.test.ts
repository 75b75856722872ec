/**
 * The rollout document's transitions, walked by hand: every phase, the step clock with its
 * pauses, what an analysis does, and what each operator action refuses.
 */
import t from 'tap'
import { advance, approve, canEnd, completesOnApply, confirmed, createRollout, end, fullWeights, lastReference, pause, resume, stepComplete, stepElapsedMs, stepWeights, withAnalysis } from '../../src/rollout/plan.js'
import { DEFAULT_ANALYSIS, type Analysis, type Rollout, type RolloutStep, type Verdict } from '../../src/rollout/types.js'

const T0 = Date.parse('2026-12-01T10:00:00.000Z')
const COLORS = ['blue', 'green', 'red']

function rollout (steps: RolloutStep[], analysis = DEFAULT_ANALYSIS): Rollout {
  return createRollout({ to: 'green', from: 'blue', steps, analysis, reason: 'v2' }, { id: 'ro-1', startedBy: 'alice', now: T0, rev: 4, startWeights: { blue: 10000, green: 0, red: 0 }, startVersion: 7 })
}

function analysis (verdict: Verdict, fromRequests = 500): Analysis {
  return { at: new Date(T0).toISOString(), step: 0, verdict, why: verdict, from: { requests: fromRequests, errorRatio: 0, latency: 0.01 }, to: { requests: 50, errorRatio: 0, latency: 0.01 } }
}

/** The document once its step is applied everywhere, at `at`. */
function running (r: Rollout, at = T0): Rollout {
  return confirmed({ ...r, stage: 'confirming', stepVersion: 8 }, {}, at)
}

t.test('a new rollout starts at step 0, applying, rev one past the stored one', async (t) => {
  const r = rollout([{ weight: 5, pauseSeconds: 60 }, { weight: 100 }])
  t.match(r, { rev: 4, phase: 'progressing', stage: 'applying', stepIndex: 0, stepVersion: null, stepStartedAt: null, analyses: [], consecutiveFailures: 0, startVersion: 7 })
})

t.test("a step's weights: to gets its share, from the rest, every other color 0", async (t) => {
  const r = rollout([{ weight: 12.34, pauseSeconds: 60 }, { weight: 100 }])
  t.same(stepWeights(r, COLORS, 0), { blue: 8766, green: 1234, red: 0 })
  t.same(stepWeights(r, COLORS, 1), { blue: 0, green: 10000, red: 0 })
  t.same(fullWeights(r, COLORS), { blue: 0, green: 10000, red: 0 })
})

t.test('a first step at 100 % (a bake) measures from first; later ones use the last good from figures', async (t) => {
  const bake = rollout([{ weight: 100, pauseSeconds: 300 }])
  t.equal(bake.stage, 'measuring-reference')
  const canary = running(rollout([{ weight: 50, pauseSeconds: 1 }, { weight: 100, pauseSeconds: 60 }]))
  const passed = withAnalysis(canary, analysis('pass'), {}, T0 + 1000).rollout
  t.same(lastReference(passed), analysis('pass').from)
  const next = advance(passed, T0 + 2000)
  t.equal(next.stage, 'applying', 'the reference is known: no measuring')
  t.same(next.reference, analysis('pass').from)
  const thin = withAnalysis(canary, analysis('pass', 3), {}, T0 + 1000).rollout
  t.equal(advance(thin, T0 + 2000).stage, 'measuring-reference', 'from figures below minRequests are no reference')
})

t.test('a step completes only after its pause AND a passing analysis; the clock alone never promotes', async (t) => {
  const r = running(rollout([{ weight: 5, pauseSeconds: 10 }, { weight: 100 }]))
  t.equal(stepComplete(r, T0 + 60_000), false, 'no passing analysis yet, long after the pause')
  const inconclusive = withAnalysis(r, analysis('inconclusive'), {}, T0 + 11_000).rollout
  t.equal(stepComplete(inconclusive, T0 + 60_000), false, 'inconclusive does not count')
  const passed = withAnalysis(r, analysis('pass'), {}, T0 + 5000).rollout
  t.equal(stepComplete(passed, T0 + 9_999), false, 'pause not elapsed')
  t.equal(stepComplete(passed, T0 + 10_000), true)
})

t.test('pause holds the step clock; resume continues it', async (t) => {
  const r = withAnalysis(running(rollout([{ weight: 5, pauseSeconds: 10 }, { weight: 100 }])), analysis('pass'), {}, T0 + 1000).rollout
  const paused = pause(r, T0 + 4000)
  if (!paused.ok) throw new Error('pause refused')
  t.equal(paused.value.phase, 'paused')
  t.equal(stepElapsedMs(paused.value, T0 + 100_000), 4000, 'the clock stopped at the pause')
  t.equal(stepComplete(paused.value, T0 + 100_000), false, 'a paused step never completes')
  t.match(pause(paused.value, T0 + 5000), { ok: false, error: { code: 'SWY_ERR_ROLLOUT_PHASE' } })
  const resumed = resume(paused.value, T0 + 50_000)
  if (!resumed.ok) throw new Error('resume refused')
  t.equal(resumed.value.phase, 'progressing')
  t.equal(stepElapsedMs(resumed.value, T0 + 52_000), 6000, '4 s before the pause + 2 s after')
  t.equal(stepComplete(resumed.value, T0 + 55_999), false)
  t.equal(stepComplete(resumed.value, T0 + 56_000), true)
  t.match(resume(resumed.value, T0), { ok: false, error: { code: 'SWY_ERR_ROLLOUT_PHASE' } })
})

t.test('an approval step waits for approve; approve is refused in any other phase', async (t) => {
  const r = rollout([{ weight: 50, pause: 'approval' }, { weight: 100 }])
  t.match(approve(r, T0), { ok: false, error: { code: 'SWY_ERR_ROLLOUT_PHASE' } }, 'not reached yet')
  const waiting = running(r)
  t.equal(waiting.phase, 'awaiting-approval')
  t.equal(stepComplete(withAnalysis(waiting, analysis('pass'), {}, T0).rollout, T0 + 3_600_000), false, 'passes and time do not approve')
  const paused = pause(waiting, T0 + 1000)
  if (!paused.ok) throw new Error('pause refused')
  t.match(approve(paused.value, T0), { ok: false, error: { code: 'SWY_ERR_ROLLOUT_PHASE' } })
  const back = resume(paused.value, T0 + 2000)
  t.match(back, { ok: true, value: { phase: 'awaiting-approval' } }, 'resume returns to waiting')
  const approved = approve(waiting, T0 + 3000)
  if (!approved.ok) throw new Error('approve refused')
  t.equal(approved.value.phase, 'progressing')
  t.equal(stepComplete(approved.value, T0 + 3000), true)
})

t.test('failures: consecutive ones roll back; a pass clears them; inconclusive neither adds nor clears', async (t) => {
  const r = running(rollout([{ weight: 5, pauseSeconds: 600 }, { weight: 100 }], { ...DEFAULT_ANALYSIS, failureLimit: 2 }))
  const one = withAnalysis(r, analysis('fail'), {}, T0 + 1000)
  t.equal(one.rollBack, false)
  t.equal(one.rollout.consecutiveFailures, 1)
  const gap = withAnalysis(one.rollout, analysis('inconclusive'), {}, T0 + 2000)
  t.equal(gap.rollout.consecutiveFailures, 1)
  const two = withAnalysis(gap.rollout, analysis('fail'), {}, T0 + 3000)
  t.equal(two.rollBack, true)
  const cleared = withAnalysis(one.rollout, analysis('pass'), {}, T0 + 2000)
  t.equal(cleared.rollout.consecutiveFailures, 0)
  t.equal(cleared.rollout.stepPasses, 1)
  t.equal(two.rollout.analyses.length, 3, 'every interval is kept')
})

t.test('advance moves to the next step with a fresh clock, and past the last one succeeds', async (t) => {
  const r = withAnalysis(running(rollout([{ weight: 5, pauseSeconds: 1 }, { weight: 25, pauseSeconds: 1 }])), analysis('pass'), {}, T0 + 1000).rollout
  const next = advance(r, T0 + 2000)
  t.match(next, { stepIndex: 1, stage: 'applying', stepVersion: null, stepStartedAt: null, stepPasses: 0, approved: false, phase: 'progressing', rev: r.rev + 1 })
  const last = withAnalysis(running(next), analysis('pass'), {}, T0 + 3000).rollout
  t.match(advance(last, T0 + 4000), { phase: 'succeeded', endReason: 'all 2 steps done' })
})

t.test('the last step at 100 % with no pause completes as soon as it is applied everywhere', async (t) => {
  const r = rollout([{ weight: 50, pauseSeconds: 1 }, { weight: 100 }])
  t.equal(completesOnApply(r), false)
  t.equal(completesOnApply({ ...r, stepIndex: 1 }), true)
  t.equal(completesOnApply({ ...rollout([{ weight: 100, pauseSeconds: 300 }]) }), false, 'a bake has a pause')
})

t.test('ended rollouts refuse every action with SWY_ERR_ROLLOUT_NOT_ACTIVE', async (t) => {
  for (const phase of ['succeeded', 'rolled-back', 'aborted'] as const) {
    const done = end(rollout([{ weight: 100 }]), phase, 'why', T0)
    t.equal(done.phase, phase)
    for (const act of [pause, resume, approve]) t.match(act(done, T0), { ok: false, error: { code: 'SWY_ERR_ROLLOUT_NOT_ACTIVE' } })
    t.match(canEnd(done), { ok: false, error: { code: 'SWY_ERR_ROLLOUT_NOT_ACTIVE' } })
  }
})
