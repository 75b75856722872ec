/**
 * Prometheus metrics (prom-client), one registry per running switchyard. Every label value
 * comes from a fixed set (configured colors, decision reasons, status classes, error kinds),
 * never from a request, so cardinality is bounded. The per-request metrics are typed arrays
 * (array-metrics.ts) with one cell per fixed label set, all created at start (at 0): the data
 * path adds to a cell found by index, and the label sets are only written out on a scrape.
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client'
import { ArrayHistogram, ArrayMetric } from './array-metrics.js'
import { REASONS } from '../routing/types.js'
import { weightOf } from '../routing/weights.js'
import type { ChangeKind, RoutingState } from '../routing/routing-state.js'
import { ROLLOUT_PHASES, type ColorTraffic, type RolloutPhase, type Verdict } from '../rollout/types.js'

/** Status classes, by `statusCode / 100 | 0` - 1. */
export const CODE_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'] as const

/** Kinds of upstream failure. */
export const UPSTREAM_ERROR_KINDS = ['connect', 'timeout', 'reset', 'bad_response', '5xx'] as const
/** One upstream failure kind. */
export type UpstreamErrorKind = typeof UPSTREAM_ERROR_KINDS[number]

const SWITCH_KINDS: readonly ChangeKind[] = ['weights', 'flip', 'rollback', 'target', 'rollout']

/** Label value for requests that no color served. */
export const NO_COLOR = 'none'

/** Request-duration buckets from 1 ms to 10 s. */
export const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

/** Analysis verdicts, the label values of switchyard_rollout_analysis_total. */
const VERDICTS: readonly Verdict[] = ['pass', 'fail', 'inconclusive']

/**
 * The per-request cells of one Metrics (live references): what a cluster worker ships to its
 * primary, and what the primary's cells are summed into (src/cluster/).
 */
export interface RequestCells {
  readonly requests: Float64Array
  readonly durationCounts: Float64Array
  readonly durationSums: Float64Array
  readonly upstreamErrors: Float64Array
  readonly inFlight: Float64Array
}

/** What the data path records per request (Metrics, or NO_REQUEST_METRICS when switched off). */
export interface RequestMetrics {
  started (color: number): void
  ended (color: number): void
  request (color: number, reasonIndex: number, statusCode: number, seconds: number): void
  upstreamError (color: number, kind: UpstreamErrorKind): void
}

/** Records nothing: `metrics.enabled: false` (to measure what metrics cost). */
export const NO_REQUEST_METRICS: RequestMetrics = Object.freeze({ started () {}, ended () {}, request () {}, upstreamError () {} })

/** The metrics of one switchyard: per-request ones in typed-array cells indexed by color, reason and class; state ones as prom-client gauges and counters. */
export class Metrics implements RequestMetrics {
  readonly registry = new Registry()
  readonly #colors: readonly string[]
  /** requests[((color * REASONS) + REASON_INDEX[reason]) * CODE_CLASSES + class]; color = colors.length is NO_COLOR. */
  readonly #requests: Float64Array
  readonly #durations: ArrayHistogram
  readonly #upstreamErrors: Float64Array
  readonly #inFlight: Float64Array
  readonly #weight: Gauge
  readonly #version: Gauge
  readonly #switches: Counter
  readonly #lastChange: Gauge
  readonly #storeUp: Gauge
  readonly #targetHealthy: Gauge
  readonly #rolloutPhase: Gauge
  readonly #rolloutStep: Gauge
  readonly #rolloutAnalyses: Counter
  /** Runs before a scrape reads the per-request cells (a cluster's primary gathers them). */
  #beforeScrape: () => Promise<void> = async () => {}

