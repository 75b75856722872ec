import t from 'tap'
import fc from 'fast-check'
import {
  flipTo, historyEntry, IMMEDIATE, initialState, rollback, rollbackTarget, sameWeights, setTargetMode, setWeights, targetModeChanges,
  type RoutingSettings, type RoutingState, type SwitchPolicy
} from '../../src/routing/routing-state.js'
import { BUCKETS } from '../../src/routing/types.js'
import type { BasisPoints } from '../../src/routing/weights.js'
import { holds, meta, tableOf } from './fixtures/routing.js'

const COLORS = ['blue', 'green', 'red'] as const
const DRAIN: SwitchPolicy = { mode: 'drain', drainSeconds: 30 }
const T0 = meta('2024-05-01T10:00:00.000Z', 'initial')
const T1 = meta('2024-05-01T10:05:00.000Z', 'canary 10 %')
const T2 = meta('2024-05-01T10:10:00.000Z', 'go green')
const T3 = meta('2024-05-01T10:15:00.000Z', 'errors up')

const start = initialState(COLORS, { blue: 10000, green: 0, red: 0 }, T0)

/** The settings a rollback restores, picked from a state or a recorded settings object. */
function core (s: RoutingSettings | null | undefined): { version: number, weights: BasisPoints, switchPolicy: SwitchPolicy } | null {
  return s == null ? null : { version: s.version, weights: s.weights, switchPolicy: s.switchPolicy }
}

/** Unwraps a transition that must succeed, failing the test otherwise. */
function must (t: { fail: (message: string) => boolean }, r: ReturnType<typeof flipTo>): RoutingState {
  if (r.ok) return r.value
  t.fail(`${r.error.code}: ${r.error.message}`)
  return start
}

t.test('initial state', async (t) => {
  t.strictSame(start, {
    version: 1,
    colors: COLORS,
    weights: { blue: 10000, green: 0, red: 0 },
    switchPolicy: IMMEDIATE,
    previous: null,
    kind: 'init',
    changedBy: 'tester',
    reason: 'initial',
    changedAt: '2024-05-01T10:00:00.000Z'
  })
  t.strictSame(IMMEDIATE, { mode: 'immediate', drainSeconds: 0 })
})

t.test('each transition bumps the version by one and remembers what it replaced', async (t) => {
  const canary = { blue: 9000, green: 1000, red: 0 }
  const draining = setWeights(start, { blue: 5000, green: 5000, red: 0 }, T1, DRAIN)
  const cases: ReadonlyArray<readonly [name: string, from: RoutingState, run: (s: RoutingState) => RoutingState, kind: string, weights: BasisPoints, policy: SwitchPolicy]> = [
    ['setWeights', start, (s) => setWeights(s, canary, T1), 'weights', canary, IMMEDIATE],
    ['setWeights with a policy', start, (s) => setWeights(s, canary, T1, DRAIN), 'weights', canary, DRAIN],
    ['flipTo', start, (s) => must(t, flipTo(s, 'green', T1)), 'flip', { blue: 0, green: BUCKETS, red: 0 }, IMMEDIATE],
    // A policy applies to the change that names it: a change that names none is immediate (issue 12).
    ['setWeights without a policy is immediate, whatever the current one', draining, (s) => setWeights(s, canary, T1), 'weights', canary, IMMEDIATE],
    ['flipTo with a policy', start, (s) => must(t, flipTo(s, 'red', T1, DRAIN)), 'flip', { blue: 0, green: 0, red: BUCKETS }, DRAIN],
    ['flipTo without a policy is immediate, whatever the current one', draining, (s) => must(t, flipTo(s, 'green', T1)), 'flip', { blue: 0, green: BUCKETS, red: 0 }, IMMEDIATE],
    ['rollback', setWeights(start, canary, T1, DRAIN), (s) => must(t, rollback(s, T2)), 'rollback', start.weights, IMMEDIATE]
  ]
  for (const [name, from, run, kind, weights, policy] of cases) {
    const snapshot = structuredClone(from)
    const to = run(from)
    t.equal(to.version, from.version + 1, `${name}: version + 1`)
    t.strictSame(core(to.previous), core(from), `${name}: previous is the settings it replaced`)
    t.equal(to.kind, kind, `${name}: kind`)
    t.strictSame(to.weights, weights, `${name}: weights`)
    t.strictSame(to.switchPolicy, policy, `${name}: switch policy`)
    t.equal(to.colors, from.colors, `${name}: colors carried over`)
    t.strictSame([to.changedBy, to.reason], ['tester', kind === 'rollback' ? 'go green' : 'canary 10 %'], `${name}: who and why`)
    t.strictSame(from, snapshot, `${name}: the input state is untouched`)
  }
})

