/**
 * The pure parts of `switchyard rollout`: options → `POST /rollouts` body, durations, and
 * the rendering of a RolloutView (fixtures in the shape of the rollout API's contract).
 */
import t from 'tap'
import { DEFAULT_ANALYSIS } from '../../src/rollout/types.js'
import { PLAIN, rewind, rowsOf, styleFor } from '../../src/cli/render.js'
import { rolloutStartBody } from '../../src/cli/rollout-body.js'
import { currentWeight, quantileLabel, renderRollout, rolloutLine, rolloutOf, type RolloutView } from '../../src/cli/rollout-view.js'
import { formatDuration, parseAssignments, parseDuration } from '../../src/cli/values.js'

t.test('--steps, --pause and --approval-at become the steps; the last step has no pause', async (t) => {
  const r = rolloutStartBody({ to: 'green', steps: '5,25,50,100', pause: '5m', approvalAt: '50' })
  t.strictSame(r, {
    ok: true,
    value: {
      to: 'green',
      steps: [{ weight: 5, pauseSeconds: 300 }, { weight: 25, pauseSeconds: 300 }, { weight: 50, pause: 'approval' }, { weight: 100 }]
    }
  })
  t.strictSame(rolloutStartBody({ to: 'green', steps: '10,100' }), { ok: true, value: { to: 'green', steps: [{ weight: 10 }, { weight: 100 }] } }, 'no --pause: the server\'s default')
  t.strictSame(rolloutStartBody({ to: 'green', steps: '1.5%, 100', pause: '90' }), { ok: true, value: { to: 'green', steps: [{ weight: 1.5, pauseSeconds: 90 }, { weight: 100 }] } }, 'plain seconds, spaces and % are fine')
  t.strictSame(rolloutStartBody({ to: 'green', steps: '25,50,100', pause: '1h', approvalAt: '25,100' }), {
    ok: true, value: { to: 'green', steps: [{ weight: 25, pause: 'approval' }, { weight: 50, pauseSeconds: 3600 }, { weight: 100, pause: 'approval' }] }
  }, 'several approval steps, the last one too when asked')
})

t.test('the analysis options, --from and --reason map to their fields, only those given', async (t) => {
  const r = rolloutStartBody({
    to: 'green',
    from: 'blue',
    steps: '5,100',
    pause: '30s',
    interval: '1m',
    maxErrorDelta: '0.5',
    maxLatencyRatio: '1.5',
    minRequests: '200',
    latencyQuantile: '0.99',
    failureLimit: '3',
    reason: 'release 2.4'
  })
  t.strictSame(r, {
    ok: true,
    value: {
      to: 'green',
      from: 'blue',
      steps: [{ weight: 5, pauseSeconds: 30 }, { weight: 100 }],
      analysis: { intervalSeconds: 60, maxErrorRatioDelta: 0.5, maxLatencyRatio: 1.5, minRequests: 200, latencyQuantile: 0.99, failureLimit: 3 },
      reason: 'release 2.4'
    }
  })
  t.strictSame(rolloutStartBody({ to: 'green', steps: '100', interval: '90s' }), { ok: true, value: { to: 'green', steps: [{ weight: 100 }], analysis: { intervalSeconds: 90 } } })
})

t.test('bad rollout options are usage errors that say which', async (t) => {
  const cases: Array<[Parameters<typeof rolloutStartBody>[0], RegExp]> = [
    [{ steps: '5,100' }, /--to COLOR is required/],
    [{ to: 'green' }, /--steps is required/],
    [{ to: 'green', steps: '5,x,100' }, /each of --steps must be a number from 0\.01 to 100, not "x"/],
    [{ to: 'green', steps: '50,25,100' }, /--steps must increase \(50 then 25\)/],
    [{ to: 'green', steps: '5,150' }, /not "150"/],
    [{ to: 'green', steps: '5,100', pause: '5 minutes' }, /--pause must be a duration/],
    [{ to: 'green', steps: '5,100', approvalAt: '50' }, /--approval-at 50 is not one of --steps 5,100/],
    [{ to: 'green', steps: '5,100', minRequests: '1.5' }, /--min-requests must be an integer/],
    [{ to: 'green', steps: '5,100', latencyQuantile: '0.3' }, /--latency-quantile must be a number from 0\.5 to 0\.999/],
    [{ to: 'green', steps: '5,100', maxLatencyRatio: '0.5' }, /--max-latency-ratio must be a number from 1/],
    [{ to: 'green', steps: '5,100', interval: '0s' }, /--interval must be at least 1s/]
  ]
  for (const [o, message] of cases) {
    const r = rolloutStartBody(o)
    t.equal(r.ok, false, JSON.stringify(o))
    if (!r.ok) t.match(r.message, message)
  }
})

