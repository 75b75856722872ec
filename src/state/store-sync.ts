/**
 * Keeps this instance and the store in step. At start it loads the stored state (seeding
 * an empty store, reconciling the colors with the config), or, with the store down, the
 * last-known-state file. Then it follows the store: notifications, a re-read on every
 * reconnect and on a slow timer, heartbeats, the cookie secret.
 *
 * Fail static: when the store is unreachable, or holds a value that fails the stored-state
 * schema, the last applied state keeps routing. Unreachable: writes fail with
 * SWY_ERR_STORE_UNAVAILABLE. Unreadable: writes fail with SWY_ERR_STORE_CORRUPT, one error
 * is logged and /readyz reports degraded with the reason, until a re-read succeeds. A store
 * that came back empty or older is re-seeded from this instance (never lowering the version).
 */
import { SwitchyardError } from '../errors.js'
import { historyEntry, initialState, type HistoryEntry, type RoutingState } from '../routing/routing-state.js'
import type { Pool } from '../routing/pool.js'
import type { BasisPoints } from '../routing/weights.js'
import type { TrafficReport } from '../rollout/types.js'
import type { ChangeCommitter, ChangeFailure, CurrentState } from './current-state.js'
import type { LastKnownFile } from './last-known.js'
import { reconcileColors } from './reconcile-colors.js'
import type { CasOutcome, InFlightCounts, InstanceInfo, RolloutCasOutcome, RolloutWrite, Store } from './store.js'

/** Minimal logger the switchboard reports through. */
export interface SwitchboardLog {
  info (obj: object, msg: string): void
  warn (obj: object, msg: string): void
  error (obj: object, msg: string): void
}

/**
 * This instance's requests in flight per target, for the heartbeat (multi-instance drains,
 * src/admin/drain-wait.ts). Both are read from a timer or a heartbeat, never on the data path.
 */
export interface InFlightSource {
  /** Nonzero in-flight counts per color and target id (app.ts's inFlightByTarget; summed over workers where there are workers). */
  byTarget (): InFlightCounts
  /**
   * The nonzero counts of the targets that take no new request here (draining, disabled,
   * retiring): published as they change. One pass over the pools, like byTarget.
   */
  closing (): InFlightCounts
}

/** How often the in-flight counts of closing targets are sampled for a change (ms). */
export const IN_FLIGHT_SAMPLE_MS = 50

/** How the sync runs. */
export interface StoreSyncOptions {
  readonly store: Store
  readonly colors: readonly string[]
  readonly initialWeights: BasisPoints
  /** The config's targets: the pool an empty store is seeded with (absent: the seed has no pool, as before it existed). */
  readonly initialPool?: Pool
  readonly instanceId: string
  /** Heartbeat period; the heartbeat expires after instanceTtlMs. */
  readonly heartbeatMs?: number
  readonly instanceTtlMs?: number
  /** This instance's per-color traffic counters, published with each heartbeat (for the rollout analysis). */
  readonly traffic?: () => TrafficReport
  /**
   * This instance's in-flight counts: published with every heartbeat, and by an extra beat
   * when a closing target's count changes (sampled every inFlightSampleMs), so a drain waiting
   * on another instance hears of the last request ending without waiting a heartbeat period.
   */
  readonly inFlight?: InFlightSource
  /** The sampling period of closing targets' counts (default IN_FLIGHT_SAMPLE_MS). */
  readonly inFlightSampleMs?: number
  /** Periodic re-read of the store (0: off). */
  readonly resyncIntervalMs?: number
  /** Where a shared store's state is cached for starting while it is down. */
  readonly lastKnown?: LastKnownFile | undefined
  readonly log?: SwitchboardLog
}

const SILENT: SwitchboardLog = { info () {}, warn () {}, error () {} }

/** Counts as one comparable string. */
function countsKey (counts: InFlightCounts): string {
  let out = ''
  for (const color in counts) {
    const byId = counts[color] as Readonly<Record<string, number>>
    for (const id in byId) out += `${color}\n${id}\n${String(byId[id])}\n`
  }
  return out
}

function hasCode (e: unknown, code: string): e is SwitchyardError {
  return e instanceof SwitchyardError && e.code === code
}

/** Follows the store for one CurrentState; commits its changes. */
export class StoreSync implements ChangeCommitter {
  readonly #o: StoreSyncOptions
  readonly #store: Store
  readonly #current: CurrentState
  readonly #log: SwitchboardLog
  #secret = ''
  #storeUp = false
  #problem: string | undefined
  readonly #secretListeners: Array<(secret: string) => void> = []
  readonly #connectivityListeners: Array<(up: boolean) => void> = []
  readonly #cleanups: Array<() => void> = []
  #resyncing: Promise<void> | undefined
  /** A heartbeat is being written; another was asked for meanwhile (written after it, in order). */
  #beating = false
  #beatAgain = false
  /** The closing targets' counts as last published (countsKey of InFlightSource.closing). */
  #publishedClosing = ''
  /** This instance's subscription: the store does not echo our own writes to it. */
  readonly #onStored = (state: RoutingState): void => { this.#adopt(state) }

