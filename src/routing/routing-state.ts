/**
 * The routing state document and its transitions (set weights, flip, rollback). Every
 * transition is pure: it takes the current state and the change's metadata (who, why, when,
 * passed in) and returns the next state, or a problem. Versions only grow.
 */
import { err, ok, BUCKETS, type Problem, type Result } from './types.js'
import { weightOf, type BasisPoints } from './weights.js'

/** What sticky clients do when their color's weight drops to 0. */
export interface SwitchPolicy {
  readonly mode: 'immediate' | 'drain'
  readonly drainSeconds: number
}

/** Kinds of change; the `switches_total{kind}` metric labels by this fixed set. */
export type ChangeKind = 'init' | 'weights' | 'flip' | 'rollback'

/** The part of a state that a rollback restores. */
export interface RoutingSettings {
  readonly version: number
  readonly weights: BasisPoints
  readonly switchPolicy: SwitchPolicy
}

/** The versioned routing document every instance routes by. */
export interface RoutingState extends RoutingSettings {
  readonly colors: readonly string[]
  readonly previous: RoutingSettings | null
  readonly kind: ChangeKind
  readonly changedBy: string
  readonly reason: string
  readonly changedAt: string
}

/** Who made a change, why, and when (ISO 8601), supplied by the caller. */
export interface ChangeMeta {
  readonly changedBy: string
  readonly reason: string
  readonly at: string
}

/** One audit-log entry: a change with the settings before and after it. */
export interface HistoryEntry {
  readonly version: number
  readonly kind: ChangeKind
  readonly changedBy: string
  readonly reason: string
  readonly changedAt: string
  readonly before: RoutingSettings | null
  readonly after: RoutingSettings
}

/** The default switch policy. */
export const IMMEDIATE: SwitchPolicy = Object.freeze({ mode: 'immediate', drainSeconds: 0 })

function settingsOf (s: RoutingSettings): RoutingSettings {
  return { version: s.version, weights: s.weights, switchPolicy: s.switchPolicy }
}

/** The first state of an empty store (version 1). */
export function initialState (colors: readonly string[], weights: BasisPoints, meta: ChangeMeta): RoutingState {
  return { version: 1, colors, weights, switchPolicy: IMMEDIATE, previous: null, kind: 'init', changedBy: meta.changedBy, reason: meta.reason, changedAt: meta.at }
}

/** True when two weight tables route identically. */
export function sameWeights (colors: readonly string[], a: BasisPoints, b: BasisPoints): boolean {
  for (const c of colors) if (weightOf(a, c) !== weightOf(b, c)) return false
  return true
}

function next (state: RoutingState, weights: BasisPoints, switchPolicy: SwitchPolicy, kind: ChangeKind, meta: ChangeMeta, previous: RoutingSettings | null): RoutingState {
  return {
    version: state.version + 1,
    colors: state.colors,
    weights,
    switchPolicy,
    previous,
    kind,
    changedBy: meta.changedBy,
    reason: meta.reason,
    changedAt: meta.at
  }
}

/** Sets a validated weight table (see parseWeights). */
export function setWeights (state: RoutingState, weights: BasisPoints, meta: ChangeMeta, switchPolicy: SwitchPolicy = state.switchPolicy): RoutingState {
  return next(state, weights, switchPolicy, 'weights', meta, settingsOf(state))
}

/** Sends 100 % to one color. */
export function flipTo (state: RoutingState, color: string, meta: ChangeMeta, switchPolicy: SwitchPolicy = state.switchPolicy): Result<RoutingState, Problem> {
  if (!state.colors.includes(color)) {
    return err({ code: 'UNKNOWN_COLOR', message: `unknown color "${color}"; configured colors are ${state.colors.join(', ')}` })
  }
  const weights: Record<string, number> = {}
  for (const c of state.colors) weights[c] = c === color ? BUCKETS : 0
  return ok(next(state, weights, switchPolicy, 'flip', meta, settingsOf(state)))
}

