import t, { type Test } from 'tap'
import fc from 'fast-check'
import { flipTo, historyEntry, initialState, rollback, setTargetMode, setWeights, type RoutingState } from '../../src/routing/routing-state.js'
import { BUCKETS } from '../../src/routing/types.js'
import { checkHistoryEntry, checkInstanceInfo, checkSecret, checkStoredState, readState } from '../../src/state/stored-state.js'
import { holds, meta } from '../routing/fixtures/routing.js'

const COLORS = ['blue', 'green', 'red'] as const
const T0 = meta('2024-05-01T10:00:00.000Z', 'initial')
const T1 = meta('2024-05-01T10:05:00.000Z', 'canary 10 %')
const T2 = meta('2024-05-01T10:10:00.000Z', 'go green')
const start = initialState(COLORS, { blue: 10000, green: 0, red: 0 }, T0)

function must (t: { fail: (message: string) => boolean }, r: ReturnType<typeof flipTo>): RoutingState {
  if (r.ok) return r.value
  t.fail(`${r.error.code}: ${r.error.message}`)
  return start
}

/** Asserts that `check(value)` finds exactly the expected problems, each matching one pattern. */
function exactly (t: Test, problems: readonly string[], expected: readonly RegExp[], name: string): void {
  const unmatched = expected.filter((re) => !problems.some((p) => re.test(p)))
  t.ok(unmatched.length === 0 && problems.length === expected.length, `${name}: ${JSON.stringify(problems)}`)
}
t.test('checkStoredState', async (t) => {
  const good = {
    version: 3,
    colors: ['blue', 'green'],
    weights: { blue: 9000, green: 1000 },
    switchPolicy: { mode: 'drain', drainSeconds: 30 },
    previous: null,
    kind: 'weights',
    changedBy: 'ops',
    reason: 'canary',
    changedAt: '2024-05-01T10:00:00.000Z'
  }
  t.strictSame(checkStoredState(good), [], 'a good state passes')
  const withPrevious = { ...good, previous: { version: 2, weights: { blue: 10000, green: 0 }, switchPolicy: { mode: 'immediate', drainSeconds: 0 } } }
  t.strictSame(checkStoredState(withPrevious), [], 'a good state with a good previous passes')
  const flipped = must(t, flipTo(setWeights(start, { blue: 5000, green: 2500, red: 2500 }, T1), 'red', T2))
  t.strictSame(checkStoredState(JSON.parse(JSON.stringify(flipped))), [], 'a state the transitions built passes after a JSON round trip')

  const cases: ReadonlyArray<readonly [name: string, value: unknown, problems: readonly RegExp[]]> = [
    ['null', null, [/not an object/]],
    ['a string', 'state', [/not an object/]],
    ['version 0', { ...good, version: 0 }, [/version/]],
    ['version 1.5', { ...good, version: 1.5 }, [/version/]],
    ['version as a string', { ...good, version: '3' }, [/version/]],
    ['version beyond 2^53', { ...good, version: 2 ** 53 }, [/version/]],
    ['version missing', { ...good, version: undefined }, [/version/]],
    ['colors not a list', { ...good, colors: 'blue,green' }, [/colors/]],
    ['weights sum to 9999', { ...good, weights: { blue: 8999, green: 1000 } }, [/sum to 10000 basis points, got 9999/]],
    ['weights sum to 10001', { ...good, weights: { blue: 9001, green: 1000 } }, [/sum to 10000 basis points, got 10001/]],
    ['weights in percent', { ...good, weights: { blue: 90, green: 10 } }, [/sum/]],
    ['a color without a weight', { ...good, weights: { blue: 10000 } }, [/weight of "green"/]],
    ['a negative weight', { ...good, weights: { blue: 10000, green: -1 } }, [/weight of "green"/]],
    ['a fractional weight', { ...good, weights: { blue: 9999.5, green: 0.5 } }, [/weight of "blue"/, /weight of "green"/, /sum/]],
    ['a weight as a string', { ...good, weights: { blue: '10000', green: 0 } }, [/weight of "blue"/, /sum/]],
    ['weights name an unknown color', { ...good, weights: { blue: 9000, green: 1000, purple: 0 } }, [/unknown color "purple"/]],
    ['weights missing', { ...good, weights: undefined }, [/weights must be an object/]],
    ['switchPolicy missing', { ...good, switchPolicy: undefined }, [/switchPolicy/]],
    ['switchPolicy null', { ...good, switchPolicy: null }, [/switchPolicy/]],
    ['switchPolicy with an unknown mode', { ...good, switchPolicy: { mode: 'slow', drainSeconds: 30 } }, [/switchPolicy/]],
    ['drainSeconds as a string', { ...good, switchPolicy: { mode: 'drain', drainSeconds: '30' } }, [/switchPolicy/]],
    ['drainSeconds fractional', { ...good, switchPolicy: { mode: 'drain', drainSeconds: 1.5 } }, [/switchPolicy/]],
    ['previous missing', { ...good, previous: undefined }, [/previous/]],
    ['previous not an object', { ...good, previous: 'garbage' }, [/previous/]],
    ['previous weights sum to 5000', { ...withPrevious, previous: { ...withPrevious.previous, weights: { blue: 5000, green: 0 } } }, [/previous\.weights.*sum.*5000/]],
    ['previous weights name an unknown color', { ...withPrevious, previous: { ...withPrevious.previous, weights: { blue: 10000, green: 0, purple: 0 } } }, [/previous\.weights.*"purple"/]],
    ['previous weights missing a color', { ...withPrevious, previous: { ...withPrevious.previous, weights: { blue: 10000 } } }, [/previous\.weights.*"green"/]],
    ['previous version not below version', { ...withPrevious, previous: { ...withPrevious.previous, version: 3 } }, [/previous\.version/]],
    ['previous version 0', { ...withPrevious, previous: { ...withPrevious.previous, version: 0 } }, [/previous\.version/]],
    ['previous switchPolicy malformed', { ...withPrevious, previous: { ...withPrevious.previous, switchPolicy: { mode: 'drain' } } }, [/previous\.switchPolicy/]],
    ['every problem at once', { ...good, version: 0, weights: { blue: 1, green: 1, purple: 1 }, switchPolicy: {} }, [/version/, /sum/, /unknown color "purple"/, /switchPolicy/]]
  ]
  for (const [name, value, expected] of cases) {
    const problems = checkStoredState(value)
    const unmatched = expected.filter((re) => !problems.some((p) => re.test(p)))
    t.ok(unmatched.length === 0 && problems.length === expected.length, `${name}: ${JSON.stringify(problems)}`)
  }
})

