/**
 * The routing state document and its transitions (set weights, flip, rollback, target
 * modes). Every transition is pure: it takes the current state and the change's metadata
 * (who, why, when, passed in) and returns the next state, or a problem. Versions only grow.
 *
 * A switch policy applies to the change that names it: a change that names none (a rollback,
 * an emergency flip) is immediate, so a drain window given to a release flip is never
 * inherited by the change that undoes it. A color already at 0 keeps the window an earlier
 * change gave it (that promise was made to its clients); a color that gets weight loses it.
 *
 * Drain windows are computed at write time: when a change under the `drain` policy takes a
 * color from some weight to 0, `drainUntil[color]` is set to the change time plus the
 * policy's seconds; a color that gets weight again loses its window. A request then needs
 * one comparison, not a look at the history.
 */
import { addProblem, findInPool, fullPool, samePool, type Pool, type PoolTarget } from './pool.js'
import { err, ok, BUCKETS, type Problem, type Result } from './types.js'
import { weightOf, type BasisPoints } from './weights.js'

/** What sticky clients do when their color's weight drops to 0. */
export interface SwitchPolicy {
  readonly mode: 'immediate' | 'drain'
  readonly drainSeconds: number
}

/** Kinds of change; the `switches_total{kind}` metric labels by this fixed set. */
export type ChangeKind = 'init' | 'weights' | 'flip' | 'rollback' | 'target' | 'rollout'

/** A target's administrative mode; `enabled` is the default and is not stored. */
export type TargetMode = 'enabled' | 'draining' | 'disabled'

/** Non-default target modes per color and target id. */
export type TargetModes = Readonly<Record<string, Readonly<Record<string, 'draining' | 'disabled'>>>>

/**
 * The settings a change is recorded with. A rollback restores `weights` (immediately);
 * target modes are shown for the audit trail but a rollback leaves them as they are (a
 * rollback undoes a traffic shift, it does not put a drained instance back).
 */
export interface RoutingSettings {
  readonly version: number
  readonly weights: BasisPoints
  readonly switchPolicy: SwitchPolicy
  readonly targets?: TargetModes
  /**
   * Each color's targets (see pool.ts). Absent (a state of a release before it), or a color
   * it does not name: the config's targets. A rollback leaves it as it is.
   */
  readonly pool?: Pool
}

/** The versioned routing document every instance routes by. */
export interface RoutingState extends RoutingSettings {
  readonly colors: readonly string[]
  /** The settings of the version just before this one (null for the first state). */
  readonly previous: RoutingSettings | null
  /**
   * What a rollback restores when it is not `previous`: a target change moves no traffic, so
   * it carries the settings the last traffic shift replaced here (null: there was none), and
   * a rollback after it still undoes that shift. Absent after a traffic change.
   */
  readonly rollbackTo?: RoutingSettings | null
  /** Per color of weight 0 under the drain policy: until when (ms since the epoch) its sticky clients may stay. */
  readonly drainUntil?: Readonly<Record<string, number>>
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
  /** For kind `rollout`: which rollout, what happened, at which step (and the verdict of an analysis). */
  readonly rollout?: RolloutEvent
}

/** What a history entry of kind `rollout` records. */
export interface RolloutEvent {
  readonly id: string
  readonly event: 'start' | 'step' | 'pause' | 'resume' | 'approve' | 'verdict' | 'promote' | 'abort' | 'rollback' | 'succeeded'
  readonly step: number
  readonly verdict?: 'pass' | 'fail' | 'inconclusive'
}

/** The default switch policy. */
export const IMMEDIATE: SwitchPolicy = Object.freeze({ mode: 'immediate', drainSeconds: 0 })

/** The settings part of a state (as `previous` and history entries record it). */
export function settingsOf (s: RoutingSettings): RoutingSettings {
  return { version: s.version, weights: s.weights, switchPolicy: s.switchPolicy, targets: s.targets ?? {}, ...(s.pool === undefined ? {} : { pool: s.pool }) }
}

/** The mode of one target (default `enabled`). */
export function targetMode (state: RoutingState, color: string, id: string): TargetMode {
  const modes = state.targets ?? {}
  const byColor = Object.hasOwn(modes, color) ? modes[color] as Readonly<Record<string, 'draining' | 'disabled'>> : undefined
  return byColor !== undefined && Object.hasOwn(byColor, id) ? byColor[id] as 'draining' | 'disabled' : 'enabled'
}

