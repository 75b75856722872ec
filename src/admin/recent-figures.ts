/**
 * The dashboard's recent figures, kept in memory so the page works without Prometheus:
 * every second a sample of each color's cumulative counters (requests, 5xx, the duration
 * histogram) becomes one point per color for the interval since the previous sample —
 * requests per second, 5xx ratio and p99 latency — in a ring of the last minutes.
 */
import { DURATION_BUCKETS } from '../metrics/metrics.js'
import type { ColorTraffic } from '../rollout/types.js'

/** Where the counters come from: this instance's cumulative per-color traffic. */
export type TrafficSource = () => Readonly<Record<string, ColorTraffic>> | Promise<Readonly<Record<string, ColorTraffic>>>

/** Options of a RecentFigures ring. */
export interface RecentFiguresOptions {
  readonly source: TrafficSource
  /** The colors to chart, in order. */
  readonly colors: readonly string[]
  /** Time between two samples (default 1000 ms). */
  readonly intervalMs?: number
  /** How much history is kept (default 600 s). */
  readonly windowSeconds?: number
  /** Upper bounds of the histogram's finite buckets (default DURATION_BUCKETS). */
  readonly bounds?: readonly number[]
  /** The clock (ms since the epoch). */
  readonly now?: () => number
}

/** One color's series, aligned with FiguresView.at (null: no request in that interval). */
export interface ColorSeries {
  /** Requests per second. */
  readonly rate: number[]
  /** 5xx ÷ requests (0..1). */
  readonly errorRatio: Array<number | null>
  /** The 99th percentile of request duration, in seconds. */
  readonly p99: Array<number | null>
}

/** What GET /ui/api/figures answers. */
export interface FiguresView {
  readonly intervalMs: number
  readonly windowSeconds: number
  readonly colors: readonly string[]
  /** The end of each interval (ms since the epoch), oldest first. */
  readonly at: number[]
  readonly series: Record<string, ColorSeries>
}

/** One interval's figures for one color. */
interface Point {
  readonly rate: number
  readonly errorRatio: number | null
  readonly p99: number | null
}

/**
 * The q-quantile (0..1) of a histogram given as per-bucket counts, interpolated linearly
 * inside the bucket that holds it, as Prometheus' histogram_quantile does; a quantile in the
 * overflow bucket is the highest finite bound. Null for an empty histogram.
 */
export function histogramQuantile (q: number, counts: readonly number[], bounds: readonly number[]): number | null {
  let total = 0
  for (const c of counts) total += c
  if (total <= 0) return null
  const rank = q * total
  let below = 0
  for (let i = 0; i < counts.length; i++) {
    const count = counts[i] as number
    if (count > 0 && below + count >= rank) {
      if (i >= bounds.length) return bounds[bounds.length - 1] ?? null
      const lower = i === 0 ? 0 : bounds[i - 1] as number
      const upper = bounds[i] as number
      return lower + (upper - lower) * Math.max(0, rank - below) / count
    }
    below += count
  }
  return bounds[bounds.length - 1] ?? null
}

/** One interval's figures from two cumulative samples; undefined when the counters restarted. */
export function intervalFigures (before: ColorTraffic, after: ColorTraffic, seconds: number, bounds: readonly number[]): Point | undefined {
  const requests = after.requests - before.requests
  const errors = after.errors - before.errors
  if (requests < 0 || errors < 0 || seconds <= 0) return undefined
  const counts: number[] = []
  for (let i = 0; i < after.buckets.length; i++) {
    const d = (after.buckets[i] ?? 0) - (before.buckets[i] ?? 0)
    if (d < 0) return undefined
    counts.push(d)
  }
  return {
    rate: requests / seconds,
    errorRatio: requests === 0 ? null : errors / requests,
    p99: histogramQuantile(0.99, counts, bounds)
  }
}

/** A ring of per-color figures over the last minutes, sampled on a timer (see the file header). */
export class RecentFigures {
  readonly #source: TrafficSource
  readonly #colors: readonly string[]
  readonly #intervalMs: number
  readonly #windowSeconds: number
  readonly #bounds: readonly number[]
  readonly #now: () => number
  readonly #capacity: number
  /** Ring slots: the time and each color's point; #head is the next slot to write. */
  readonly #at: number[] = []
  readonly #points: Array<Array<Point | undefined>> = []
  #head = 0
  #previous: { at: number, traffic: Readonly<Record<string, ColorTraffic>> } | undefined
  #timer: NodeJS.Timeout | undefined
  #sampling = false

  constructor (opts: RecentFiguresOptions) {
    this.#source = opts.source
    this.#colors = opts.colors
    this.#intervalMs = opts.intervalMs ?? 1000
    this.#windowSeconds = opts.windowSeconds ?? 600
    this.#bounds = opts.bounds ?? DURATION_BUCKETS
    this.#now = opts.now ?? Date.now
    this.#capacity = Math.max(1, Math.ceil(this.#windowSeconds * 1000 / this.#intervalMs))
  }

  /** Starts sampling every intervalMs (the timer does not keep the process alive). */
  start (): void {
    if (this.#timer !== undefined) return
    void this.sample()
    this.#timer = setInterval(() => { void this.sample() }, this.#intervalMs)
    this.#timer.unref()
  }

  /** Stops sampling. */
  stop (): void {
    clearInterval(this.#timer)
    this.#timer = undefined
  }

  /**
   * Takes one sample and, from the second on, adds one point per color. A source that fails
   * or a sample still running skips this tick; a color whose counters went back (a restart)
   * gets no point for that interval.
   */
  async sample (): Promise<void> {
    if (this.#sampling) return
    this.#sampling = true
    try {
      const traffic = await this.#source()
      const at = this.#now()
      const previous = this.#previous
      this.#previous = { at, traffic }
      if (previous === undefined) return
      const seconds = (at - previous.at) / 1000
      const row = this.#colors.map((color) => {
        const a = previous.traffic[color]
        const b = traffic[color]
        return a === undefined || b === undefined ? undefined : intervalFigures(a, b, seconds, this.#bounds)
      })
      if (this.#at.length < this.#capacity) {
        this.#at.push(at)
        this.#points.push(row)
      } else {
        this.#at[this.#head] = at
        this.#points[this.#head] = row
      }
      this.#head = (this.#head + 1) % this.#capacity
    } catch {
      // The figures are a convenience: a failed read leaves a gap, never an error.
    } finally {
      this.#sampling = false
    }
  }

  /** The ring, oldest first, as series per color. */
  view (): FiguresView {
    const n = this.#at.length
    const start = n < this.#capacity ? 0 : this.#head
    const at: number[] = []
    const series: Record<string, ColorSeries> = {}
    for (const color of this.#colors) series[color] = { rate: [], errorRatio: [], p99: [] }
    for (let k = 0; k < n; k++) {
      const i = (start + k) % n
      at.push(this.#at[i] as number)
      const row = this.#points[i] as Array<Point | undefined>
      this.#colors.forEach((color, c) => {
        const p = row[c]
        const s = series[color] as ColorSeries
        s.rate.push(p?.rate ?? 0)
        s.errorRatio.push(p?.errorRatio ?? null)
        s.p99.push(p?.p99 ?? null)
      })
    }
    return { intervalMs: this.#intervalMs, windowSeconds: this.#windowSeconds, colors: this.#colors, at, series }
  }
}
