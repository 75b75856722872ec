/**
 * How the routing state and history look at the API: weights as percentages in color
 * order, never basis points, and nothing secret (the store's secret is not in the state).
 */
import { rollbackTarget, type HistoryEntry, type RoutingSettings, type RoutingState } from '../routing/routing-state.js'
import { weightsToPercent } from '../routing/weights.js'

function settingsView (colors: readonly string[], s: RoutingSettings): Record<string, unknown> {
  return { version: s.version, weights: weightsToPercent(colors, s.weights), switchPolicy: s.switchPolicy, targets: s.targets ?? {}, ...(s.pool === undefined ? {} : { pool: s.pool }) }
}

/** The body of GET /state and of every write's answer. */
export function stateView (state: RoutingState, storeKind: string): Record<string, unknown> {
  return {
    version: state.version,
    colors: state.colors,
    weights: weightsToPercent(state.colors, state.weights),
    switchPolicy: state.switchPolicy,
    targets: state.targets ?? {},
    // Each color's targets (absent: the config's, as a state of an earlier release has no pool).
    ...(state.pool === undefined ? {} : { pool: state.pool }),
    drainUntil: Object.fromEntries(Object.entries(state.drainUntil ?? {}).map(([c, ms]) => [c, new Date(ms).toISOString()])),
    previous: state.previous === null ? null : settingsView(state.colors, state.previous),
    // What POST /rollback restores: `previous`, unless target changes came after the last traffic shift.
    rollbackTo: ((r) => r === null ? null : settingsView(state.colors, r))(rollbackTarget(state)),
    kind: state.kind,
    changedBy: state.changedBy,
    reason: state.reason,
    changedAt: state.changedAt,
    store: storeKind
  }
}

/** One history entry at the API. */
export function historyView (colors: readonly string[], e: HistoryEntry): Record<string, unknown> {
  return {
    version: e.version,
    kind: e.kind,
    changedBy: e.changedBy,
    reason: e.reason,
    changedAt: e.changedAt,
    before: e.before === null ? null : settingsView(colors, e.before),
    after: settingsView(colors, e.after),
    ...(e.rollout === undefined ? {} : { rollout: e.rollout })
  }
}
