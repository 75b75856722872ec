/**
 * Color reconciliation: a stored state meets the configured colors at start. Colors new in
 * the config join with weight 0, colors gone from it are dropped if they carry no traffic,
 * and a stored state that still sends traffic to a color the config dropped stops the start.
 */
import type { RoutingState } from '../routing/routing-state.js'
import type { Result } from '../routing/types.js'
import { weightOf } from '../routing/weights.js'

/**
 * Aligns a stored state with the configured colors (the same state when they match, else a
 * new version with nothing to roll back to); an error names the colors that still have traffic.
 */
export function reconcileColors (state: RoutingState, colors: readonly string[], now: Date): Result<RoutingState, string> {
  const same = state.colors.length === colors.length && state.colors.every((c, i) => c === colors[i])
  if (same) return { ok: true, value: state }
  const orphaned = state.colors.filter((c) => !colors.includes(c) && weightOf(state.weights, c) > 0)
  if (orphaned.length > 0) {
    return { ok: false, error: `the stored state (version ${state.version}) sends traffic to ${orphaned.map((c) => `"${c}" (${weightOf(state.weights, c) / 100} %)`).join(', ')}, which the config no longer lists; move that traffic first or restore the color in the config` }
  }
  const weights: Record<string, number> = {}
  for (const c of colors) weights[c] = weightOf(state.weights, c)
  const { rollbackTo: _dropped, pool, targets, ...kept } = state
  // The pool and the target modes of a dropped color go with it (a stored table may only name known colors).
  const only = <T>(table: Readonly<Record<string, T>> | undefined): Record<string, T> | undefined =>
    table === undefined ? undefined : Object.fromEntries(Object.entries(table).filter(([c]) => colors.includes(c)))
  const keptPool = only(pool)
  const keptModes = only(targets)
  return {
    ok: true,
    value: { ...kept, ...(keptPool === undefined ? {} : { pool: keptPool }), ...(keptModes === undefined ? {} : { targets: keptModes }), version: state.version + 1, colors, weights, previous: null, kind: 'weights', changedBy: 'switchyard', reason: `colors reconciled with config: ${colors.join(', ')}`, changedAt: now.toISOString() }
  }
}