t.test('whatever checkStoredState accepts, rollback keeps acceptable', async (t) => {
  // rollback trusts `previous`, so the check must cover it: an accepted state must never
  // roll back into one that routes buckets nowhere.
  const policy = fc.oneof(
    fc.constant<unknown>({ mode: 'immediate', drainSeconds: 0 }),
    fc.constant<unknown>({ mode: 'drain', drainSeconds: 30 }),
    fc.constant<unknown>({ mode: 'slow', drainSeconds: 30 }),
    fc.constant<unknown>(undefined))
  const weights = fc.oneof(
    fc.integer({ min: 0, max: BUCKETS }).map((g): unknown => ({ blue: BUCKETS - g, green: g })),
    fc.integer({ min: 0, max: BUCKETS }).map((g): unknown => ({ blue: BUCKETS - g - 1, green: g })),
    fc.constant<unknown>({ blue: BUCKETS }),
    fc.constant<unknown>({ blue: BUCKETS, green: 0, purple: 0 }),
    fc.constant<unknown>('50/50'))
  const previous = fc.oneof(
    fc.constant<unknown>(null),
    fc.constant<unknown>(undefined),
    fc.constant<unknown>('garbage'),
    fc.record({ version: fc.integer({ min: -1, max: 12 }), weights, switchPolicy: policy }))
  const stored = fc.record({ version: fc.integer({ min: 1, max: 10 }), weights, switchPolicy: policy, previous })
    .map((r) => ({ ...r, colors: ['blue', 'green'], kind: 'weights', changedBy: 'ops', reason: 'r', changedAt: '2024-05-01T10:00:00.000Z' }))
  holds(t, 'accepted → rollback → accepted (or nothing to roll back)', fc.property(stored, (value) => {
    if (checkStoredState(value).length > 0) return true
    const state = value as unknown as RoutingState
    const r = rollback(state, T1)
    if (state.previous === null) return !r.ok && r.error.code === 'NOTHING_TO_ROLL_BACK'
    return r.ok && checkStoredState(r.value).length === 0
  }), { numRuns: 300 })
})

