/**
 * The switchboard owns this instance's view of the routing state. It seeds an empty store,
 * reconciles a stored state with the configured colors, runs every change as a
 * compare-and-set, and tells listeners (the proxy, metrics) about each new version so they
 * compile a snapshot and swap one reference.
 *
 * Fail static: when the store is unreachable the last applied state keeps routing and
 * writes fail with SWY_ERR_STORE_UNAVAILABLE. On every reconnect, and on a slow timer, it
 * re-reads the store; a store that came back empty or older is re-seeded from this
 * instance's state (never lowering the version). An instance that starts while the store is
 * down starts from its last-known-state file, or refuses to start.
 */
import { SwitchyardError, type ErrorCode } from '../errors.js'
import {
  historyEntry, initialState, sameRouting,
  type ChangeMeta, type RoutingState
} from '../routing/routing-state.js'
import type { Problem, Result } from '../routing/types.js'
import { weightOf, type BasisPoints } from '../routing/weights.js'
import type { LastKnownFile } from './last-known.js'
import type { InstanceInfo, Store } from './store.js'

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

/** Minimal logger the switchboard reports through. */
export interface SwitchboardLog {
  info (obj: object, msg: string): void
  warn (obj: object, msg: string): void
}

/** How the switchboard runs. */
export interface SwitchboardOptions {
  readonly store: Store
  readonly colors: readonly string[]
  readonly initialWeights: BasisPoints
  readonly instanceId: string
  /** Heartbeat period; the heartbeat expires after instanceTtlMs. */
  readonly heartbeatMs?: number
  readonly instanceTtlMs?: number
  /** Periodic re-read of the store (0: off). */
  readonly resyncIntervalMs?: number
  /** Where a shared store's state is cached for starting while it is down. */
  readonly lastKnown?: LastKnownFile | undefined
  readonly log?: SwitchboardLog
}

/** Which live instances route by a version. */
export interface Propagation {
  readonly version: number
  readonly applied: readonly InstanceInfo[]
  readonly lagging: readonly InstanceInfo[]
}

const MAX_CAS_ATTEMPTS = 5

/** Wall-clock ms with sub-ms precision (comparable across processes on one host). */
function preciseNow (): number {
  return performance.timeOrigin + performance.now()
}
const SILENT: SwitchboardLog = { info () {}, warn () {} }

function storeDown (e: unknown): boolean {
  return e instanceof SwitchyardError && e.code === 'SWY_ERR_STORE_UNAVAILABLE'
}

/** Holds the current state and serializes changes through the store. */
export class Switchboard {
  readonly #o: SwitchboardOptions
  readonly #store: Store
  readonly #log: SwitchboardLog
  #state: RoutingState | undefined
  #appliedAt = 0
  #secret = ''
  #storeUp = false
  readonly #listeners: StateListener[] = []
  readonly #secretListeners: Array<(secret: string) => void> = []
  readonly #connectivityListeners: Array<(up: boolean) => void> = []
  readonly #cleanups: Array<() => void> = []
  #resyncing: Promise<void> | undefined

  constructor (options: SwitchboardOptions) {
    this.#o = options
    this.#store = options.store
    this.#log = options.log ?? SILENT
  }

