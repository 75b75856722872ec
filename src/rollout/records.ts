/**
 * How a rollout is written down: the routing change of a step (kind `rollout`, switch policy
 * immediate, the step in the history entry) and the history entries of events that change no
 * routing (a pause, an approval, a verdict). Pure.
 */
import { historyEntry, IMMEDIATE, sameWeights, setWeights, type ChangeMeta, type HistoryEntry, settingsOf, type RolloutEvent, type RoutingState } from '../routing/routing-state.js'
import type { BasisPoints } from '../routing/weights.js'
import type { RolloutWrite } from '../state/store.js'
import type { Rollout } from './types.js'

/** Who a rollout's own changes are recorded as: the rollout, on behalf of the operator who started it. */
export function rolloutActor (r: Pick<Rollout, 'id' | 'startedBy'>): string {
  return `rollout:${r.id} (${r.startedBy})`
}

/** A routing change to `weights` (immediate), or undefined when the state already routes so. */
export function weightsChange (state: RoutingState, weights: BasisPoints, meta: ChangeMeta, event: RolloutEvent): RolloutWrite['change'] {
  if (sameWeights(state.colors, state.weights, weights) && state.switchPolicy.mode === 'immediate') return undefined
  const next: RoutingState = { ...setWeights(state, weights, meta, IMMEDIATE), kind: 'rollout' }
  const entry: HistoryEntry = { ...historyEntry(state, next), rollout: event }
  return { expectedVersion: state.version, state: next, entry }
}

/** A history entry for an event that changes no routing (recorded at the current version). */
export function eventEntry (state: RoutingState, meta: ChangeMeta, event: RolloutEvent): HistoryEntry {
  const s = settingsOf(state)
  return { version: state.version, kind: 'rollout', changedBy: meta.changedBy, reason: meta.reason, changedAt: meta.at, before: s, after: s, rollout: event }
}

/** The percent text of a step for reasons: `green 25 %`. */
export function stepText (r: Pick<Rollout, 'to' | 'steps'>, index: number): string {
  return `step ${index + 1}/${r.steps.length}: ${r.to} ${r.steps[index]?.weight ?? '?'} %`
}

/** Minimal logger for audit lines. */
export interface AuditLog {
  info (obj: object, msg: string): void
}

/** One audit line per rollout event a write records (its routing change is logged by every instance as it applies it). */
export function auditRolloutWrite (log: AuditLog, write: RolloutWrite): void {
  for (const e of write.events ?? []) {
    log.info({ audit: { version: e.version, kind: e.kind, changedBy: e.changedBy, reason: e.reason, rollout: e.rollout } }, 'rollout event')
  }
}
