/**
 * The state this instance routes by, and every change to it. A change builds the next
 * state from the current one (a pure transition) and commits it as a compare-and-set
 * through the store sync; an applied state goes to the listeners (the proxy compiles a
 * snapshot, metrics count it) exactly once, whichever way it arrived: this instance's own
 * write, a store notification, or a re-read.
 */
import { PROBLEM_ERRORS, type ErrorCode } from '../errors.js'
import { historyEntry, sameRouting, type ChangeMeta, type HistoryEntry, type RoutingState } from '../routing/routing-state.js'
import type { Problem, Result } from '../routing/types.js'
import type { CasOutcome } from './store.js'

/** A change failed: a code from the error table and a specific message. */
export interface ChangeFailure {
  readonly code: ErrorCode
  readonly message: string
}

/** What a change did: the resulting state, and whether it is a new version. */
export interface ChangeSuccess {
  readonly state: RoutingState
  readonly changed: boolean
  /** When the store accepted it (ms since the epoch), for propagation figures. */
  readonly committedAt: number
}

/** Builds the next state from the current one and the change's metadata (pure; see src/routing/routing-state.ts). */
export type Transition = (current: RoutingState, meta: ChangeMeta) => Result<RoutingState, Problem>

/** Listener for applied states. */
export type StateListener = (state: RoutingState, before: RoutingState | null) => void

/**
 * A listener that applies the state elsewhere too (the cluster's workers, src/cluster/): its
 * promise resolves when it is applied there, and until every such promise resolves the
 * instance does not count the version as applied (appliedVersion).
 */
export type AwaitedStateListener = (state: RoutingState, before: RoutingState | null) => Promise<void>

/** Where a change is committed (the store sync): a store that failed answers a ChangeFailure. */
export interface ChangeCommitter {
  commit (expectedVersion: number, next: RoutingState, entry: HistoryEntry): Promise<CasOutcome | ChangeFailure>
}

const MAX_CAS_ATTEMPTS = 5

/** Wall-clock ms with sub-ms precision (comparable across processes on one host). */
export function preciseNow (): number {
  return performance.timeOrigin + performance.now()
}

function conflict (expected: number, current: number): ChangeFailure {
  return { code: 'SWY_ERR_STATE_VERSION_CONFLICT', message: `If-Match names version ${expected}, but the state is at version ${current}` }
}

/** Holds the applied state; versions only grow. */
export class CurrentState {
  #state: RoutingState | undefined
  #appliedAt = 0
  #appliedVersion = 0
  readonly #listeners: Array<StateListener | AwaitedStateListener> = []
  readonly #awaited = new Set<AwaitedStateListener>()
  readonly #confirmListeners: Array<(initial: boolean) => void> = []

  /** The state this instance routes by. Throws before the first apply. */
  get state (): RoutingState {
    if (this.#state === undefined) throw new Error('switchboard not started')
    return this.#state
  }

  /** The state, or undefined before the first apply. */
  get maybe (): RoutingState | undefined { return this.#state }

  /** When the version this instance reports as applied was applied everywhere it routes (precise ms since the epoch). */
  get appliedAt (): number { return this.#appliedAt }

  /**
   * The version this instance has applied everywhere it routes: the current one, or, while
   * a listener is still applying a newer one elsewhere (the cluster's workers), the last
   * one they all confirmed. Heartbeats and `?wait` report this.
   */
  get appliedVersion (): number { return this.#appliedVersion }

  /** Registers a listener called after every applied state (and once, now, if there is one). */
  onApply (listener: StateListener): void {
    this.#listeners.push(listener)
    if (this.#state !== undefined) listener(this.#state, null)
  }

  /** Registers an awaited listener (see AwaitedStateListener), called like onApply's. */
  onApplyAwaited (listener: AwaitedStateListener): void {
    this.#listeners.push(listener)
    this.#awaited.add(listener)
    if (this.#state !== undefined) void listener(this.#state, null)
  }

  /** Registers a listener called when appliedVersion moves (`initial`: the first state applied). */
  onConfirmed (listener: (initial: boolean) => void): void {
    this.#confirmListeners.push(listener)
  }

  /** Applies `state` if it is newer than the current one; true when it did. */
  apply (state: RoutingState): boolean {
    const before = this.#state ?? null
    if (before !== null && state.version <= before.version) return false
    this.#state = state
    const pending: Array<Promise<void>> = []
    for (const l of this.#listeners) {
      const applied = l(state, before)
      if (this.#awaited.has(l as AwaitedStateListener)) pending.push(applied as Promise<void>)
    }
    if (pending.length === 0) this.#confirm(state.version)
    else Promise.all(pending).then(() => { this.#confirm(state.version) }, () => {})
    return true
  }

  #confirm (version: number): void {
    if (version <= this.#appliedVersion) return
    const initial = this.#appliedVersion === 0
    this.#appliedVersion = version
    this.#appliedAt = preciseNow()
    for (const l of this.#confirmListeners) l(initial)
  }

  /**
   * Runs one change: builds the next state from the current one and commits it. With
   * `expectedVersion` (If-Match) a stale base answers SWY_ERR_STATE_VERSION_CONFLICT;
   * without it, a lost race is retried on the fresh state. A change that routes exactly like
   * the current state is not written (no new version, nothing to roll back to). A store
   * that is unreachable or unreadable answers its code and nothing is written.
   */
  async change (committer: ChangeCommitter, transition: Transition, meta: ChangeMeta, expectedVersion?: number): Promise<Result<ChangeSuccess, ChangeFailure>> {
    for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
      const base = this.state
      if (expectedVersion !== undefined && expectedVersion !== base.version) {
        return { ok: false, error: conflict(expectedVersion, base.version) }
      }
      const next = transition(base, meta)
      if (!next.ok) return { ok: false, error: { code: PROBLEM_ERRORS[next.error.code], message: next.error.message } }
      if (next.value.kind !== 'rollback' && sameRouting(base, next.value)) {
        return { ok: true, value: { state: base, changed: false, committedAt: Date.now() } }
      }
      const cas = await committer.commit(base.version, next.value, historyEntry(base, next.value))
      if ('code' in cas) return { ok: false, error: cas }
      if (cas.ok) {
        const committedAt = preciseNow()
        this.apply(next.value)
        return { ok: true, value: { state: next.value, changed: true, committedAt } }
      }
      if (cas.current !== null) this.apply(cas.current)
      if (expectedVersion !== undefined) return { ok: false, error: conflict(expectedVersion, cas.current?.version ?? 0) }
    }
    return { ok: false, error: { code: 'SWY_ERR_STATE_VERSION_CONFLICT', message: 'the state kept changing under this write; try again' } }
  }
}