  /** The store behind this switchboard. */
  get store (): Store { return this.#store }

  /** This instance's id in heartbeats. */
  get instanceId (): string { return this.#o.instanceId }

  /** Whether the store answered last time it was asked. */
  get storeUp (): boolean { return this.#storeUp }

  /** The cookie secret (shared through the store). Never log it. */
  get secret (): string { return this.#secret }

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

  /** Registers a listener for a changed cookie secret (another instance's won a re-seed). */
  onSecret (listener: (secret: string) => void): void {
    this.#secretListeners.push(listener)
  }

  /** Registers a listener for store connectivity. */
  onConnectivity (listener: (up: boolean) => void): void {
    this.#connectivityListeners.push(listener)
  }

  /** Loads (or seeds) the state, then follows the store. */
  async start (now: Date): Promise<RoutingState> {
    let state: RoutingState
    try {
      await this.#store.connect()
      state = await this.#loadOrSeed(now)
      this.#secret = await this.#store.secret()
      this.#storeUp = true
    } catch (e) {
      if (!storeDown(e)) throw e
      const saved = await this.#o.lastKnown?.read()
      if (saved === undefined) {
        throw new SwitchyardError('SWY_ERR_STORE_UNAVAILABLE', `${(e as Error).message}; and there is no last-known-state file${this.#o.lastKnown === undefined ? '' : ` at ${this.#o.lastKnown.path}`} to start from, so switchyard will not guess the routing`)
      }
      this.#log.warn({ version: saved.state.version, file: this.#o.lastKnown?.path }, 'store unreachable at start: routing by the last-known state until it returns')
      state = saved.state
      this.#secret = saved.secret
    }
    this.#apply(state)
    this.#cleanups.push(this.#store.subscribe((s) => { this.#apply(s) }))
    this.#cleanups.push(this.#store.onConnectivity((up) => { this.#connectivity(up) }))
    const beat = this.#o.heartbeatMs ?? 1000
    const timer = setInterval(() => { void this.#heartbeat() }, beat)
    timer.unref()
    this.#cleanups.push(() => { clearInterval(timer) })
    const every = this.#o.resyncIntervalMs ?? 0
    if (every > 0) {
      const resync = setInterval(() => { void this.resync() }, every)
      resync.unref()
      this.#cleanups.push(() => { clearInterval(resync) })
    }
    void this.#heartbeat()
    return state
  }

  async #loadOrSeed (now: Date): Promise<RoutingState> {
    const stored = await this.#store.load()
    if (stored === null) {
      const seed = initialState(this.#o.colors, this.#o.initialWeights, { changedBy: 'switchyard', reason: 'initial weights from config', at: now.toISOString() })
      const cas = await this.#store.compareAndSet(0, seed, historyEntry(null, seed))
      const state = cas.ok ? seed : cas.current
      if (state === null) throw new SwitchyardError('SWY_ERR_INTERNAL', 'store reported a conflict on an empty state')
      return state
    }
    const reconciled = reconcileColors(stored, this.#o.colors, now)
    if (!reconciled.ok) throw new SwitchyardError('SWY_ERR_CONFIG_INVALID', reconciled.error)
    if (reconciled.value === stored) return stored
    const cas = await this.#store.compareAndSet(stored.version, reconciled.value, historyEntry(stored, reconciled.value))
    return cas.ok ? reconciled.value : (cas.current ?? stored)
  }

  #connectivity (up: boolean): void {
    if (!up) this.#setStoreUp(false)
    else void this.resync()
  }

  #setStoreUp (up: boolean): void {
    if (this.#storeUp === up) return
    this.#storeUp = up
    this.#log[up ? 'info' : 'warn']({ store: this.#store.kind, version: this.#state?.version }, up ? 'store reachable again' : 'store unreachable: routing continues on the last state, writes are refused')
    for (const l of this.#connectivityListeners) l(up)
  }

  /**
   * Re-reads the store: adopts a newer state, or re-seeds a store that is empty or holds an
   * older version than this instance routes by. Concurrent calls share one run.
   */
  resync (): Promise<void> {
    this.#resyncing ??= this.#resync().finally(() => { this.#resyncing = undefined })
    return this.#resyncing
  }

  async #resync (): Promise<void> {
    const mine = this.#state
    if (mine === undefined) return
    try {
      const stored = await this.#store.load()
      if (stored === null || stored.version < mine.version) {
        const entry = historyEntry(stored, mine)
        if (await this.#store.reseed(mine, this.#secret, entry)) {
          this.#log.warn({ version: mine.version, found: stored?.version ?? null }, 'store held no or an older state: re-seeded it from this instance')
        }
      } else {
        this.#apply(stored)
      }
      const secret = await this.#store.secret()
      if (secret !== this.#secret) {
        this.#secret = secret
        for (const l of this.#secretListeners) l(secret)
      }
      this.#setStoreUp(true)
      void this.#heartbeat()
    } catch (e) {
      if (storeDown(e)) this.#setStoreUp(false)
      else this.#log.warn({ err: e }, 'store re-read failed')
    }
  }

  async #heartbeat (): Promise<void> {
    const state = this.#state
    if (state === undefined) return
    try {
      await this.#store.heartbeat({ id: this.#o.instanceId, appliedVersion: state.version, appliedAt: this.#appliedAt, at: Date.now() }, this.#o.instanceTtlMs ?? 5000)
    } catch (e) {
      if (storeDown(e)) this.#setStoreUp(false)
    }
  }

  /** Applies a state if it is newer than the current one. */
  #apply (state: RoutingState): void {
    const before = this.#state ?? null
    if (before !== null && state.version <= before.version) return
    this.#state = state
    this.#appliedAt = preciseNow()
    for (const l of this.#listeners) l(state, before)
    if (this.#secret !== '') this.#o.lastKnown?.save({ state, secret: this.#secret })
    if (before !== null) void this.#heartbeat()
  }

  /**
   * Runs one change: builds the next state from the current one and compare-and-sets it.
   * With `expectedVersion` (If-Match) a stale base answers SWY_ERR_STATE_VERSION_CONFLICT;
   * without it, a lost race is retried on the fresh state. A change that routes exactly like
   * the current state is not written (no new version, nothing to roll back to). An
   * unreachable store answers SWY_ERR_STORE_UNAVAILABLE and nothing is written.
   */
  async change (transition: Transition, meta: ChangeMeta, expectedVersion?: number): Promise<Result<ChangeSuccess, ChangeFailure>> {
    for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
      const base = this.state
      if (expectedVersion !== undefined && expectedVersion !== base.version) {
        return { ok: false, error: conflict(expectedVersion, base.version) }
      }
      const next = transition(base, meta)
      if (!next.ok) return { ok: false, error: { code: `SWY_ERR_${next.error.code}`, message: next.error.message } }
      if (next.value.kind !== 'rollback' && sameRouting(base, next.value)) {
        return { ok: true, value: { state: base, changed: false, committedAt: Date.now() } }
      }
      let cas
      try {
        cas = await this.#store.compareAndSet(base.version, next.value, historyEntry(base, next.value))
      } catch (e) {
        if (!storeDown(e)) throw e
        this.#setStoreUp(false)
        return { ok: false, error: { code: 'SWY_ERR_STORE_UNAVAILABLE', message: (e as Error).message } }
      }
      if (cas.ok) {
        const committedAt = preciseNow()
        this.#apply(next.value)
        return { ok: true, value: { state: next.value, changed: true, committedAt } }
      }
      if (cas.current !== null) this.#apply(cas.current)
      if (expectedVersion !== undefined) return { ok: false, error: conflict(expectedVersion, cas.current?.version ?? 0) }
    }
    return { ok: false, error: { code: 'SWY_ERR_STATE_VERSION_CONFLICT', message: 'the state kept changing under this write; try again' } }
  }

  /** Which live instances have applied `version` (this one counts even before its heartbeat lands). */
  async propagation (version: number): Promise<Propagation> {
    const live = await this.#store.instances()
    const id = this.#o.instanceId
    // This instance's own view replaces its heartbeat (which may lag by one beat), in place.
    const self = (beat?: InstanceInfo): InstanceInfo => ({ id, appliedVersion: this.state.version, appliedAt: this.#appliedAt, at: beat?.at ?? Date.now() })
    const all = live.some((i) => i.id === id) ? live.map((i) => (i.id === id ? self(i) : i)) : [...live, self()]
    const applied: InstanceInfo[] = []
    const lagging: InstanceInfo[] = []
    for (const i of all) (i.appliedVersion >= version ? applied : lagging).push(i)
    return { version, applied, lagging }
  }

  /** Polls until every live instance has applied `version`, or `timeoutMs` passes. */
  async waitFor (version: number, timeoutMs: number, pollMs = 5): Promise<Propagation> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const p = await this.propagation(version)
      if (p.lagging.length === 0 || Date.now() >= deadline) return p
      await new Promise((resolve) => setTimeout(resolve, Math.min(pollMs, Math.max(1, deadline - Date.now()))))
    }
  }

  /** Stops following the store and the timers (does not close the store). */
  async stop (): Promise<void> {
    for (const c of this.#cleanups.splice(0)) c()
    await this.#resyncing
    await this.#o.lastKnown?.flush()
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
  const orphaned = state.colors.filter((c) => !colors.includes(c) && weightOf(state.weights, c) > 0)
  if (orphaned.length > 0) {
    return { ok: false, error: `the stored state (version ${state.version}) sends traffic to ${orphaned.map((c) => `"${c}" (${weightOf(state.weights, c) / 100} %)`).join(', ')}, which the config no longer lists; move that traffic first or restore the color in the config` }
  }
  const weights: Record<string, number> = {}
  for (const c of colors) weights[c] = weightOf(state.weights, c)
  return {
    ok: true,
    value: { ...state, version: state.version + 1, colors, weights, previous: null, kind: 'weights', changedBy: 'switchyard', reason: `colors reconciled with config: ${colors.join(', ')}`, changedAt: now.toISOString() }
  }
}