t.test('durations and assignments', async (t) => {
  const ok: Array<[string, 's' | 'ms', number]> = [['90s', 's', 90_000], ['5m', 's', 300_000], ['1h', 's', 3_600_000], ['1m30s', 's', 90_000], ['45', 's', 45_000], ['250ms', 's', 250], ['5000', 'ms', 5000], ['2.5s', 'ms', 2500]]
  for (const [text, plain, ms] of ok) t.strictSame(parseDuration(text, 'x', plain), { ok: true, value: ms }, text)
  for (const bad of ['', '5 m', 'm5', '5d', '-1s', '1s2']) t.equal(parseDuration(bad, 'x').ok, false, `"${bad}" is not a duration`)
  t.equal(formatDuration(45), '45s')
  t.equal(formatDuration(130), '2m10s')
  t.equal(formatDuration(3900), '1h5m')
  t.strictSame(parseAssignments(['blue=90', 'green=10%']), { ok: true, value: { blue: 90, green: 10 } })
  t.match(parseAssignments(['blue=90', 'blue=10']), { ok: false, message: 'color "blue" is given twice' })
  t.match(parseAssignments(['90']), { ok: false, message: '"90" is not COLOR=PERCENT' })
})

const analysis = { at: '2026-12-01T12:00:00.000Z', step: 1, from: { requests: 1200, errorRatio: 0.001, latency: 0.12 }, to: { requests: 300, errorRatio: 0, latency: 0.11 }, verdict: 'pass' as const, why: 'error ratio and p99 within bounds' }

/** A rollout at its second step (25 %), analysing, two minutes into a five-minute pause. */
function fixture (over: Partial<RolloutView> = {}): RolloutView {
  return {
    id: 'r-1',
    phase: 'progressing',
    active: true,
    from: 'blue',
    to: 'green',
    steps: [{ weight: 5, pauseSeconds: 300 }, { weight: 25, pauseSeconds: 300 }, { weight: 50, pause: 'approval' }, { weight: 100 }],
    stepIndex: 1,
    stage: 'analysing',
    stepVersion: 7,
    startedAt: '2026-12-01T11:50:00.000Z',
    stepStartedAt: '2026-12-01T11:58:00.000Z',
    startedBy: 'alice',
    driver: 'i-1',
    reason: 'release 2.4',
    analysis: DEFAULT_ANALYSIS,
    analyses: [analysis],
    lastAnalysis: analysis,
    consecutiveFailures: 0,
    startWeights: { blue: 100, green: 0 },
    endedAt: null,
    endReason: null,
    stepElapsedSeconds: 130,
    stepPauseSeconds: 300,
    ...over
  }
}

const NOW = Date.parse('2026-12-01T12:00:30.000Z')

t.test('a progressing rollout: bar at the step\'s weight, the steps with the current one\'s clock, the last analysis', async (t) => {
  const text = renderRollout(fixture(), PLAIN, NOW)
  t.equal(text, [
    'rollout r-1  blue → green  PROGRESSING · analysing  (driver i-1)',
    `  green  ${'█'.repeat(10)}${'░'.repeat(30)}  25 %   step 2 of 4`,
    '  steps  ✓ 5 %   ▶ 25 % 2m10s of 5m   · 50 % (approval)   · 100 %',
    '  analysis  pass 30s ago (step 2): blue 1200 req, 0.1 % 5xx, p99 120 ms · green 300 req, 0 % 5xx, p99 110 ms',
    '            error ratio and p99 within bounds',
    '  failures  0 in a row (rolls back at 2)',
    '  started   10m30s ago by alice: "release 2.4"',
    '  control: switchyard rollout pause | promote | abort',
    ''
  ].join('\n'))
  t.equal(rolloutLine(fixture()), 'blue → green  progressing  step 2/4 (25 %)  last verdict pass')
})

