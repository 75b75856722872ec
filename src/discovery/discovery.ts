/**
 * DNS discovery for every color that has `discovery` in its config: one ColorDiscovery each,
 * started after the data path is built, reconfigured from a new config (a reload), stopped on
 * close. Each instance resolves for itself: discovered targets are this instance's, shown in
 * GET /targets with `source: dns`, and never written to the store.
 *
 * A color may have config (or API) targets and discovery: both pools are used, side by side
 * in the one pool of the color (an address that is both is one target, the configured one).
 */
import { Counter, type Registry } from 'prom-client'
import type { Config, DiscoveryConfig } from '../config/config-types.js'
import type { PoolClock, TargetPools } from '../proxy/target-pool.js'
import type { TargetMode } from '../routing/routing-state.js'
import { ColorDiscovery, type DiscoveryLog, type RoundReport } from './color-discovery.js'

/** What discovery needs from the rest of switchyard. */
export interface DiscoveryDeps {
  /** The configured colors, in order (their indexes are the pools'). */
  readonly colors: readonly string[]
  readonly pools: TargetPools
  /** The registry switchyard_discovery_errors_total is registered on (Metrics.registry). */
  readonly registry: Registry
  /** The routing state's mode for a target id. */
  readonly modeOf: (color: string, id: string) => TargetMode
  readonly log: DiscoveryLog
  readonly clock?: PoolClock | undefined
  /** Told after every resolution of every color (tests). */
  readonly onRound?: ((r: RoundReport) => void) | undefined
}

/** What a reconfiguration did to one color's discovery. */
export type DiscoveryChange = { readonly color: string, readonly change: 'started' | 'changed' | 'stopped' }

/** The colors part of a config, as discovery reads it. */
export type ColorsConfig = Config['colors']

function sameSettings (a: DiscoveryConfig, b: DiscoveryConfig): boolean {
  return a.dns === b.dns && a.port === b.port && a.scheme === b.scheme && a.intervalMs === b.intervalMs &&
    a.timeoutMs === b.timeoutMs && a.resolver === b.resolver
}

/** Every color's DNS discovery. */
export class Discovery {
  readonly #deps: DiscoveryDeps
  readonly #byColor = new Map<string, ColorDiscovery>()
  readonly #errors: Counter
  #stopped = false

  constructor (deps: DiscoveryDeps) {
    this.#deps = deps
    this.#errors = new Counter({
      name: 'switchyard_discovery_errors_total',
      help: 'DNS discovery resolutions that failed or found no address, by color (the color kept its last known discovered targets)',
      labelNames: ['color'],
      registers: [deps.registry]
    })
  }

  /** Starts discovery for the colors that have it; resolves once each has resolved once (found or not). */
  async start (colors: ColorsConfig): Promise<void> {
    await this.reconfigure(colors)
  }

  /**
   * Applies a new config's discovery settings (a reload): a color whose settings changed
   * resolves with the new ones at once and takes over the targets found with the old ones
   * (those the new answer lacks are drained); a color whose discovery was removed drains
   * every target it discovered; an unchanged one goes on untouched. Colors this instance
   * does not have are ignored (colors cannot change without a restart). Resolves once every
   * started or changed color has resolved once.
   */
  async reconfigure (colors: ColorsConfig): Promise<DiscoveryChange[]> {
    if (this.#stopped) return []
    const changes: DiscoveryChange[] = []
    const firsts: Array<Promise<void>> = []
    this.#deps.colors.forEach((color, colorIndex) => {
      const wanted = Object.hasOwn(colors, color) ? colors[color]?.discovery : undefined
      const running = this.#byColor.get(color)
      if (running !== undefined && wanted !== undefined && sameSettings(running.settings, wanted)) return
      if (running !== undefined && wanted === undefined) {
        running.stopAndRetire()
        this.#byColor.delete(color)
        changes.push({ color, change: 'stopped' })
        return
      }
      if (wanted === undefined) return
      const holdings = running?.stop()
      const next = new ColorDiscovery({
        color,
        colorIndex,
        settings: wanted,
        pools: this.#deps.pools,
        modeOf: this.#deps.modeOf,
        onError: (c) => { this.#errors.labels(c).inc() },
        log: this.#deps.log,
        clock: this.#deps.clock,
        onRound: this.#deps.onRound
      }, holdings)
      // The series exists from the start at 0, so rate() and increase() see the first error.
      this.#errors.labels(color).inc(0)
      this.#byColor.set(color, next)
      changes.push({ color, change: running === undefined ? 'started' : 'changed' })
      firsts.push(next.start())
    })
    for (const { color, change } of changes) {
      const settings = Object.hasOwn(colors, color) ? colors[color]?.discovery : undefined
      this.#deps.log.info({ color, change, ...(settings === undefined ? {} : { dns: settings.dns, port: settings.port, intervalMs: settings.intervalMs, resolver: settings.resolver ?? 'system' }) }, `dns discovery ${change}`)
    }
    await Promise.all(firsts)
    return changes
  }

  /** Stops every color's discovery (the discovered targets stay in the pools). */
  stop (): void {
    this.#stopped = true
    for (const d of this.#byColor.values()) d.stop()
    this.#byColor.clear()
  }
}