/** Restores the settings before the last change; the state rolled back from becomes `previous`. */
export function rollback (state: RoutingState, meta: ChangeMeta): Result<RoutingState, Problem> {
  if (state.previous === null) {
    return err({ code: 'NOTHING_TO_ROLL_BACK', message: 'there is no earlier state to roll back to' })
  }
  return ok(next(state, state.previous.weights, state.previous.switchPolicy, 'rollback', meta, settingsOf(state)))
}

/** The audit entry for a transition from `before` (null for the first state) to `after`. */
export function historyEntry (before: RoutingState | null, after: RoutingState): HistoryEntry {
  return {
    version: after.version,
    kind: after.kind,
    changedBy: after.changedBy,
    reason: after.reason,
    changedAt: after.changedAt,
    before: before === null ? null : settingsOf(before),
    after: settingsOf(after)
  }
}

function checkWeights (weights: unknown, colors: readonly unknown[], where: string, problems: string[]): void {
  if (typeof weights !== 'object' || weights === null) {
    problems.push(`${where} must be an object`)
    return
  }
  let sum = 0
  for (const c of colors) {
    const w = Object.hasOwn(weights, String(c)) ? (weights as Record<string, unknown>)[String(c)] : undefined
    if (!Number.isInteger(w) || (w as number) < 0 || (w as number) > BUCKETS) problems.push(`${where}: weight of "${String(c)}" must be an integer 0..${BUCKETS}`)
    else sum += w as number
  }
  if (sum !== BUCKETS) problems.push(`${where} must sum to ${BUCKETS} basis points, got ${sum}`)
  for (const k of Object.keys(weights)) if (!colors.includes(k)) problems.push(`${where} name unknown color "${k}"`)
}

function checkPolicy (p: unknown, where: string, problems: string[]): void {
  const policy = p as Partial<SwitchPolicy> | null
  if (typeof policy !== 'object' || policy === null || (policy.mode !== 'immediate' && policy.mode !== 'drain') || !Number.isInteger(policy.drainSeconds)) problems.push(`${where} is malformed`)
}

/**
 * Checks a state read back from a store: integer version ≥ 1, weights integer basis points
 * for exactly `colors`, summing to BUCKETS, and the same of `previous` (what a rollback
 * would restore). Returns every problem found.
 */
export function checkStoredState (value: unknown): string[] {
  const problems: string[] = []
  if (typeof value !== 'object' || value === null) return ['state is not an object']
  const s = value as Partial<RoutingState>
  if (!Number.isSafeInteger(s.version) || (s.version as number) < 1) problems.push('version must be an integer ≥ 1')
  const colors: readonly unknown[] = Array.isArray(s.colors) ? s.colors : []
  const colorsOk = colors.length >= 1 && colors.every((c) => typeof c === 'string')
  if (!colorsOk) problems.push('colors must be a non-empty list of names')
  // Weights are judged against the colors, so only when there are colors to judge by.
  if (colorsOk) checkWeights(s.weights, colors, 'weights', problems)
  else if (typeof s.weights !== 'object' || s.weights === null) problems.push('weights must be an object')
  checkPolicy(s.switchPolicy, 'switchPolicy', problems)
  if (s.previous !== null) {
    const prev = s.previous as Partial<RoutingSettings> | undefined
    if (typeof prev !== 'object' || prev === null) {
      problems.push('previous must be an object or null')
    } else {
      if (!Number.isSafeInteger(prev.version) || (prev.version as number) < 1 || (prev.version as number) >= (s.version as number)) problems.push('previous.version must be an integer ≥ 1 below version')
      if (colorsOk) checkWeights(prev.weights, colors, 'previous.weights', problems)
      checkPolicy(prev.switchPolicy, 'previous.switchPolicy', problems)
    }
  }
  return problems
}
