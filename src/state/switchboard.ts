/**
 * The switchboard owns this instance's view of the routing state: the facade the admin API
 * and src/app.ts use. It joins four parts, one concept each:
 * - CurrentState (current-state.ts): the state this instance routes by, and change();
 * - StoreSync (store-sync.ts): start, seeding, re-reads, re-seeds, heartbeats, the secret,
 *   connectivity, and fail-static when the store is down or unreadable;
 * - PropagationWatch (propagation.ts): which instances route by a version, and `?wait`;
 * - reconcileColors (reconcile-colors.ts): a stored state meeting the configured colors.
 */
import type { ChangeMeta, RoutingState } from '../routing/routing-state.js'
import type { Result } from '../routing/types.js'
import { CurrentState, type AwaitedStateListener, type ChangeFailure, type ChangeSuccess, type StateListener, type Transition } from './current-state.js'
import { PropagationWatch, type Propagation } from './propagation.js'
import type { RolloutCasOutcome, RolloutWrite, Store } from './store.js'
import { StoreSync, type StoreSyncOptions } from './store-sync.js'

export type { AwaitedStateListener, ChangeFailure, ChangeSuccess, StateListener, Transition } from './current-state.js'
export type { Propagation } from './propagation.js'
export type { SwitchboardLog } from './store-sync.js'
export { reconcileColors } from './reconcile-colors.js'

/** How the switchboard runs: the store sync's options, and how `?wait` re-checks. */
export interface SwitchboardOptions extends StoreSyncOptions {
  /** How often a `?wait` re-checks when no heartbeat message arrives (default RECHECK_MS). */
  readonly waitRecheckMs?: number
}

/** Holds the current state and serializes changes through the store. */
export class Switchboard {
  readonly #store: Store
  readonly #instanceId: string
  readonly #current = new CurrentState()
  readonly #sync: StoreSync
  readonly #propagation: PropagationWatch

  constructor (options: SwitchboardOptions) {
    this.#store = options.store
    this.#instanceId = options.instanceId
    this.#sync = new StoreSync(options, this.#current)
    this.#propagation = new PropagationWatch(options.store, options.instanceId, this.#current, options.waitRecheckMs)
  }

  /** The store behind this switchboard. */
  get store (): Store { return this.#store }

  /** This instance's id in heartbeats. */
  get instanceId (): string { return this.#instanceId }

  /** Whether the store answered last time it was asked. */
  get storeUp (): boolean { return this.#sync.storeUp }

  /** Why the store's content cannot be used (SWY_ERR_STORE_CORRUPT), while it cannot; routing continues on the last good state. */
  get storeProblem (): string | undefined { return this.#sync.problem }

  /** The cookie secret (shared through the store). Never log it. */
  get secret (): string { return this.#sync.secret }

  /** The state this instance routes by. Throws before start(). */
  get state (): RoutingState { return this.#current.state }

  /** Registers a listener called after every applied state (and once, now, if started). */
  onApply (listener: StateListener): void { this.#current.onApply(listener) }

  /**
   * Registers a listener that applies each state elsewhere too (the cluster's workers): the
   * instance reports a version as applied (heartbeats, `?wait`, GET /instances) only once its
   * promise resolved.
   */
  onApplyAwaited (listener: AwaitedStateListener): void { this.#current.onApplyAwaited(listener) }

  /** Registers a listener for a changed cookie secret (another instance's won a re-seed). */
  onSecret (listener: (secret: string) => void): void { this.#sync.onSecret(listener) }

  /** Registers a listener for store connectivity. */
  onConnectivity (listener: (up: boolean) => void): void { this.#sync.onConnectivity(listener) }

  /** Loads (or seeds) the state, then follows the store. */
  start (now: Date): Promise<RoutingState> { return this.#sync.start(now) }

  /** Re-reads the store (adopt a newer state, or re-seed an empty or older store). */
  resync (): Promise<void> { return this.#sync.resync() }

  /** Runs one change as a compare-and-set (see CurrentState.change). */
  change (transition: Transition, meta: ChangeMeta, expectedVersion?: number): Promise<Result<ChangeSuccess, ChangeFailure>> {
    return this.#current.change(this.#sync, transition, meta, expectedVersion)
  }

  /** Writes a rollout document and its routing change as one compare-and-set (see StoreSync.commitRollout). */
  writeRollout (write: RolloutWrite): Promise<RolloutCasOutcome | ChangeFailure> {
    return this.#sync.commitRollout(write)
  }

  /** When this instance applied the state it routes by (precise ms since the epoch). */
  get appliedAt (): number { return this.#current.appliedAt }

  /** Which live instances have applied `version` (this one counts even before its heartbeat lands). */
  propagation (version: number): Promise<Propagation> { return this.#propagation.propagation(version) }

  /** Resolves when every live instance has applied `version`, or `timeoutMs` passes. */
  waitFor (version: number, timeoutMs: number, recheckMs?: number): Promise<Propagation> {
    return this.#propagation.waitFor(version, timeoutMs, recheckMs)
  }

  /** Stops following the store and the timers (does not close the store). */
  stop (): Promise<void> { return this.#sync.stop() }
}
