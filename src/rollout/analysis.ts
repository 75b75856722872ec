/**
 * The verdict on one analysis interval of a rollout: `to` (the canary) against `from` (the
 * stable color, or figures recorded from it before a step at 100 %). Three rules:
 * - fewer than minRequests on either side: inconclusive (neither a pass nor a failure);
 * - 5xx ratio: fails when `to`'s exceeds `from`'s by more than maxErrorRatioDelta percentage
 *   points and a one-sided two-proportion z-test says the excess is significant at 95 %
 *   (errorRatioExcessTest), so a few unlucky requests do not roll a good release back;
 * - latency: fails when `to`'s quantile is above maxLatencyRatio × `from`'s.
 * Otherwise it passes. Pure: the clock (`at`) is passed in.
 */
import type { Analysis, AnalysisConfig, SideFigures, Verdict } from './types.js'

/** What judge() reads of one side: request and 5xx counts, and the latency quantile (seconds, null when unknown). */
export interface SideCounts {
  readonly requests: number
  readonly errors: number
  readonly latency: number | null
}

/** What errorRatioExcessTest() found. */
export interface ErrorRatioTest {
  /** p̂_to − p̂_from (fractions, not percent). */
  readonly difference: number
  /** The test statistic (finite). */
  readonly z: number
  /** z > Z_95: H0 (p_to − p_from ≤ δ) rejected at 95 %. */
  readonly significant: boolean
}

/** The one-sided 95 % critical value of the standard normal distribution, z₀.₉₅ ≈ 1.6449. */
export const Z_95 = 1.6448536269514722

/**
 * Latencies below this (1 ms, the first bound of the request-duration histogram) are not
 * told apart: the histogram only knows they are somewhere in [0, 1 ms], and the quantile's
 * interpolation inside that bucket is no measurement. `from`'s latency is taken as at least
 * this, so a `from` at 0 (or 0.2 ms) does not make any `to` fail.
 */
export const LATENCY_FLOOR_SECONDS = 0.001

/** The counts behind recorded figures (the reference `from` of a step at 100 %): errors = round(errorRatio × requests). */
export function countsOf (figures: SideFigures): SideCounts {
  return { requests: figures.requests, errors: Math.round(figures.errorRatio * figures.requests), latency: figures.latency }
}

function ratioOf (errors: number, requests: number): number {
  return requests > 0 ? Math.min(1, Math.max(0, errors / requests)) : 0
}

/**
 * One-sided two-proportion z-test (Wald, unpooled standard error) of
 * H0: p_to − p_from ≤ δ against H1: p_to − p_from > δ, at the 95 % level:
 *
 *   z = (p̂_to − p̂_from − δ) / √(p̂_to(1 − p̂_to)/n_to + p̂_from(1 − p̂_from)/n_from)
 *
 * with p̂ = errors / requests on each side; significant when z > z₀.₉₅ ≈ 1.6449. The standard
 * error is unpooled because H0 is not p_to = p_from but a margin δ (a non-inferiority test).
 * When both observed ratios are 0 or 1 that standard error is 0 and z undefined; then (only
 * then) each p̂ in it is replaced by (errors + ½)/(requests + 1), the usual zero-cell
 * correction: 1 error out of 1 against 0 of 1 is then not significant (z ≈ 1.62) while 200 of
 * 200 against 0 of 200 is (z ≈ 199), and equal all-0 or all-1 sides never are. A side
 * without requests: z = 0, not significant. `delta` is a fraction (0.01 for 1 percentage point).
 */
export function errorRatioExcessTest (from: Pick<SideCounts, 'requests' | 'errors'>, to: Pick<SideCounts, 'requests' | 'errors'>, delta: number): ErrorRatioTest {
  const pFrom = ratioOf(from.errors, from.requests)
  const pTo = ratioOf(to.errors, to.requests)
  const difference = pTo - pFrom
  if (from.requests <= 0 || to.requests <= 0) return { difference, z: 0, significant: false }
  let variance = (pTo * (1 - pTo)) / to.requests + (pFrom * (1 - pFrom)) / from.requests
  if (variance <= 0) {
    const aTo = (to.errors + 0.5) / (to.requests + 1)
    const aFrom = (from.errors + 0.5) / (from.requests + 1)
    variance = (aTo * (1 - aTo)) / to.requests + (aFrom * (1 - aFrom)) / from.requests
  }
  const z = (difference - delta) / Math.sqrt(variance)
  return { difference, z, significant: z > Z_95 }
}