  constructor (options: StoreSyncOptions, current: CurrentState) {
    this.#o = options
    this.#store = options.store
    this.#current = current
    this.#log = options.log ?? SILENT
    current.onApply((state, before) => {
      if (this.#secret !== '') this.#o.lastKnown?.save({ state, secret: this.#secret })
    })
    // Beats when this instance has applied a new version (with a cluster, once every worker has).
    current.onConfirmed((initial) => { if (!initial) void this.#heartbeat() })
  }

  /** Whether the store answered last time it was asked. */
  get storeUp (): boolean { return this.#storeUp }

  /** Why the store's content cannot be used (routing continues on the last good state), if it cannot. */
  get problem (): string | undefined { return this.#problem }

  /** The cookie secret (shared through the store). Never log it. */
  get secret (): string { return this.#secret }

  /** Registers a listener for a changed cookie secret (another instance's won a re-seed). */
  onSecret (listener: (secret: string) => void): void {
    this.#secretListeners.push(listener)
  }

  /** Registers a listener for store connectivity. */
  onConnectivity (listener: (up: boolean) => void): void {
    this.#connectivityListeners.push(listener)
  }

  /** Loads (or seeds) the state, applies it, then follows the store. */
  async start (now: Date): Promise<RoutingState> {
    let state: RoutingState
    try {
      await this.#store.connect()
      state = await this.#loadOrSeed(now)
      this.#secret = await this.#store.secret()
      this.#storeUp = true
    } catch (e) {
      if (!hasCode(e, 'SWY_ERR_STORE_UNAVAILABLE')) throw e
      const saved = await this.#o.lastKnown?.read()
      if (saved === undefined) {
        throw new SwitchyardError('SWY_ERR_STORE_UNAVAILABLE', `${e.message}; and there is no last-known-state file${this.#o.lastKnown === undefined ? '' : ` at ${this.#o.lastKnown.path}`} to start from, so switchyard will not guess the routing`)
      }
      this.#log.warn({ version: saved.state.version, file: this.#o.lastKnown?.path }, 'store unreachable at start: routing by the last-known state until it returns')
      state = saved.state
      this.#secret = saved.secret
    }
    this.#current.apply(state)
    this.#cleanups.push(this.#store.subscribe(this.#onStored, (e) => { this.#failed(e) }))
    this.#cleanups.push(this.#store.onConnectivity((up) => { if (!up) this.#setStoreUp(false); else void this.resync() }))
    const beat = setInterval(() => { void this.#heartbeat() }, this.#o.heartbeatMs ?? 1000)
    beat.unref()
    this.#cleanups.push(() => { clearInterval(beat) })
    const source = this.#o.inFlight
    if (source !== undefined) {
      // Off the data path: a timer compares the closing targets' counts with the last
      // published ones and beats only on a change (no I/O while nothing drains).
      const sample = setInterval(() => { if (countsKey(source.closing()) !== this.#publishedClosing) void this.#heartbeat() }, this.#o.inFlightSampleMs ?? IN_FLIGHT_SAMPLE_MS)
      sample.unref()
      this.#cleanups.push(() => { clearInterval(sample) })
    }
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
      const seed = initialState(this.#o.colors, this.#o.initialWeights, { changedBy: 'switchyard', reason: 'initial weights from config', at: now.toISOString() }, this.#o.initialPool)
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

  /** A state the store announced: applied if newer; after a problem, a full re-read decides whether the store is readable again. */
  #adopt (state: RoutingState): void {
    this.#current.apply(state)
    if (this.#problem !== undefined) void this.resync()
  }

  #setStoreUp (up: boolean): void {
    if (this.#storeUp === up) return
    this.#storeUp = up
    this.#log[up ? 'info' : 'warn']({ store: this.#store.kind, version: this.#current.maybe?.version }, up ? 'store reachable again' : 'store unreachable: routing continues on the last state, writes are refused')
    for (const l of this.#connectivityListeners) l(up)
  }

  #setProblem (problem: string | undefined): void {
    if (this.#problem === problem) return
    const was = this.#problem
    this.#problem = problem
    if (problem !== undefined) this.#log.error({ store: this.#store.kind, version: this.#current.maybe?.version, problem }, 'store holds a value that is not valid: routing continues on the last good state, writes are refused')
    else if (was !== undefined) this.#log.info({ store: this.#store.kind, version: this.#current.maybe?.version }, 'store readable again')
  }

  /** Records a store failure; the failure a change answers with, or undefined for an unexpected error. */
  #failed (e: unknown): ChangeFailure | undefined {
    if (hasCode(e, 'SWY_ERR_STORE_UNAVAILABLE')) {
      this.#setStoreUp(false)
      return { code: e.code, message: e.message }
    }
    if (hasCode(e, 'SWY_ERR_STORE_CORRUPT')) {
      this.#setProblem(e.message)
      return { code: e.code, message: e.message }
    }
    return undefined
  }

  /** Compare-and-sets a change; a store that is down or unreadable answers a failure. */
  async commit (expectedVersion: number, next: RoutingState, entry: HistoryEntry): Promise<CasOutcome | ChangeFailure> {
    if (this.#problem !== undefined) {
      // A damaged value is left for the operator, not overwritten by the next write.
      await this.resync()
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- resync() may clear it
      if (this.#problem !== undefined) return { code: 'SWY_ERR_STORE_CORRUPT', message: this.#problem }
    }
    try {
      return await this.#store.compareAndSet(expectedVersion, next, entry, this.#onStored)
    } catch (e) {
      const failure = this.#failed(e)
      if (failure === undefined) throw e
      return failure
    }
  }

  /**
   * Writes a rollout document (and its routing change) as one compare-and-set; a change
   * that lands is applied here at once, a lost race adopts the newer state. A store that is
   * down or unreadable answers a failure, as for commit().
   */
  async commitRollout (write: RolloutWrite): Promise<RolloutCasOutcome | ChangeFailure> {
    if (this.#problem !== undefined) {
      await this.resync()
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- resync() may clear it
      if (this.#problem !== undefined) return { code: 'SWY_ERR_STORE_CORRUPT', message: this.#problem }
    }
    let out: RolloutCasOutcome
    try {
      out = await this.#store.writeRollout(write, this.#onStored)
    } catch (e) {
      const failure = this.#failed(e)
      if (failure === undefined) throw e
      return failure
    }
    if (out.ok && write.change !== undefined) this.#current.apply(write.change.state)
    else if (!out.ok && out.reason === 'state-conflict' && out.current !== null) this.#current.apply(out.current)
    return out
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
    const mine = this.#current.maybe
    if (mine === undefined) return
    try {
      const stored = await this.#store.load()
      if (stored === null || stored.version < mine.version) {
        if (await this.#store.reseed(mine, this.#secret, historyEntry(stored, mine), this.#onStored)) {
          this.#log.warn({ version: mine.version, found: stored?.version ?? null }, 'store held no or an older state: re-seeded it from this instance')
        }
      } else {
        this.#current.apply(stored)
      }
      const secret = await this.#store.secret()
      if (secret !== this.#secret) {
        this.#secret = secret
        for (const l of this.#secretListeners) l(secret)
      }
      this.#setStoreUp(true)
      this.#setProblem(undefined)
      void this.#heartbeat()
    } catch (e) {
      if (this.#failed(e) === undefined) this.#log.warn({ err: e }, 'store re-read failed')
    }
  }

  /**
   * Writes a heartbeat. Beats are written one at a time, in order: one asked for while
   * another is being written follows it with a fresh sample, so an older count never lands
   * after a newer one.
   */
  async #heartbeat (): Promise<void> {
    if (this.#beating) { this.#beatAgain = true; return }
    this.#beating = true
    try {
      do {
        this.#beatAgain = false
        await this.#beatOnce()
        // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- set by a beat asked for during the await
      } while (this.#beatAgain)
    } finally {
      this.#beating = false
    }
  }

  async #beatOnce (): Promise<void> {
    const state = this.#current.maybe
    if (state === undefined) return
    try {
      const traffic = this.#o.traffic
      const source = this.#o.inFlight
      const inFlight = source?.byTarget()
      const closing = source === undefined ? '' : countsKey(source.closing())
      // Sampled with appliedVersion, in the same tick: a reader that sees the drain's
      // version knows no request to the target started after this count (with workers, the
      // version every worker acknowledged, and counts no older than that acknowledgement).
      let info: InstanceInfo = { id: this.#o.instanceId, appliedVersion: this.#current.appliedVersion, appliedAt: this.#current.appliedAt, at: Date.now() }
      if (traffic !== undefined) info = { ...info, traffic: traffic() }
      if (inFlight !== undefined) info = { ...info, inFlight }
      await this.#store.heartbeat(info, this.#o.instanceTtlMs ?? 5000)
      this.#publishedClosing = closing
    } catch (e) {
      if (hasCode(e, 'SWY_ERR_STORE_UNAVAILABLE')) this.#setStoreUp(false)
    }
  }

  /** Stops following the store and the timers (does not close the store). */
  async stop (): Promise<void> {
    for (const c of this.#cleanups.splice(0)) c()
    await this.#resyncing
    await this.#o.lastKnown?.flush()
  }
}