function sameModes (a: TargetModes | undefined, b: TargetModes | undefined): boolean {
  return JSON.stringify(normalizeModes(a)) === JSON.stringify(normalizeModes(b))
}

function normalizeModes (m: TargetModes | undefined): Array<[string, string, string]> {
  const out: Array<[string, string, string]> = []
  for (const [c, ids] of Object.entries(m ?? {})) for (const [id, mode] of Object.entries(ids)) out.push([c, id, mode])
  return out.sort((x, y) => (x[0] + '\0' + x[1]).localeCompare(y[0] + '\0' + y[1]))
}

/** True when two states route identically (weights, switch policy, target modes, pool). */
export function sameRouting (a: RoutingState, b: RoutingState): boolean {
  return sameWeights(a.colors, a.weights, b.weights) &&
    a.switchPolicy.mode === b.switchPolicy.mode && a.switchPolicy.drainSeconds === b.switchPolicy.drainSeconds &&
    sameModes(a.targets, b.targets) && samePool(a.pool, b.pool)
}

function drainWindows (state: RoutingState, weights: BasisPoints, policy: SwitchPolicy, at: string): Readonly<Record<string, number>> {
  const out: Record<string, number> = {}
  const when = Date.parse(at)
  for (const c of state.colors) {
    if (weightOf(weights, c) > 0) continue
    const kept = state.drainUntil !== undefined && Object.hasOwn(state.drainUntil, c) ? state.drainUntil[c] as number : 0
    if (weightOf(state.weights, c) > 0 && policy.mode === 'drain' && policy.drainSeconds > 0) out[c] = when + policy.drainSeconds * 1000
    else if (kept > 0) out[c] = kept
  }
  return out
}

/** The first state of an empty store (version 1), with the config's targets as its pool when given. */
export function initialState (colors: readonly string[], weights: BasisPoints, meta: ChangeMeta, pool?: Pool): RoutingState {
  return { version: 1, colors, weights, switchPolicy: IMMEDIATE, ...(pool === undefined ? {} : { pool: fullPool(colors, undefined, pool) }), previous: null, kind: 'init', changedBy: meta.changedBy, reason: meta.reason, changedAt: meta.at }
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
    targets: state.targets ?? {},
    ...(state.pool === undefined ? {} : { pool: state.pool }),
    drainUntil: drainWindows(state, weights, switchPolicy, meta.at),
    previous,
    kind,
    changedBy: meta.changedBy,
    reason: meta.reason,
    changedAt: meta.at
  }
}

/** Sets a validated weight table (see parseWeights), under `switchPolicy` (default immediate, never the current one). */
export function setWeights (state: RoutingState, weights: BasisPoints, meta: ChangeMeta, switchPolicy: SwitchPolicy = IMMEDIATE): RoutingState {
  return next(state, weights, switchPolicy, 'weights', meta, settingsOf(state))
}

/** Sends 100 % to one color, under `switchPolicy` (default immediate, never the current one). */
export function flipTo (state: RoutingState, color: string, meta: ChangeMeta, switchPolicy: SwitchPolicy = IMMEDIATE): Result<RoutingState, Problem> {
  if (!state.colors.includes(color)) return err(unknownColor(state, color))
  const weights: Record<string, number> = {}
  for (const c of state.colors) weights[c] = c === color ? BUCKETS : 0
  return ok(next(state, weights, switchPolicy, 'flip', meta, settingsOf(state)))
}

/**
 * Sets one target's mode (the caller checks that the color and target exist). Moves no
 * traffic, so a rollback after it still undoes the last traffic shift (see `rollbackTo`).
 */
export function setTargetMode (state: RoutingState, color: string, id: string, mode: TargetMode, meta: ChangeMeta): RoutingState {
  return targetChange(state, withMode(state.targets, color, id, mode), state.pool, meta)
}

function withMode (targets: TargetModes | undefined, color: string, id: string, mode: TargetMode): TargetModes {
  const modes: Record<string, Record<string, 'draining' | 'disabled'>> = {}
  for (const [c, ids] of Object.entries(targets ?? {})) modes[c] = { ...ids }
  const byColor = modes[color] ?? {}
  if (mode === 'enabled') delete byColor[id]
  else byColor[id] = mode
  if (Object.keys(byColor).length > 0) modes[color] = byColor
  else delete modes[color]
  return modes
}

