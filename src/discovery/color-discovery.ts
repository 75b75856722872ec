/**
 * One color's DNS discovery: resolves the name, then adds the new addresses to the color's
 * pool (source `dns`, with the mode the routing state gives their id) and retires the ones
 * that went away (no new request; they leave once idle), and resolves again when the TTL
 * runs out (see discovery-plan.ts). Fail-static: a failed or empty resolution keeps the pool
 * as it is, is counted, and is logged at most once a minute per color.
 *
 * Nothing here is on the data path: the pool changes between requests, like an admin change.
 */
import type { DiscoveryConfig } from '../config/config-types.js'
import { realClock, type PoolClock, type Target, type TargetPools } from '../proxy/target-pool.js'
import type { TargetMode } from '../routing/routing-state.js'
import { combine, diffOrigins, discoveredId, nextDelayMs, originOf, type Known, type Resolution } from './discovery-plan.js'
import { DnsQuery } from './dns-query.js'

/** At most one "discovery failed" line per color this often (ms); the ones left out are counted in the next. */
export const LOG_EVERY_MS = 60_000

/** The logger discovery writes to (pino's shape). */
export interface DiscoveryLog {
  info (obj: object, msg: string): void
  warn (obj: object, msg: string): void
  error (obj: object, msg: string): void
}

/** What one resolution did (for tests and GET views). */
export interface RoundReport {
  readonly color: string
  readonly ok: boolean
  /** Why the pool was kept (a failed query, or no record at all). */
  readonly reason?: string
  /** The addresses the pool holds after it. */
  readonly addresses: readonly string[]
  /** Until the next resolution. */
  readonly delayMs: number
}

/** What a color's discovery needs. */
export interface ColorDiscoveryDeps {
  readonly color: string
  readonly colorIndex: number
  readonly settings: DiscoveryConfig
  readonly pools: TargetPools
  /** The routing state's mode for a target id (an operator may have drained it by id). */
  readonly modeOf: (color: string, id: string) => TargetMode
  /** Counts one failed or empty resolution. */
  readonly onError: (color: string) => void
  readonly log: DiscoveryLog
  readonly clock?: PoolClock | undefined
  readonly onRound?: ((r: RoundReport) => void) | undefined
}

/** What a stopped discovery hands to its successor (a reload that changed the settings). */
export interface Holdings {
  readonly held: ReadonlyMap<string, Target>
  readonly known: Known
}

/** One color's resolve-and-apply loop. */
export class ColorDiscovery {
  readonly settings: DiscoveryConfig
  readonly #deps: ColorDiscoveryDeps
  readonly #clock: PoolClock
  readonly #query: DnsQuery
  /** The targets this discovery put in the pool, by origin. */
  readonly #held: Map<string, Target>
  #known: Known
  #timer: unknown
  #stopped = false
  /** Failed or empty resolutions in a row. */
  #failures = 0
  #lastFailureLog = -Infinity
  #suppressed = 0
  /** A failure line was logged in this streak (so its end is logged too). */
  #streakLogged = false

  constructor (deps: ColorDiscoveryDeps, from?: Holdings) {
    this.#deps = deps
    this.settings = deps.settings
    this.#clock = deps.clock ?? realClock
    this.#query = new DnsQuery(deps.settings.resolver, deps.settings.timeoutMs)
    this.#held = new Map(from?.held ?? [])
    this.#known = from?.known ?? { v4: [], v6: [] }
  }

  /** Resolves once now (resolving when that is done, whatever it found), then keeps resolving. */
  async start (): Promise<void> {
    await this.#round()
  }

  async #round (): Promise<void> {
    this.#timer = undefined
    if (this.#stopped) return
    const [a, aaaa] = await this.#query.resolve(this.settings.dns)
    // Stopped while the query ran (a reload or close): its answer is not ours to apply.
    if (this.stopped) return
    let delayMs = this.settings.intervalMs
    try {
      const r = combine(this.#known, a, aaaa)
      this.#apply(r)
      if (r.ok) this.#succeeded()
      else this.#failed(r.reason)
      delayMs = nextDelayMs(r.ok ? r.ttlSeconds : undefined, this.settings.intervalMs)
      this.#deps.onRound?.({ color: this.#deps.color, ok: r.ok, ...(r.ok ? {} : { reason: r.reason }), addresses: [...r.v4, ...r.v6], delayMs })
    } catch (e) {
      // A bug must not end discovery: the pool stays as it is and the next round tries again.
      this.#deps.log.error({ color: this.#deps.color, dns: this.settings.dns, err: e }, 'dns discovery could not apply a resolution')
    }
    const timer = this.#clock.setTimeout(() => { void this.#round() }, delayMs)
    timer.unref()
    this.#timer = timer
  }

  #apply (r: Resolution): void {
    const { color, colorIndex, pools, modeOf } = this.#deps
    const { scheme, port } = this.settings
    // An operator may have removed one of ours: it comes back if DNS still has it.
    for (const [origin, t] of this.#held) if (t.removed) this.#held.delete(origin)
    this.#known = { v4: r.v4, v6: r.v6 }
    const wanted = new Map([...r.v4, ...r.v6].map((address) => [originOf(scheme, address, port), address]))
    const diff = diffOrigins(this.#held.keys(), wanted.keys())
    for (const origin of diff.remove) {
      const t = this.#held.get(origin)
      this.#held.delete(origin)
      if (t !== undefined) pools.retire(t)
    }
    for (const origin of diff.add) {
      const id = discoveredId(color, wanted.get(origin) as string, port)
      // Already in the pool: a config or API target at that address (both pools are used,
      // one target per address), or one of ours still draining (it is added again once gone).
      if (pools.find(colorIndex, id) !== undefined || pools.find(colorIndex, origin) !== undefined) continue
      this.#held.set(origin, pools.add(colorIndex, { id, url: origin }, 'dns', modeOf(color, id)))
    }
  }

  #failed (reason: string): void {
    this.#failures++
    this.#deps.onError(this.#deps.color)
    const now = this.#clock.now()
    if (now - this.#lastFailureLog < LOG_EVERY_MS) { this.#suppressed++; return }
    this.#deps.log.warn({ color: this.#deps.color, dns: this.settings.dns, reason, failuresInARow: this.#failures, notLogged: this.#suppressed, targets: this.#held.size },
      'dns discovery failed: keeping the last known targets')
    this.#lastFailureLog = now
    this.#suppressed = 0
    this.#streakLogged = true
  }

  #succeeded (): void {
    if (this.#streakLogged) {
      this.#deps.log.info({ color: this.#deps.color, dns: this.settings.dns, failuresInARow: this.#failures, targets: this.#held.size }, 'dns discovery resolves again')
    }
    this.#failures = 0
    this.#streakLogged = false
  }

  /** True once stopped. */
  get stopped (): boolean {
    return this.#stopped
  }

  /** Stops resolving (a query in flight is cancelled) and hands over what it holds. */
  stop (): Holdings {
    this.#stopped = true
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer)
    this.#timer = undefined
    this.#query.cancel()
    return { held: new Map(this.#held), known: this.#known }
  }

  /** Stops, and drains every target it added (the color no longer has discovery). */
  stopAndRetire (): void {
    const { held } = this.stop()
    for (const t of held.values()) this.#deps.pools.retire(t)
    this.#held.clear()
  }
}