t.test('flipTo and rollback failures', async (t) => {
  const unknown = flipTo(start, 'purple', T1)
  t.equal(unknown.ok ? 'ok' : unknown.error.code, 'UNKNOWN_COLOR', 'unknown color')
  t.match(unknown.ok ? '' : unknown.error.message, /"purple".*blue, green, red/, 'names the color and the configured ones')
  const caseSensitive = flipTo(start, 'Green', T1)
  t.equal(caseSensitive.ok ? 'ok' : caseSensitive.error.code, 'UNKNOWN_COLOR', 'color names are case-sensitive')
  const nothing = rollback(start, T1)
  t.equal(nothing.ok ? 'ok' : nothing.error.code, 'NOTHING_TO_ROLL_BACK', 'the initial state has nothing to roll back to')
})

t.test('rollback restores the previous settings, and a second rollback toggles back', async (t) => {
  const canary = setWeights(start, { blue: 9000, green: 1000, red: 0 }, T1, DRAIN)
  const green = must(t, flipTo(canary, 'green', T2, IMMEDIATE))
  const back = must(t, rollback(green, T3))
  t.strictSame([back.version, back.weights, back.switchPolicy], [4, canary.weights, IMMEDIATE], 'back to the canary, at once (the canary\'s drain policy is not restored)')
  t.strictSame(core(back.previous), core(green), 'the flipped state becomes previous')
  const again = must(t, rollback(back, T3))
  t.strictSame([again.version, again.weights, again.switchPolicy], [5, green.weights, IMMEDIATE], 'rolling back the rollback returns to green')
  t.strictSame(core(again.previous), core(back), 'the rolled-back state becomes previous')
})

t.test('any sequence of changes behaves like the model', async (t) => {
  const arbWeights = fc.tuple(fc.integer({ min: 0, max: BUCKETS }), fc.integer({ min: 0, max: BUCKETS }))
    .map(([a, b]) => tableOf(COLORS, [Math.min(a, b), Math.max(a, b) - Math.min(a, b), BUCKETS - Math.max(a, b)]))
  const arbOp = fc.oneof(
    arbWeights.map((weights) => ({ op: 'weights' as const, weights })),
    fc.constantFrom(...COLORS).map((color) => ({ op: 'flip' as const, color })),
    fc.constant({ op: 'rollback' as const }))
  holds(t, 'versions grow by one; previous and weights follow each change', fc.property(fc.array(arbOp, { maxLength: 20 }), (ops) => {
    let state = start
    for (const o of ops) {
      const before = state
      let expected: BasisPoints
      if (o.op === 'weights') {
        state = setWeights(before, o.weights, T1)
        expected = o.weights
      } else if (o.op === 'flip') {
        const r = flipTo(before, o.color, T1)
        if (!r.ok) return false
        state = r.value
        expected = tableOf(COLORS, COLORS.map((c) => (c === o.color ? BUCKETS : 0)))
      } else {
        const r = rollback(before, T1)
        if (before.previous === null) {
          if (r.ok || r.error.code !== 'NOTHING_TO_ROLL_BACK') return false
          continue
        }
        if (!r.ok) return false
        state = r.value
        expected = before.previous.weights
      }
      if (state.version !== before.version + 1) return false
      if (state.previous?.version !== before.version || !sameWeights(COLORS, state.previous.weights, before.weights)) return false
      if (!sameWeights(COLORS, state.weights, expected)) return false
    }
    return true
  }))
})

t.test('historyEntry records the settings before and after', async (t) => {
  const next = setWeights(start, { blue: 5000, green: 5000, red: 0 }, T1, DRAIN)
  const cases = [
    { name: 'a change', before: start, after: next, who: ['tester', 'canary 10 %', '2024-05-01T10:05:00.000Z'] },
    { name: 'the first state', before: null, after: start, who: ['tester', 'initial', '2024-05-01T10:00:00.000Z'] }
  ]
  for (const c of cases) {
    const entry = historyEntry(c.before, c.after)
    t.strictSame([entry.version, entry.kind], [c.after.version, c.after.kind], `${c.name}: version and kind of the new state`)
    t.strictSame([entry.changedBy, entry.reason, entry.changedAt], c.who, `${c.name}: who, why, when`)
    t.strictSame(core(entry.before), core(c.before), `${c.name}: before`)
    t.strictSame(core(entry.after), core(c.after), `${c.name}: after`)
  }
  t.equal(historyEntry(null, start).before, null, 'the first state has nothing before it')
  t.strictSame(core(historyEntry(start, next).after), { version: 2, weights: { blue: 5000, green: 5000, red: 0 }, switchPolicy: DRAIN }, 'after, spelled out')
})