  constructor (colors: readonly string[], opts: { defaultMetrics?: boolean } = {}) {
    this.#colors = colors
    const registers = [this.registry]
    this.#weight = new Gauge({ name: 'switchyard_weight', help: 'Current weight per color, in percent', labelNames: ['color'], registers })
    this.#version = new Gauge({ name: 'switchyard_state_version', help: 'Version of the routing state this instance routes by', registers })
    this.#switches = new Counter({ name: 'switchyard_switches_total', help: 'Routing changes applied, by kind', labelNames: ['kind'], registers })
    this.#lastChange = new Gauge({ name: 'switchyard_last_change_timestamp_seconds', help: 'When the routing state this instance routes by was changed', registers })
    this.#storeUp = new Gauge({ name: 'switchyard_store_up', help: '1 when the state store is reachable', labelNames: ['kind'], registers })
    this.#targetHealthy = new Gauge({ name: 'switchyard_target_healthy', help: '1 when a target passes its health checks and is not ejected', labelNames: ['color', 'target'], registers })
    this.#rolloutPhase = new Gauge({ name: 'switchyard_rollout_phase', help: '1 for the phase of the current (or last) rollout, 0 for the others; all 0 when there never was one', labelNames: ['phase'], registers })
    this.#rolloutStep = new Gauge({ name: 'switchyard_rollout_step', help: 'Step index (0-based) of the current (or last) rollout; 0 when there never was one', registers })
    this.#rolloutAnalyses = new Counter({ name: 'switchyard_rollout_analysis_total', help: 'Rollout analysis intervals judged by this instance (as the driver), by verdict', labelNames: ['verdict'], registers })
    for (const phase of ROLLOUT_PHASES) this.#rolloutPhase.labels(phase).set(0)
    for (const verdict of VERDICTS) this.#rolloutAnalyses.labels(verdict).inc(0)
    // The per-request series live in typed arrays (see array-metrics.ts). Every series of
    // the fixed label sets exists from the first scrape at 0, so rate() and absent() work
    // before the first event.
    const labels = [...colors, NO_COLOR]
    const before = (): Promise<void> => this.#beforeScrape()
    const requestLabels: Array<Record<string, string>> = []
    for (const color of labels) for (const reason of REASONS) for (const cls of CODE_CLASSES) requestLabels.push({ color, code_class: cls, reason })
    this.#requests = new ArrayMetric(this.registry, 'switchyard_requests_total', 'Proxied requests by serving color, status class and decision reason', 'counter', requestLabels, before).values
    this.#durations = new ArrayHistogram(this.registry, 'switchyard_request_duration_seconds', 'Time from request to response end, by serving color', DURATION_BUCKETS, labels.map((color) => ({ color })), before)
    this.#upstreamErrors = new ArrayMetric(this.registry, 'switchyard_upstream_errors_total', 'Upstream failures by color and kind', 'counter',
      labels.flatMap((color) => UPSTREAM_ERROR_KINDS.map((kind) => ({ color, kind }))), before).values
    this.#inFlight = new ArrayMetric(this.registry, 'switchyard_in_flight_requests', 'Requests being proxied now, by color', 'gauge', labels.map((color) => ({ color })), before).values
    for (const kind of SWITCH_KINDS) this.#switches.labels(kind).inc(0)
    if (opts.defaultMetrics !== false) {
      collectDefaultMetrics({ register: this.registry })
      // prom-client names these gauges *_total, which Prometheus reserves for counters
      // (promtool rejects them); sum(nodejs_active_handles) etc. give the same totals.
      for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) this.registry.removeSingleMetric(name)
    }
  }

  /** The per-request cells, live (a cluster worker sends copies to its primary). */
  get cells (): RequestCells {
    return { requests: this.#requests, durationCounts: this.#durations.counts, durationSums: this.#durations.sums, upstreamErrors: this.#upstreamErrors, inFlight: this.#inFlight }
  }

  /**
   * Makes every scrape first run `gather`, which fills the cells (a cluster's primary: the
   * sum of its workers' cells). Concurrent scrapes share one run.
   */
  gatherBeforeScrape (gather: () => Promise<void>): void {
    let running: Promise<void> | undefined
    this.#beforeScrape = () => {
      running ??= gather().finally(() => { running = undefined })
      return running
    }
  }

  /**
   * Records one finished request. `color` is an index, or -1 when no color served it. A
   * request the client abandoned before the answer was sent counts as 499 (4xx), as nginx does.
   */
  request (color: number, reasonIndex: number, statusCode: number, seconds: number): void {
    const c = color < 0 ? this.#colors.length : color
    let cls = ((statusCode / 100) | 0) - 1
    if (cls < 0 || cls > 4) cls = 4
    const i = (c * REASONS.length + reasonIndex) * CODE_CLASSES.length + cls
    this.#requests[i] = (this.#requests[i] as number) + 1
    this.#durations.observe(c, seconds)
  }

  /** A request to `color` (index, -1 for none) started. */
  started (color: number): void {
    const c = color < 0 ? this.#colors.length : color
    this.#inFlight[c] = (this.#inFlight[c] as number) + 1
  }

  /** A request to `color` ended (answered or aborted). */
  ended (color: number): void {
    const c = color < 0 ? this.#colors.length : color
    this.#inFlight[c] = (this.#inFlight[c] as number) - 1
  }

  /** Records one upstream failure. */
  upstreamError (color: number, kind: UpstreamErrorKind): void {
    const i = (color < 0 ? this.#colors.length : color) * UPSTREAM_ERROR_KINDS.length + UPSTREAM_ERROR_KINDS.indexOf(kind)
    this.#upstreamErrors[i] = (this.#upstreamErrors[i] as number) + 1
  }

  /** Reflects an applied state: weights, version, last change, and a switch if it is new. */
  stateApplied (state: RoutingState, isNew: boolean): void {
    for (const c of this.#colors) this.#weight.labels(c).set(weightOf(state.weights, c) / 100)
    this.#version.set(state.version)
    this.#lastChange.set(Date.parse(state.changedAt) / 1000)
    if (isNew && state.kind !== 'init') this.#switches.labels(state.kind).inc()
  }

  /** Sets a target's health (target ids come from the config, a fixed set). */
  targetHealth (color: string, target: string, healthy: boolean): void {
    this.#targetHealthy.labels(color, target).set(healthy ? 1 : 0)
  }

  /** Drops a target's series (it left its pool). */
  removeTarget (color: string, target: string): void {
    this.#targetHealthy.remove(color, target)
  }

  /**
   * Every configured color's traffic since this process started (not NO_COLOR): answered
   * requests over every reason and status class, the 5xx among them, and the duration
   * histogram's per-bucket counts (DURATION_BUCKETS, then +Inf). Read once per heartbeat for
   * the rollout analysis (src/rollout/traffic.ts), never on the data path: it allocates.
   */
  traffic (): Record<string, ColorTraffic> {
    const out: Record<string, ColorTraffic> = {}
    const perColor = REASONS.length * CODE_CLASSES.length
    const width = DURATION_BUCKETS.length + 1
    const fiveXx = CODE_CLASSES.indexOf('5xx')
    this.#colors.forEach((color, c) => {
      let requests = 0
      let errors = 0
      for (let r = 0; r < REASONS.length; r++) {
        for (let k = 0; k < CODE_CLASSES.length; k++) {
          const n = this.#requests[c * perColor + r * CODE_CLASSES.length + k] as number
          requests += n
          if (k === fiveXx) errors += n
        }
      }
      out[color] = { requests, errors, buckets: Array.from(this.#durations.counts.subarray(c * width, (c + 1) * width)) }
    })
    return out
  }

  /**
   * Reflects the rollout as this instance last read it: `phase` 1 and the others 0, and the
   * step index (0-based); null when there never was one (every phase 0, step 0). A finished
   * rollout keeps its final phase at 1 until the next one starts.
   */
  rolloutPhase (phase: RolloutPhase | null, step: number): void {
    for (const p of ROLLOUT_PHASES) this.#rolloutPhase.labels(p).set(p === phase ? 1 : 0)
    this.#rolloutStep.set(phase === null ? 0 : step)
  }

  /** Counts one analysis interval judged by this instance (the driver: sum over instances for the total). */
  rolloutAnalysis (verdict: Verdict): void {
    this.#rolloutAnalyses.labels(verdict).inc()
  }

  /** Sets store connectivity. */
  storeUp (kind: string, up: boolean): void {
    this.#storeUp.labels(kind).set(up ? 1 : 0)
  }
}

/** Adds `from`'s cells into `into` (same colors); `inFlight` too unless `counters` (a gauge of live requests is not kept for a process that is gone). */
export function addCells (into: RequestCells, from: RequestCells, counters = false): void {
  add(into.requests, from.requests)
  add(into.durationCounts, from.durationCounts)
  add(into.durationSums, from.durationSums)
  add(into.upstreamErrors, from.upstreamErrors)
  if (!counters) add(into.inFlight, from.inFlight)
}

/** Zeroes every cell. */
export function clearCells (cells: RequestCells): void {
  cells.requests.fill(0)
  cells.durationCounts.fill(0)
  cells.durationSums.fill(0)
  cells.upstreamErrors.fill(0)
  cells.inFlight.fill(0)
}

/** A copy of the cells (what a worker sends). */
export function copyCells (cells: RequestCells): RequestCells {
  return { requests: cells.requests.slice(), durationCounts: cells.durationCounts.slice(), durationSums: cells.durationSums.slice(), upstreamErrors: cells.upstreamErrors.slice(), inFlight: cells.inFlight.slice() }
}

function add (into: Float64Array, from: Float64Array): void {
  const n = Math.min(into.length, from.length)
  for (let i = 0; i < n; i++) into[i] = (into[i] as number) + (from[i] as number)
}
