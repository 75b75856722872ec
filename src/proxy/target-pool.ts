/**
 * The targets of every color and who may take a request. A target takes requests when its
 * mode is `enabled` (draining and disabled ones finish what they have), its active health
 * check says healthy, and it is not ejected. Picks are least outstanding requests, round
 * robin among ties. Per-color availability (what decide() needs) is recomputed when a mode,
 * a health check or an ejection changes — never per request.
 */
import type { TargetConfig } from '../config/config-types.js'
import { endEjection, newOutlierRecord, recordOutcome, type OutlierPolicy, type OutlierRecord } from '../health/outlier.js'
import type { TargetMode } from '../routing/routing-state.js'

/** A target's health as GET /targets shows it. */
export type TargetHealth = 'healthy' | 'unhealthy' | 'ejected' | 'unknown'

/**
 * Where a target comes from: the config's initial pool, the admin API (shared through the
 * store, part of the routing state), or this instance's DNS discovery (never stored).
 */
export type TargetSource = 'config' | 'api' | 'dns'

/** How often retiring targets are looked at for removal (ms). */
export const RETIRE_SWEEP_MS = 25

/** A target joined or left a pool. */
export type MembershipEvent = { readonly kind: 'added' | 'removed', readonly target: Target }

/** One upstream instance, with the state the data path keeps for it. */
export class Target {
  readonly color: number
  readonly colorName: string
  readonly id: string
  readonly origin: string
  readonly source: TargetSource
  inFlight = 0
  mode: TargetMode = 'enabled'
  /** From active checks; true when there are none. */
  activeHealthy = true
  /** True once the target answered a request below 500 or passed an active check: until then its health is `unknown`. */
  answered = false
  readonly outlier: OutlierRecord = newOutlierRecord()
  /** enabled && activeHealthy && not ejected: may take a new request. */
  usable = true
  /** Upstream-failure log lines are left out until then (ms since the epoch). */
  logQuietUntil = 0
  /** Failure lines left out since the last one logged. */
  logSuppressed = 0
  /**
   * Leaving the pool on this instance's own account (a DNS record that went away): it takes
   * no new request whatever the routing state says, and is removed once it has none in flight.
   */
  retiring = false
  /** True once removed from its pool (in-flight requests still hold it). */
  removed = false

  constructor (color: number, colorName: string, config: TargetConfig, source: TargetSource = 'config') {
    this.color = color
    this.colorName = colorName
    this.id = config.id
    this.origin = new URL(config.url).origin
    this.source = source
  }

  /**
   * Health as operators see it. `unknown`: nothing has shown it up or down yet (no request
   * answered, no active check passed); it is still routed to, as a new target must be.
   */
  get health (): TargetHealth {
    if (this.outlier.ejectedUntil > 0) return 'ejected'
    if (!this.activeHealthy) return 'unhealthy'
    return this.answered ? 'healthy' : 'unknown'
  }
}

/** What TargetPools needs of time (tests inject their own; the real one by default). */
export interface PoolClock {
  now (): number
  setTimeout (fn: () => void, ms: number): { unref (): unknown }
  clearTimeout (timer: unknown): void
}

/** Date.now and the global timers. */
export const realClock: PoolClock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (timer) => { clearTimeout(timer as NodeJS.Timeout) }
}

/** Why a target's health changed, for logs. */
export type HealthEvent = { readonly target: Target, readonly healthy: boolean, readonly why: string }

/**
 * All colors' targets. The pools change at run time (targets added through the admin API
 * or discovered by DNS, and removed); the per-color arrays are changed in place, so a
 * reader holding `byColor` sees the current members. A change never happens inside a pick.
 */
export class TargetPools {
  readonly byColor: readonly (readonly Target[])[]
  readonly #lists: Target[][]
  readonly #listeners: Array<(e: MembershipEvent) => void> = []
  /** Per color: 1 when any target is usable. */
  readonly available: Uint8Array
  readonly #rr: Uint32Array
  readonly #policy: OutlierPolicy
  readonly #onHealth: (e: HealthEvent) => void
  readonly #timers = new Set<{ unref (): unknown }>()
  readonly #clock: PoolClock
  readonly #colors: readonly string[]
  readonly #retiring = new Set<Target>()
  #sweepTimer: { unref (): unknown } | undefined

  constructor (colors: readonly string[], targets: ReadonlyArray<readonly TargetConfig[]>, policy: OutlierPolicy, onHealth: (e: HealthEvent) => void = () => {}, clock: PoolClock = realClock) {
    this.#clock = clock
    this.#colors = colors
    this.#lists = colors.map((name, i) => (targets[i] ?? []).map((t) => new Target(i, name, t)))
    this.byColor = this.#lists
    this.available = new Uint8Array(colors.length)
    this.#rr = new Uint32Array(colors.length)
    this.#policy = policy
    this.#onHealth = onHealth
    this.recompute()
  }

  /** Recomputes each target's usability and each color's availability. */
  recompute (): void {
    this.byColor.forEach((list, c) => {
      let any = 0
      for (const t of list) {
        t.usable = t.mode === 'enabled' && !t.retiring && t.activeHealthy && t.outlier.ejectedUntil === 0
        if (t.usable) any = 1
      }
      this.available[c] = any
    })
  }