t.test('sameWeights', async (t) => {
  const cases: ReadonlyArray<readonly [a: BasisPoints, b: BasisPoints, same: boolean]> = [
    [{ blue: 10000, green: 0, red: 0 }, { blue: 10000, green: 0, red: 0 }, true],
    [{ blue: 10000 }, { blue: 10000, green: 0, red: 0 }, true],
    [{ blue: 9000, green: 1000, red: 0 }, { blue: 9000, green: 0, red: 1000 }, false],
    [{ blue: 10000, green: 0, red: 0 }, { blue: 0, green: 10000, red: 0 }, false],
    [{ blue: 10000, green: 0, red: 0, purple: 5 }, { blue: 10000 }, true]
  ]
  for (const [a, b, same] of cases) t.equal(sameWeights(COLORS, a, b), same, `${JSON.stringify(a)} vs ${JSON.stringify(b)}`)
})

t.test('a rollback after a drain flip moves users at once: no window is inherited', async (t) => {
  const at = Date.parse(T2.at)
  const flipped = must(t, flipTo(start, 'green', T2, { mode: 'drain', drainSeconds: 300 }))
  t.strictSame(flipped.drainUntil, { blue: at + 300_000 }, 'the release flip gives blue a 300 s window')
  const back = must(t, rollback(flipped, T3))
  t.strictSame(back.switchPolicy, IMMEDIATE, 'the rollback is immediate')
  t.strictSame(back.drainUntil, {}, 'green gets no window, blue has weight again')
  const flipBack = must(t, flipTo(flipped, 'blue', T3))
  t.strictSame([flipBack.switchPolicy, flipBack.drainUntil], [IMMEDIATE, {}], 'a plain flip back is immediate too')
  const weightsBack = setWeights(flipped, start.weights, T3)
  t.strictSame([weightsBack.switchPolicy, weightsBack.drainUntil], [IMMEDIATE, {}], 'and so are plain weights')
})

t.test('a color already at 0 keeps the window an earlier change gave it', async (t) => {
  const at = Date.parse(T2.at)
  const flipped = must(t, flipTo(start, 'green', T2, { mode: 'drain', drainSeconds: 300 }))
  const canary = setWeights(flipped, { blue: 0, green: 9000, red: 1000 }, T3)
  t.strictSame(canary.drainUntil, { blue: at + 300_000 }, 'blue stays at 0: its clients keep their promised window')
})

t.test('previous is the version just before; a rollback after target changes still undoes the last traffic shift', async (t) => {
  const canary = setWeights(start, { blue: 9000, green: 1000, red: 0 }, T1)
  const drained = setTargetMode(canary, 'blue', 'b1', 'draining', T2)
  const disabled = setTargetMode(drained, 'green', 'g1', 'disabled', T2)
  t.strictSame(core(drained.previous), core(canary), 'a target change: previous is the version before it')
  t.strictSame(core(disabled.previous), core(drained), 'and again')
  t.strictSame(core(rollbackTarget(disabled)), core(start), 'what a rollback restores: the settings before the canary')
  const back = must(t, rollback(disabled, T3))
  t.strictSame(back.weights, start.weights, 'the rollback undoes the canary, not a target change')
  t.strictSame(back.targets, { blue: { b1: 'draining' }, green: { g1: 'disabled' } }, 'target modes stay as they are')
  t.strictSame([back.previous?.version, back.rollbackTo], [disabled.version, undefined], 'the state rolled back from becomes previous')
  const again = must(t, rollback(back, T3))
  t.strictSame(again.weights, canary.weights, 'rolling back the rollback returns to the canary')
  const onlyTargets = setTargetMode(start, 'blue', 'b1', 'disabled', T1)
  t.strictSame(core(onlyTargets.previous), core(start), 'previous of a target change of the first state')
  const nothing = rollback(onlyTargets, T2)
  t.equal(nothing.ok ? 'ok' : nothing.error.code, 'NOTHING_TO_ROLL_BACK', 'no traffic shift yet: nothing to roll back')
  const shifted = setWeights(drained, { blue: 5000, green: 5000, red: 0 }, T3)
  t.equal(shifted.rollbackTo, undefined, 'a traffic change: rollback restores previous again')
  t.strictSame(core(rollbackTarget(shifted)), core(drained))
})

t.test('targetModeChanges names each target whose mode changed, from and to', async (t) => {
  const a = setTargetMode(start, 'blue', 'b1', 'draining', T1)
  const b = setTargetMode(a, 'blue', 'b1', 'disabled', T2)
  const c = setTargetMode(b, 'blue', 'b1', 'enabled', T3)
  t.strictSame(targetModeChanges(start, a), [{ color: 'blue', target: 'b1', from: 'enabled', to: 'draining' }])
  t.strictSame(targetModeChanges(a, b), [{ color: 'blue', target: 'b1', from: 'draining', to: 'disabled' }])
  t.strictSame(targetModeChanges(b, c), [{ color: 'blue', target: 'b1', from: 'disabled', to: 'enabled' }])
  t.strictSame(targetModeChanges(c, c), [], 'no change')
})
