/**
 * The Store contract every state backend implements (file, memory, later Redis). A store
 * holds one versioned routing document, its history, and the cookie secret. Writes are
 * compare-and-set on the version, so no change is lost and none is half-applied.
 */
import type { HistoryEntry, RoutingState } from '../routing/routing-state.js'

/** The outcome of a compare-and-set. */
export type CasOutcome =
  | { readonly ok: true }
  | { readonly ok: false; readonly reason: 'conflict'; readonly current: RoutingState | null }

/** A state backend. Unreachable backends reject with SwitchyardError('SWY_ERR_STORE_UNAVAILABLE'). */
export interface Store {
  /** Short name for logs and metrics: 'file', 'memory', 'redis'. */
  readonly kind: string
  /** The current state, or null when the store is empty. */
  load(): Promise<RoutingState | null>
  /**
   * Writes `next` (and its history entry) only if the stored version is `expectedVersion`
   * (0 for an empty store). Either everything is written or nothing.
   */
  compareAndSet(expectedVersion: number, next: RoutingState, entry: HistoryEntry): Promise<CasOutcome>
  /** Calls `listener` with every state committed after subscribing; returns an unsubscribe function. */
  subscribe(listener: (state: RoutingState) => void): () => void
  /** The newest history entries first, at most `limit`. */
  history(limit: number): Promise<readonly HistoryEntry[]>
  /** The deployment's cookie secret, created on first use and then stable. Never log it. */
  secret(): Promise<string>
  /** Releases handles. */
  close(): Promise<void>
}

/** How many history entries a store keeps (a capped audit log). */
export const HISTORY_LIMIT = 1000