t.test('hostile state values are refused, each naming its problem', async (t) => {
  const good = JSON.parse(JSON.stringify(must(t, flipTo(setWeights(start, { blue: 5000, green: 5000, red: 0 }, T1, { mode: 'drain', drainSeconds: 60 }), 'green', T2))))
  t.strictSame(checkStoredState(good), [], 'a state with a drain window and a previous passes')
  const modes = setTargetMode(setTargetMode(good, 'blue', 'b1', 'draining', T2), 'red', 'r1', 'disabled', T2)
  t.strictSame(checkStoredState(JSON.parse(JSON.stringify(modes))), [], 'target modes pass')
  const cases: ReadonlyArray<readonly [name: string, value: unknown, problems: readonly RegExp[]]> = [
    ['version 1e300', { ...good, version: 1e300 }, [/^version must be an integer/]],
    ['version -3', { ...good, version: -3 }, [/^version/]],
    ['a weight of -5', { ...good, weights: { blue: 10005, green: -5, red: 0 } }, [/weight of "blue"/, /weight of "green"/, /sum to 10000 basis points, got 0/]],
    ['a weight of 1e300', { ...good, weights: { blue: 1e300, green: 0, red: 0 } }, [/weight of "blue"/, /sum/]],
    ['a string where a number belongs (drainSeconds)', { ...good, switchPolicy: { mode: 'drain', drainSeconds: 'sixty' } }, [/switchPolicy is malformed/]],
    ['drainSeconds beyond a day', { ...good, switchPolicy: { mode: 'drain', drainSeconds: 86_401 } }, [/switchPolicy is malformed/]],
    ['a date out of range', { ...good, changedAt: '+275760-09-13T00:00:00.001Z' }, [/changedAt must be an ISO 8601 time/]],
    ['a date that does not parse', { ...good, changedAt: '2024-13-45T99:99:99Z' }, [/changedAt is not a valid time/]],
    ['a date as a number', { ...good, changedAt: 1714557600000 }, [/changedAt must be an ISO 8601 time/]],
    ['a drain window out of range', { ...good, drainUntil: { blue: 1e300 } }, [/drainUntil\.blue is malformed/]],
    ['a drain window as a string', { ...good, drainUntil: { blue: 'soon' } }, [/drainUntil\.blue is malformed/]],
    ['a drain window for an unknown color', { ...good, drainUntil: { purple: 1 } }, [/drainUntil name unknown color "purple"/]],
    ['a target mode outside the set', { ...good, targets: { blue: { b1: 'paused' } } }, [/targets\.blue\.b1 must be draining or disabled/]],
    ['target modes for an unknown color', { ...good, targets: { purple: { p1: 'disabled' } } }, [/targets name unknown color "purple"/]],
    ['target modes not an object', { ...good, targets: { blue: null } }, [/targets\.blue must be an object/]],
    ['an unknown kind', { ...good, kind: 'nuke' }, [/kind must be one of/]],
    ['changedBy a number', { ...good, changedBy: 7 }, [/changedBy must be a string/]],
    ['an empty color name', { ...good, colors: ['', 'green'] }, [/colors/]],
    ['duplicate colors', { ...good, colors: ['blue', 'blue'] }, [/colors/]],
    ['previous with a target mode outside the set', { ...good, previous: { ...good.previous, targets: { blue: { b1: 'gone' } } } }, [/previous\.targets\.blue\.b1 must be draining or disabled/]]
  ]
  for (const [name, value, expected] of cases) exactly(t, checkStoredState(value), expected, name)
  t.same(checkStoredState({ ...good, futureField: { anything: true } }), [], 'a field a newer release adds is ignored (rolling upgrades)')
})

