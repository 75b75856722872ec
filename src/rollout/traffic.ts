/**
 * One color's traffic over an analysis interval, from the cumulative counters every live
 * instance publishes with its heartbeat (TrafficReport): the sum over instances of what each
 * counted since the interval's baseline, an instance that restarted (new epoch) or joined
 * counting in full. Then the interval's figures: requests, 5xx and a latency quantile read
 * from the summed histogram as Prometheus' histogram_quantile() reads it. Pure arithmetic.
 */
import type { ColorTraffic, SideFigures, TrafficReport, TrafficSnapshot } from './types.js'

/** An instance as the store lists it: its id and, when it publishes one, its traffic report. */
export interface TrafficSource {
  readonly id: string
  readonly traffic?: TrafficReport | undefined
}

/** One side's figures over an interval with the 5xx count itself (judge() needs counts). */
export interface IntervalFigures extends SideFigures {
  readonly errors: number
}

const NO_TRAFFIC: ColorTraffic = Object.freeze({ requests: 0, errors: 0, buckets: Object.freeze([]) })

/** `a - b`, never below 0 (a counter never goes down within one epoch; if it seems to, nothing happened). */
function since (a: number, b: number): number {
  return a > b ? a - b : 0
}

/**
 * `color`'s traffic since `baseline`, summed over `instances` (the live ones now). An instance
 * whose baseline report has the same epoch counts current − baseline (per field, clamped at
 * 0); one absent from the baseline, or whose epoch changed (it restarted), counts its whole
 * current counters, which all started after the baseline was taken. An instance without a
 * report, or gone since the baseline, counts nothing. A null baseline counts everything.
 */
export function intervalFigures (baseline: TrafficSnapshot | null, instances: readonly TrafficSource[], color: string): ColorTraffic {
  let requests = 0
  let errors = 0
  const buckets: number[] = []
  for (const instance of instances) {
    const current = instance.traffic?.colors[color]
    if (current === undefined || instance.traffic === undefined) continue
    const before = baseline?.[instance.id]
    const base = before !== undefined && before.epoch === instance.traffic.epoch ? (before.colors[color] ?? NO_TRAFFIC) : NO_TRAFFIC
    requests += since(current.requests, base.requests)
    errors += since(current.errors, base.errors)
    for (let i = 0; i < current.buckets.length; i++) {
      buckets[i] = (buckets[i] ?? 0) + since(current.buckets[i] as number, base.buckets[i] ?? 0)
    }
  }
  return { requests, errors, buckets }
}

/** The reports of the instances that publish one, by instance id: the baseline of the next interval. */
export function snapshotOf (instances: readonly TrafficSource[]): TrafficSnapshot {
  const out: Record<string, TrafficReport> = {}
  for (const instance of instances) {
    if (instance.traffic !== undefined) out[instance.id] = instance.traffic
  }
  return out
}

/**
 * The figures of one side over an interval: requests, 5xx (and their ratio, 0 without
 * requests) and the `quantile` of the latency histogram (`bounds` its finite upper bounds, in
 * seconds), null without observations.
 */
export function sideFigures (t: ColorTraffic, quantile: number, bounds: readonly number[]): IntervalFigures {
  return {
    requests: t.requests,
    errors: t.errors,
    errorRatio: t.requests > 0 ? t.errors / t.requests : 0,
    latency: histogramQuantile(t.buckets, bounds, quantile)
  }
}

/**
 * The `q` quantile (0..1) of a histogram given as per-bucket counts (not cumulative; bucket i
 * holds observations ≤ bounds[i], the one after the last bound everything slower), computed
 * as Prometheus' histogram_quantile(): find the bucket holding rank q × total and interpolate
 * linearly inside it, the first bucket from 0; a rank in the +Inf bucket answers the highest
 * finite bound. Null when the histogram has no observations (Prometheus: NaN).
 */
export function histogramQuantile (buckets: readonly number[], bounds: readonly number[], q: number): number | null {
  let total = 0
  for (const n of buckets) total += n
  if (total <= 0 || bounds.length === 0) return null
  if (q <= 0) return 0
  const rank = Math.min(q, 1) * total
  let below = 0
  for (let i = 0; i < bounds.length; i++) {
    const n = buckets[i] ?? 0
    if (below + n >= rank && n > 0) {
      const lower = i === 0 ? 0 : bounds[i - 1] as number
      const upper = bounds[i] as number
      return lower + (upper - lower) * ((rank - below) / n)
    }
    below += n
  }
  return bounds[bounds.length - 1] as number
}
