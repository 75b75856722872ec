/**
 * The Store contract every state backend implements (file, memory, Redis). A store holds one
 * versioned routing document, its history, the cookie secret, and the heartbeats of the
 * instances routing by it. Writes are compare-and-set on the version, so no change is lost
 * and none is half-applied. A store that cannot be reached rejects with
 * SwitchyardError('SWY_ERR_STORE_UNAVAILABLE'); callers keep routing on what they have.
 */
import type { HistoryEntry, RoutingState } from '../routing/routing-state.js'
import type { Rollout, TrafficReport } from '../rollout/types.js'

/** The outcome of a compare-and-set. */
export type CasOutcome =
  | { readonly ok: true }
  | { readonly ok: false; readonly reason: 'conflict'; readonly current: RoutingState | null }

/** One instance's heartbeat: which version it routes by, since when. */
export interface InstanceInfo {
  readonly id: string
  readonly appliedVersion: number
  /** When it applied that version (ms since the epoch, its own clock). */
  readonly appliedAt: number
  /** When this heartbeat was written (ms since the epoch). */
  readonly at: number
  /** Its per-color traffic counters (absent from releases before rollouts, and from tests' fake beats). */
  readonly traffic?: TrafficReport
  /**
   * Its requests in flight per color and target id, sampled when the beat was written, with
   * `appliedVersion` (nonzero counts only: a target it does not name has none). Absent from
   * releases before multi-instance drains: those instances are "not reporting" (see
   * src/admin/drain-wait.ts for how a drain treats them).
   */
  readonly inFlight?: InFlightCounts
}

/** Requests in flight per color name and target id (nonzero counts only). */
export type InFlightCounts = Readonly<Record<string, Readonly<Record<string, number>>>>

/** The outcome of a rollout compare-and-set. */
export type RolloutCasOutcome =
  | { readonly ok: true }
  | { readonly ok: false; readonly reason: 'rollout-conflict'; readonly current: Rollout | null }
  | { readonly ok: false; readonly reason: 'state-conflict'; readonly current: RoutingState | null }

/**
 * One write of the rollout document: compare-and-set on its revision, and, atomically with
 * it, an optional routing change (compare-and-set on the state version) and history entries.
 * Either all of it is written or none.
 */
export interface RolloutWrite {
  /** The stored document's rev (0 when the store has never held one). */
  readonly expectedRev: number
  /** The new document; its rev is expectedRev + 1. */
  readonly rollout: Rollout
  /** A routing change written with it, if the stored state is at `expectedVersion`. */
  readonly change?: { readonly expectedVersion: number, readonly state: RoutingState, readonly entry: HistoryEntry }
  /** History entries (kind `rollout`, events that change no routing) appended after the change's own entry. */
  readonly events?: readonly HistoryEntry[]
}

/** Told of a state committed to the store. */
export type StateListener = (state: RoutingState) => void
/** Told when a state the store announced cannot be read (SWY_ERR_STORE_CORRUPT). */
export type StoreErrorListener = (error: Error) => void

/**
 * A state backend. Everything a store reads back is checked against the stored-state schema
 * (src/state/stored-state.ts): a value that fails answers SWY_ERR_STORE_CORRUPT listing its
 * problems, never a crash and never a routing change.
 */
export interface Store {
  /** Short name for logs and metrics: 'file', 'memory', 'redis'. */
  readonly kind: string
  /** True when several instances can share this store (the admin API then reports propagation). */
  readonly shared: boolean
  /** Connects (if the store has a connection). Rejects with SWY_ERR_STORE_UNAVAILABLE when unreachable. */
  connect(): Promise<void>
  /** The current state, or null when the store is empty. */
  load(): Promise<RoutingState | null>
  /**
   * Writes `next` (and its history entry) only if the stored version is `expectedVersion`
   * (0 for an empty store). Either everything is written or nothing. `from`, the writer's own
   * subscription listener, is not told of this write (the writer applies it itself).
   */
  compareAndSet(expectedVersion: number, next: RoutingState, entry: HistoryEntry, from?: StateListener): Promise<CasOutcome>
  /**
   * Puts a known state (and the secret) back into a store that lost it or holds an older
   * version; never lowers the stored version. Resolves true when it wrote.
   */
  reseed(state: RoutingState, secret: string, entry: HistoryEntry, from?: StateListener): Promise<boolean>
  /**
   * Calls `listener` with states committed after subscribing (a writer's own write may come
   * back too: listeners ignore versions they have). `onError` hears of an announced state
   * that cannot be read.
   */
  subscribe(listener: StateListener, onError?: StoreErrorListener): () => void
  /** Calls `listener` when the store becomes reachable (true) or unreachable (false). */
  onConnectivity(listener: (up: boolean) => void): () => void
  /** The newest history entries first, at most `limit`; one unreadable entry fails the read with SWY_ERR_STORE_CORRUPT naming it. */
  history(limit: number): Promise<readonly HistoryEntry[]>
  /** The deployment's cookie secret, created on first use and then stable. Never log it. */
  secret(): Promise<string>
  /** Calls `listener` after any instance's heartbeat is recorded (a hint to re-read instances(); may be lost). */
  onHeartbeat(listener: () => void): () => void
  /** Records this instance's heartbeat (expires after `ttlMs` unless renewed). */
  heartbeat(info: InstanceInfo, ttlMs: number): Promise<void>
  /** The live instances' latest heartbeats. */
  instances(): Promise<readonly InstanceInfo[]>
  /** The rollout document (the current or last rollout), or null when there has never been one. */
  loadRollout(): Promise<Rollout | null>
  /**
   * Writes a rollout document (and its routing change and events) if the stored rev is
   * `expectedRev` and, with a change, the stored state version is its `expectedVersion`.
   * A routing change is announced like a compareAndSet's (`from` is not told).
   */
  writeRollout(write: RolloutWrite, from?: StateListener): Promise<RolloutCasOutcome>
  /**
   * Takes the rollout driver lease for `holder`, or renews it if `holder` has it: true when
   * `holder` holds it for `ttlMs` from now (Redis: SET NX PX, renewed only by its holder).
   */
  acquireLease(holder: string, ttlMs: number): Promise<boolean>
  /** Who holds the driver lease now, or null. */
  leaseHolder(): Promise<string | null>
  /** Gives the lease up if `holder` holds it. */
  releaseLease(holder: string): Promise<void>
  /** Releases handles. */
  close(): Promise<void>
}

/** How many history entries a store keeps (a capped audit log). */
export const HISTORY_LIMIT = 1000