function percent (ratio: number): string {
  return `${(ratio * 100).toFixed(1)} %`
}

function signedPoints (difference: number): string {
  const magnitude = Math.abs(difference * 100).toFixed(1)
  return `${difference < 0 && magnitude !== '0.0' ? '-' : '+'}${magnitude} pp`
}

function ms (seconds: number): string {
  const v = seconds * 1000
  return `${v >= 10 ? Math.round(v) : v >= 1 ? v.toFixed(1) : v.toFixed(2)} ms`
}

/** "p99", "p99.9", "p50". */
function quantileName (q: number): string {
  return `p${Number((q * 100).toFixed(3))}`
}

/** The public figures of one side (as GET /rollout shows them). */
function figures (side: SideCounts): SideFigures {
  return { requests: side.requests, errorRatio: ratioOf(side.errors, side.requests), latency: side.latency }
}

interface Check { readonly failed: boolean, readonly why: string }

function errorCheck (from: SideCounts, to: SideCounts, maxErrorRatioDelta: number): Check {
  const test = errorRatioExcessTest(from, to, maxErrorRatioDelta / 100)
  const head = `5xx ${percent(ratioOf(to.errors, to.requests))} vs ${percent(ratioOf(from.errors, from.requests))} (${signedPoints(test.difference)}`
  const exceeds = test.difference * 100 > maxErrorRatioDelta
  if (!exceeds) return { failed: false, why: `${head} ≤ ${maxErrorRatioDelta} pp)` }
  if (!test.significant) return { failed: false, why: `${head} > ${maxErrorRatioDelta} pp, not significant: z=${test.z.toFixed(1)} ≤ ${Z_95.toFixed(2)})` }
  return { failed: true, why: `${head} > ${maxErrorRatioDelta} pp, z=${test.z.toFixed(1)})` }
}

function latencyCheck (from: SideCounts, to: SideCounts, config: Pick<AnalysisConfig, 'maxLatencyRatio' | 'latencyQuantile'>): Check {
  const name = quantileName(config.latencyQuantile)
  if (from.latency === null || to.latency === null) return { failed: false, why: `${name} not measured` }
  const floored = from.latency < LATENCY_FLOOR_SECONDS
  const ratio = to.latency / Math.max(from.latency, LATENCY_FLOOR_SECONDS)
  const failed = ratio > config.maxLatencyRatio
  const basis = floored ? ` the ${LATENCY_FLOOR_SECONDS * 1000} ms floor` : ''
  // Two decimals near the limit, so the figure never reads "1.5× > 1.5×".
  const shown = ratio.toFixed(Math.abs(ratio - config.maxLatencyRatio) < 0.05 ? 2 : 1)
  return { failed, why: `${name} ${ms(to.latency)} vs ${ms(from.latency)} (${shown}×${basis} ${failed ? '>' : '≤'} ${config.maxLatencyRatio}×)` }
}

function tooFew (from: SideCounts, to: SideCounts, minRequests: number): string | null {
  const low: string[] = []
  if (from.requests < minRequests) low.push(`from had ${from.requests}`)
  if (to.requests < minRequests) low.push(`to had ${to.requests}`)
  return low.length === 0 ? null : `too few requests: ${low.join(' and ')} (< ${minRequests})`
}

/**
 * The verdict on one interval ending at `at` (ISO 8601) of step `step`: inconclusive below
 * `minRequests` on either side, fail when the 5xx check or the latency check fails (both are
 * in `why` when both fail), pass otherwise. `from` may be recorded figures (countsOf(reference)).
 */
export function judge (from: SideCounts, to: SideCounts, config: Pick<AnalysisConfig, 'minRequests' | 'maxErrorRatioDelta' | 'maxLatencyRatio' | 'latencyQuantile'>, at: string, step: number): Analysis {
  const base = { at, step, from: figures(from), to: figures(to) }
  const few = tooFew(from, to, config.minRequests)
  if (few !== null) return { ...base, verdict: 'inconclusive', why: few }
  const checks = [errorCheck(from, to, config.maxErrorRatioDelta), latencyCheck(from, to, config)]
  const failing = checks.filter((c) => c.failed)
  const verdict: Verdict = failing.length > 0 ? 'fail' : 'pass'
  return { ...base, verdict, why: (failing.length > 0 ? failing : checks).map((c) => c.why).join('; ') }
}