t.test('history entries: what the transitions write passes; null, wrong shapes and bad sums do not', async (t) => {
  const s2 = setWeights(start, { blue: 9000, green: 1000, red: 0 }, T1)
  const s3 = setTargetMode(s2, 'blue', 'b1', 'draining', T2)
  for (const e of [historyEntry(null, start), historyEntry(start, s2), historyEntry(s2, s3)]) {
    t.strictSame(checkHistoryEntry(JSON.parse(JSON.stringify(e))), [], `entry ${e.version} passes`)
  }
  const good = JSON.parse(JSON.stringify(historyEntry(start, s2)))
  const cases: ReadonlyArray<readonly [name: string, value: unknown, problems: readonly RegExp[]]> = [
    ['null', null, [/entry is not an object/]],
    ['a number', 42, [/entry is not an object/]],
    ['a list', [good], [/entry is not an object/]],
    ['version 1e300', { ...good, version: 1e300 }, [/^version/]],
    ['after missing', { ...good, after: undefined }, [/after must be an object/]],
    ['after null', { ...good, after: null }, [/after must be an object/]],
    ['before a string', { ...good, before: 'v1' }, [/before must be an object or null/]],
    ['after weights not summing', { ...good, after: { ...good.after, weights: { blue: 1, green: 1 } } }, [/after\.weights must sum to 10000 basis points, got 2/]],
    ['a weight of -5', { ...good, after: { ...good.after, weights: { blue: 10005, green: -5 } } }, [/after\.weights: weight of "green"/, /after\.weights: weight of "blue"/, /sum/]],
    ['a date out of range', { ...good, changedAt: '99999-01-01T00:00:00Z' }, [/changedAt/]],
    ['a string where a number belongs', { ...good, after: { ...good.after, version: '2' } }, [/after\.version/]]
  ]
  for (const [name, value, expected] of cases) exactly(t, checkHistoryEntry(value), expected, name)
})

t.test('the secret: at least 43 base64url characters, as randomBytes(32) writes it', async (t) => {
  t.strictSame(checkSecret('9njswN0gCzlPHtea7g4ixI_BbhUD4mXrZgn5aBvBfec'), [], 'a generated secret passes')
  for (const [name, value] of [['1 character', 'x'], ['42 characters', 'x'.repeat(42)], ['a number', 12345], ['null', null], ['spaces', ' '.repeat(50)], ['not base64url', 'x'.repeat(42) + '!']] as const) {
    const problems = checkSecret(value)
    t.equal(problems.length, 1, `${name}: refused`)
    t.notMatch(problems.join(), String(value).slice(0, 20) === '' ? /^$/ : String(value).slice(0, 20), `${name}: the value is not in the problem`)
  }
})

t.test('heartbeats: times in range, ids non-empty; sub-ms applied times pass', async (t) => {
  const good = { id: 'host-1', appliedVersion: 7, appliedAt: 1796122033542.4856, at: 1796122033542 }
  t.strictSame(checkInstanceInfo(good), [])
  for (const [name, value] of [['null', null], ['appliedAt 1e300', { ...good, appliedAt: 1e300 }], ['at as a string', { ...good, at: 'now' }], ['an empty id', { ...good, id: '' }], ['version fractional', { ...good, appliedVersion: 1.5 }]] as const) {
    t.ok(checkInstanceInfo(value).length > 0, `${name}: refused`)
  }
})

t.test('readState: truncated JSON and hostile values are SWY_ERR_STORE_CORRUPT naming the place', async (t) => {
  const text = JSON.stringify(start)
  t.strictSame(readState(text, 'the state in test'), JSON.parse(text))
  t.throws(() => readState(text.slice(0, 40), 'the state in test'), { code: 'SWY_ERR_STORE_CORRUPT', message: /the state in test is not valid JSON/ })
  t.throws(() => readState(JSON.stringify({ ...start, version: 1e300 }), 'the state in test'), { code: 'SWY_ERR_STORE_CORRUPT', message: /the state in test is not valid: version/ })
})