  /** The usable target of `color` with the fewest requests in flight (round robin among ties), not `except`. */
  pick (color: number, except?: Target): Target | undefined {
    const list = this.byColor[color]
    if (list === undefined || list.length === 0) return undefined
    const n = list.length
    const start = (this.#rr[color] as number) % n
    this.#rr[color] = start + 1
    let best: Target | undefined
    for (let i = 0; i < n; i++) {
      const t = list[(start + i) % n] as Target
      if (!t.usable || t === except) continue
      if (best === undefined || t.inFlight < best.inFlight) best = t
    }
    return best
  }

  /** Finds a target by color index and id or origin URL. */
  find (color: number, idOrUrl: string): Target | undefined {
    let origin: string | undefined
    try { origin = new URL(idOrUrl).origin } catch { origin = undefined }
    return this.byColor[color]?.find((t) => t.id === idOrUrl || (origin !== undefined && t.origin === origin))
  }

  /**
   * Adds a target to color `color` (index) and tells the membership listeners. The caller
   * checked that neither its id nor its origin is in that color already (see `find`).
   * Its health is `unknown` until it answers or passes an active check, as at start.
   */
  add (color: number, config: TargetConfig, source: TargetSource, mode: TargetMode = 'enabled'): Target {
    const list = this.#lists[color]
    if (list === undefined) throw new RangeError(`no color at index ${color}`)
    const t = new Target(color, this.#colors[color] as string, config, source)
    t.mode = mode
    list.push(t)
    this.recompute()
    this.#emit({ kind: 'added', target: t })
    return t
  }

  /**
   * Removes a target from its pool at once (requests in flight on it finish: they hold the
   * object) and tells the membership listeners. Draining first is the caller's business.
   */
  remove (t: Target): void {
    const list = this.#lists[t.color]
    const i = list === undefined ? -1 : list.indexOf(t)
    if (list === undefined || i < 0) return
    list.splice(i, 1)
    t.removed = true
    this.recompute()
    this.#emit({ kind: 'removed', target: t })
  }

  /**
   * Stops giving `t` new requests (see Target.retiring) and removes it once it has none in
   * flight: at once when idle, else by a sweep every RETIRE_SWEEP_MS while any target is
   * retiring (never on the data path: the request that ends does not look).
   */
  retire (t: Target): void {
    if (t.retiring || t.removed) return
    t.retiring = true
    this.recompute()
    this.#retiring.add(t)
    this.#sweep()
  }

  #sweep (): void {
    for (const t of this.#retiring) {
      if (t.inFlight > 0 && !t.removed) continue
      this.#retiring.delete(t)
      this.remove(t)
    }
    if (this.#retiring.size === 0 || this.#sweepTimer !== undefined) return
    const timer = this.#clock.setTimeout(() => {
      this.#timers.delete(timer)
      this.#sweepTimer = undefined
      this.#sweep()
    }, RETIRE_SWEEP_MS)
    timer.unref()
    this.#timers.add(timer)
    this.#sweepTimer = timer
  }

  /** Listens for targets joining and leaving (metrics, active checks, logs). */
  onMembership (fn: (e: MembershipEvent) => void): void {
    this.#listeners.push(fn)
  }

  #emit (e: MembershipEvent): void {
    for (const fn of this.#listeners) fn(e)
  }

  /** Applies the routing state's target modes. */
  setModes (modeOf: (t: Target) => TargetMode): void {
    for (const list of this.byColor) for (const t of list) t.mode = modeOf(t)
    this.recompute()
  }

  /**
   * Sets a target's active-check verdict. An active check that turns healthy again also ends
   * a passive ejection (Envoy's `successful_active_health_check_uneject_host`, on by default
   * there): the check has just proven the target serves. Without it, a target restarted a few
   * times in a row (a crash loop, a rolling restart) stays ejected for the whole doubled
   * backoff while it is up, and a color whose targets all went through it answers 503.
   * A healthy verdict (the first passed check too) also shows the target answers.
   */
  setActiveHealth (t: Target, healthy: boolean, why: string): void {
    if (healthy) t.answered = true
    if (t.activeHealthy === healthy) return
    t.activeHealthy = healthy
    if (healthy && t.outlier.ejectedUntil > 0) endEjection(t.outlier, this.#clock.now())
    this.recompute()
    this.#onHealth({ target: t, healthy: t.health === 'healthy', why })
  }

  /** Records a request outcome for passive ejection (and, when ok, that the target answers). */
  outcome (t: Target, ok: boolean, now: number): void {
    if (ok && !t.answered) t.answered = true
    const ms = recordOutcome(t.outlier, ok, now, this.#policy)
    if (ms === 0) return
    this.recompute()
    this.#onHealth({ target: t, healthy: false, why: `ejected for ${ms} ms after ${this.#policy.consecutiveFailures} consecutive failures (ejection #${t.outlier.ejections})` })
    const until = t.outlier.ejectedUntil
    const timer = this.#clock.setTimeout(() => {
      this.#timers.delete(timer)
      // Ended early by an active check, and maybe ejected anew since: not this timer's to end.
      if (t.outlier.ejectedUntil !== until) return
      endEjection(t.outlier, this.#clock.now())
      this.recompute()
      this.#onHealth({ target: t, healthy: t.health === 'healthy', why: `ejection of ${ms} ms ended` })
    }, ms)
    timer.unref()
    this.#timers.add(timer)
  }

  /** Cancels pending ejection timers. */
  close (): void {
    for (const t of this.#timers) this.#clock.clearTimeout(t)
    this.#timers.clear()
    this.#sweepTimer = undefined
    this.#retiring.clear()
  }
}