t.test('awaiting approval, paused, ended: the phase, the hint and the exit-worthy facts', async (t) => {
  const waiting = renderRollout(fixture({ phase: 'awaiting-approval', stepIndex: 2, stepPauseSeconds: null, stepElapsedSeconds: 40 }), PLAIN, NOW)
  t.match(waiting, 'AWAITING-APPROVAL')
  t.match(waiting, '▶ 50 % (approval) waiting for approval')
  t.match(waiting, 'next: switchyard rollout approve')
  t.match(renderRollout(fixture({ phase: 'paused' }), PLAIN, NOW), 'next: switchyard rollout resume')

  const failed = { ...analysis, verdict: 'fail' as const, why: 'green 5xx 12 % vs blue 0.1 % (+11.9 pp > 1 pp)' }
  const rolledBack = fixture({ phase: 'rolled-back', active: false, lastAnalysis: failed, consecutiveFailures: 2, endedAt: '2026-12-01T12:00:20.000Z', endReason: failed.why })
  const text = renderRollout(rolledBack, PLAIN, NOW)
  t.match(text, /ROLLED-BACK\s/)
  t.notMatch(text, '· analysing', 'an ended rollout shows no stage')
  t.match(text, `green  ${'░'.repeat(40)}  0 %`, 'the bar is back at the start weight')
  t.match(text, 'analysis  FAIL')
  t.match(text, '  ended     10s ago: green 5xx 12 %')
  t.notMatch(text, /next:|control:/, 'nothing to do on an ended rollout')
  t.equal(currentWeight(rolledBack), 0)

  const done = fixture({ phase: 'succeeded', active: false, stepIndex: 3, endedAt: '2026-12-01T12:00:00.000Z' })
  t.equal(currentWeight(done), 100)
  t.match(renderRollout(done, PLAIN, NOW), '✓ 5 %   ✓ 25 %   ✓ 50 % (approval)   ✓ 100 %')
  t.match(renderRollout(fixture({ lastAnalysis: null, analyses: [] }), PLAIN, NOW), 'analysis  none yet (every 1m, at least 200 requests per side)')
  t.equal(currentWeight(fixture({ stage: 'applying' })), 5, 'while a step is being applied, the bar shows the weight before it')
})

t.test('colors only on a TTY and without NO_COLOR', async (t) => {
  t.equal(styleFor({ isTTY: false }, {}).on, false)
  t.equal(styleFor({ isTTY: true }, {}).on, true)
  t.equal(styleFor({ isTTY: true }, { NO_COLOR: '1' }).on, false)
  t.equal(styleFor({ isTTY: true }, { NO_COLOR: '' }).on, true, 'an empty NO_COLOR is unset (no-color.org)')
  const colored = renderRollout(fixture(), styleFor({ isTTY: true }, {}), NOW)
  t.ok(colored.includes('\x1b[32m'), 'colored on a TTY')
  t.equal(quantileLabel(0.99), 'p99')
  t.equal(quantileLabel(0.999), 'p99.9')
  t.equal(rolloutOf({ rollout: fixture() })?.id, 'r-1')
  t.equal(rolloutOf({ error: 'SWY_ERR_NO_ROLLOUT' }), undefined)
})

t.test('a live view redraws over exactly the rows it took, wrapped lines included', async (t) => {
  t.equal(rowsOf('a\nb\n', 80), 2)
  t.equal(rowsOf(`${'x'.repeat(100)}\nb\n`, 80), 3, 'a 100-character line takes two rows of 80')
  t.equal(rowsOf(`\x1b[32m${'x'.repeat(80)}\x1b[0m\n`, 80), 1, 'colors take no room')
  t.equal(rowsOf('a\n\nb\n', undefined), 3, 'empty lines count')
  t.equal(rewind(3), '\x1b[3F\x1b[J')
  t.equal(rewind(0), '', 'nothing drawn yet: nothing to rewind')
})