/** A change of target modes or pool: moves no traffic; `previous` is the version just before, and a rollback still undoes the last traffic shift. */
function targetChange (state: RoutingState, modes: TargetModes, pool: Pool | undefined, meta: ChangeMeta): RoutingState {
  const base = next(state, state.weights, state.switchPolicy, 'target', meta, settingsOf(state))
  return { ...base, targets: modes, ...(pool === undefined ? {} : { pool }), rollbackTo: rollbackTarget(state) }
}

function unknownColor (state: RoutingState, color: string): Problem {
  return { code: 'UNKNOWN_COLOR', message: `unknown color "${color}"; configured colors are ${state.colors.join(', ')}` }
}

/**
 * Adds a target to a color's pool (`fallback`: the config's targets, for colors the state's
 * pool does not name yet; the new pool names every color). Its id and origin must be new in
 * that color. `disabled` adds it without traffic (a target mode like any other).
 */
export function addTarget (state: RoutingState, fallback: Pool, color: string, target: PoolTarget, mode: 'enabled' | 'disabled', meta: ChangeMeta): Result<RoutingState, Problem> {
  if (!state.colors.includes(color)) return err(unknownColor(state, color))
  const pool = fullPool(state.colors, state.pool, fallback)
  const list = pool[color] as readonly PoolTarget[]
  const problem = addProblem(color, list, target)
  if (problem !== undefined) return err(problem)
  return ok(targetChange(state, withMode(state.targets, color, target.id, mode), { ...pool, [color]: [...list, { id: target.id, url: target.url }] }, meta))
}

/**
 * Removes a target (by id or URL) from a color's pool, and its mode with it. Each instance
 * then stops giving it requests and drops it once those in flight have finished.
 */
export function removeTarget (state: RoutingState, fallback: Pool, color: string, idOrUrl: string, meta: ChangeMeta): Result<RoutingState, Problem> {
  if (!state.colors.includes(color)) return err(unknownColor(state, color))
  const pool = fullPool(state.colors, state.pool, fallback)
  const list = pool[color] as readonly PoolTarget[]
  const gone = findInPool(list, idOrUrl)
  if (gone === undefined) return err({ code: 'UNKNOWN_TARGET', message: `color "${color}" has no target "${idOrUrl}" in its pool (use its id or URL; see GET /targets)` })
  return ok(targetChange(state, withMode(state.targets, color, gone.id, 'enabled'), { ...pool, [color]: list.filter((t) => t !== gone) }, meta))
}

/** The settings a rollback of `state` restores (null: nothing to roll back to). */
export function rollbackTarget (state: RoutingState): RoutingSettings | null {
  return state.rollbackTo !== undefined ? state.rollbackTo : state.previous
}

/** One target whose mode a change set. */
export interface TargetModeChange {
  readonly color: string
  readonly target: string
  readonly from: TargetMode
  readonly to: TargetMode
}

/** The targets whose mode differs between two states (for the audit line of a target change). */
export function targetModeChanges (before: RoutingState, after: RoutingState): TargetModeChange[] {
  const out: TargetModeChange[] = []
  const seen = new Set<string>()
  for (const s of [before, after]) {
    for (const [color, ids] of Object.entries(s.targets ?? {})) {
      for (const target of Object.keys(ids)) {
        const key = `${color}\0${target}`
        if (seen.has(key)) continue
        seen.add(key)
        const from = targetMode(before, color, target)
        const to = targetMode(after, color, target)
        if (from !== to) out.push({ color, target, from, to })
      }
    }
  }
  return out
}

/**
 * Restores the weights before the last change, at once (a rollback is an emergency: it never
 * takes over the drain window of the change it undoes); the state rolled back from becomes `previous`.
 */
export function rollback (state: RoutingState, meta: ChangeMeta): Result<RoutingState, Problem> {
  const to = rollbackTarget(state)
  if (to === null) {
    return err({ code: 'NOTHING_TO_ROLL_BACK', message: 'there is no earlier state to roll back to' })
  }
  return ok(next(state, to.weights, IMMEDIATE, 'rollback', meta, settingsOf(state)))
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
