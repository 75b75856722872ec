/**
 * The switchboard owns this instance's view of the routing state: it seeds an empty store,
 * reconciles a stored state with the configured colors, runs every change as a
 * compare-and-set, and tells listeners (the proxy, metrics) about each new version so they
 * can compile a snapshot and swap one reference.
 */
import { SwitchyardError, type ErrorCode } from '../errors.js'
import {
  historyEntry, initialState, sameWeights,
  type ChangeMeta, type RoutingState
} from '../routing/routing-state.js'
import type { Problem, Result } from '../routing/types.js'
import type { BasisPoints } from '../routing/weights.js'
import type { Store } from './store.js'

/** A change failed: a code from the error table and a specific message. */
export interface ChangeFailure {
  readonly code: ErrorCode
  readonly message: string
}

/** What a change did: the resulting state, and whether it is a new version. */
export interface ChangeSuccess {
  readonly state: RoutingState
  readonly changed: boolean
}

/** Builds the next state from the current one and the change's metadata (pure; see src/routing/routing-state.ts). */
export type Transition = (current: RoutingState, meta: ChangeMeta) => Result<RoutingState, Problem>

/** Listener for applied states. */
export type StateListener = (state: RoutingState, before: RoutingState | null) => void

const MAX_CAS_ATTEMPTS = 5

/** Holds the current state and serializes changes through the store. */
export class Switchboard {
  readonly #store: Store
  readonly #colors: readonly string[]
  readonly #initial: BasisPoints
  #state: RoutingState | undefined
  readonly #listeners: StateListener[] = []
  #unsubscribe: (() => void) | undefined

  constructor (store: Store, colors: readonly string[], initialWeights: BasisPoints) {
    this.#store = store
    this.#colors = colors
    this.#initial = initialWeights
  }

  /** The store behind this switchboard. */
  get store (): Store {
    return this.#store
  }

  /** The state this instance routes by. Throws before start(). */
  get state (): RoutingState {
    if (this.#state === undefined) throw new Error('switchboard not started')
    return this.#state
  }

  /** Registers a listener called after every applied state (and once, now, if started). */
  onApply (listener: StateListener): void {
    this.#listeners.push(listener)
    if (this.#state !== undefined) listener(this.#state, null)
  }

  /** Loads (or seeds) the state and follows the store's notifications. */
  async start (now: Date): Promise<RoutingState> {
    let state = await this.#store.load()
    if (state === null) {
      const seed = initialState(this.#colors, this.#initial, { changedBy: 'switchyard', reason: 'initial weights from config', at: now.toISOString() })
      const cas = await this.#store.compareAndSet(0, seed, historyEntry(null, seed))
      state = cas.ok ? seed : cas.current
      if (state === null) throw new SwitchyardError('SWY_ERR_INTERNAL', 'store reported a conflict on an empty state')
    } else {
      const reconciled = reconcileColors(state, this.#colors, now)
      if (!reconciled.ok) throw new SwitchyardError('SWY_ERR_CONFIG_INVALID', reconciled.error)
      if (reconciled.value !== state) {
        const cas = await this.#store.compareAndSet(state.version, reconciled.value, historyEntry(state, reconciled.value))
        state = cas.ok ? reconciled.value : (cas.current ?? state)
      }
    }
    this.#apply(state)
    this.#unsubscribe = this.#store.subscribe((s) => { this.#apply(s) })
    return state
  }

  /** Applies a state if it is newer than the current one. */
  #apply (state: RoutingState): void {
    const before = this.#state ?? null
    if (before !== null && state.version <= before.version) return
    this.#state = state
    for (const l of this.#listeners) l(state, before)
  }

  /**
   * Runs one change: builds the next state from the current one and compare-and-sets it.
   * With `expectedVersion` (If-Match) a stale base answers SWY_ERR_STATE_VERSION_CONFLICT;
   * without it, a lost race is retried on the fresh state. A change that routes exactly like
   * the current state is not written (no new version, nothing to roll back to).
   */
  async change (transition: Transition, meta: ChangeMeta, expectedVersion?: number): Promise<Result<ChangeSuccess, ChangeFailure>> {
    for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
      const base = this.state
      if (expectedVersion !== undefined && expectedVersion !== base.version) {
        return { ok: false, error: conflict(expectedVersion, base.version) }
      }
      const next = transition(base, meta)
      if (!next.ok) return { ok: false, error: { code: `SWY_ERR_${next.error.code}`, message: next.error.message } }
      if (next.value.kind !== 'rollback' && sameWeights(base.colors, base.weights, next.value.weights) &&
          base.switchPolicy.mode === next.value.switchPolicy.mode && base.switchPolicy.drainSeconds === next.value.switchPolicy.drainSeconds) {
        return { ok: true, value: { state: base, changed: false } }
      }
      const stamped = next.value
      const cas = await this.#store.compareAndSet(base.version, stamped, historyEntry(base, stamped))
      if (cas.ok) {
        this.#apply(stamped)
        return { ok: true, value: { state: stamped, changed: true } }
      }
      if (cas.current !== null) this.#apply(cas.current)
      if (expectedVersion !== undefined) return { ok: false, error: conflict(expectedVersion, cas.current?.version ?? 0) }
    }
    return { ok: false, error: { code: 'SWY_ERR_STATE_VERSION_CONFLICT', message: 'the state kept changing under this write; try again' } }
  }

  /** Stops following the store (does not close it). */
  stop (): void {
    this.#unsubscribe?.()
  }
}

function conflict (expected: number, current: number): ChangeFailure {
  return { code: 'SWY_ERR_STATE_VERSION_CONFLICT', message: `If-Match names version ${expected}, but the state is at version ${current}` }
}

/**
 * Aligns a stored state with the configured colors: colors new in the config join with
 * weight 0, colors gone from it are dropped if they carry no traffic. A stored state that
 * sends traffic to a color the config no longer has stops the start (listing them).
 */
export function reconcileColors (state: RoutingState, colors: readonly string[], now: Date): Result<RoutingState, string> {
  const same = state.colors.length === colors.length && state.colors.every((c, i) => c === colors[i])
  if (same) return { ok: true, value: state }
  const orphaned = state.colors.filter((c) => !colors.includes(c) && (state.weights[c] ?? 0) > 0)
  if (orphaned.length > 0) {
    return { ok: false, error: `the stored state (version ${state.version}) sends traffic to ${orphaned.map((c) => `"${c}" (${(state.weights[c] ?? 0) / 100} %)`).join(', ')}, which the config no longer lists; move that traffic first or restore the color in the config` }
  }
  const weights: Record<string, number> = {}
  for (const c of colors) weights[c] = state.weights[c] ?? 0
  return {
    ok: true,
    value: { ...state, version: state.version + 1, colors, weights, previous: null, kind: 'weights', changedBy: 'switchyard', reason: `colors reconciled with config: ${colors.join(', ')}`, changedAt: now.toISOString() }
  }
}
