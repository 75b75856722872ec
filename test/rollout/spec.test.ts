/** Checking a rollout request against the state: every problem listed, defaults filled. */
import t from 'tap'
import { initialState } from '../../src/routing/routing-state.js'
import { checkRollout, defaultFrom } from '../../src/rollout/spec.js'
import { DEFAULT_ANALYSIS } from '../../src/rollout/types.js'

const META = { changedBy: 't', reason: '', at: '2026-12-01T10:00:00.000Z' }
const state = initialState(['blue', 'green', 'red'], { blue: 9000, green: 0, red: 1000 }, META)

t.test('from defaults to the heaviest color other than to', async (t) => {
  t.equal(defaultFrom(state, 'green'), 'blue')
  t.equal(defaultFrom(state, 'blue'), 'red')
  t.equal(defaultFrom(initialState(['a', 'b'], { a: 5000, b: 5000 }, META), 'c'), 'a', 'first in color order on a tie')
})

t.test('a valid request gets from and every analysis default', async (t) => {
  const out = checkRollout({ to: 'green', steps: [{ weight: 5, pauseSeconds: 300 }, { weight: 50, pause: 'approval' }, { weight: 100 }], analysis: { minRequests: 20 } }, state)
  t.match(out, { ok: true, value: { from: 'blue', to: 'green', reason: '', analysis: { ...DEFAULT_ANALYSIS, minRequests: 20 } } })
})

t.test('unknown colors answer SWY_ERR_UNKNOWN_COLOR naming them', async (t) => {
  t.match(checkRollout({ to: 'purple', from: 'pink', steps: [{ weight: 100 }] }, state), { ok: false, error: { code: 'SWY_ERR_UNKNOWN_COLOR', message: /"purple" and "pink"/ } })
})

t.test('every problem of the steps is listed at once', async (t) => {
  const out = checkRollout({
    to: 'green',
    from: 'green',
    steps: [{ weight: 10.005, pauseSeconds: 1 }, { weight: 5 }, { weight: 50, pause: 'approval', pauseSeconds: 3 }, { weight: 100 }]
  }, state)
  if (out.ok) throw new Error('accepted')
  t.equal(out.error.code, 'SWY_ERR_ROLLOUT_INVALID')
  for (const re of [/from and to are both "green"/, /steps\[0\]\.weight 10\.005 has more than two decimals/, /steps\[1\]\.weight 5 is below the step before it/, /steps\[1\] has neither pauseSeconds nor pause/, /steps\[2\] has both pause and pauseSeconds/]) {
    t.match(out.error.message, re)
  }
})
