/**
 * Weights: percentages with at most two decimals at the API, integer basis points inside.
 *
 * Colors lie in order on [0, BUCKETS); color i owns [threshold[i-1], threshold[i]). The
 * thresholds are cumulative sums computed once per snapshot, so a pick is a scan of at most
 * N comparisons, and raising the last color's weight only moves buckets adjacent to its
 * boundary (a client already on the canary side stays there as the canary widens).
 */
import { BUCKETS, err, ok, type Problem, type Result } from './types.js'

/** Basis points per color name; the names are exactly the configured colors. */
export type BasisPoints = Readonly<Record<string, number>>

/**
 * The weight of a color in a table, 0 when absent. Reads own properties only: a color may
 * be named like an Object.prototype member ("constructor"), which a plain index would find
 * on the prototype.
 */
export function weightOf (weights: Readonly<Record<string, number>>, color: string): number {
  return Object.hasOwn(weights, color) ? weights[color] as number : 0
}

/**
 * Converts one percentage (0..100, up to two decimals) to basis points.
 * Returns a problem for out-of-range or over-precise values instead of rounding silently.
 */
export function percentToBasisPoints (color: string, percent: number): Result<number, Problem> {
  if (!Number.isFinite(percent) || percent < 0 || percent > 100) {
    return err({ code: 'WEIGHTS_RANGE', message: `weight of "${color}" must be a number from 0 to 100, got ${String(percent)}` })
  }
  const scaled = percent * 100
  const rounded = Math.round(scaled)
  // Binary floats put 0.29 × 100 at 28.999999999999996: allow that, refuse anything more.
  if (Math.abs(scaled - rounded) > 1e-9) {
    return err({ code: 'WEIGHTS_PRECISION', message: `weight of "${color}" has more than two decimals: ${String(percent)}` })
  }
  return ok(rounded)
}

/** Converts basis points back to a percentage for display (exact for two decimals). */
export function basisPointsToPercent (bp: number): number {
  return bp / 100
}

/**
 * Validates a full weight table given in percent against the configured colors.
 * Colors left out weigh 0; the table must sum to exactly 100 %.
 */
export function parseWeights (colors: readonly string[], percents: Readonly<Record<string, number>>): Result<BasisPoints, Problem> {
  const known = new Set(colors)
  for (const name of Object.keys(percents)) {
    if (!known.has(name)) {
      return err({ code: 'UNKNOWN_COLOR', message: `unknown color "${name}"; configured colors are ${colors.join(', ')}` })
    }
  }
  const out: Record<string, number> = {}
  let sum = 0
  for (const color of colors) {
    const percent = weightOf(percents, color)
    const bp = percentToBasisPoints(color, percent)
    if (!bp.ok) return bp
    out[color] = bp.value
    sum += bp.value
  }
  if (sum !== BUCKETS) {
    return err({ code: 'WEIGHTS_SUM', message: `weights must sum to 100, got ${String(sum / 100)}` })
  }
  return ok(out)
}

/** Shows a basis-point table as percentages, in color order. */
export function weightsToPercent (colors: readonly string[], weights: BasisPoints): Record<string, number> {
  const out: Record<string, number> = {}
  for (const color of colors) out[color] = basisPointsToPercent(weightOf(weights, color))
  return out
}

/**
 * Cumulative upper bounds per color, in color order: bucket b belongs to the first color i
 * with b < thresholds[i]. A color of weight 0 gets an empty range.
 */
export function computeThresholds (colors: readonly string[], weights: BasisPoints): Uint16Array {
  const thresholds = new Uint16Array(colors.length)
  let acc = 0
  for (let i = 0; i < colors.length; i++) {
    acc += weightOf(weights, colors[i] as string)
    thresholds[i] = acc
  }
  return thresholds
}

/**
 * The color index that owns a bucket. Validated weights always cover [0, BUCKETS); should a
 * table fall short, a bucket past the end goes to the last color with any weight (never an
 * out-of-range index, never a color of weight 0 while another has weight).
 */
export function colorForBucket (thresholds: Uint16Array, bucket: number): number {
  let last = 0
  let previous = 0
  for (let i = 0; i < thresholds.length; i++) {
    const t = thresholds[i] as number
    if (bucket < t) return i
    if (t > previous) last = i
    previous = t
  }
  return last
}
