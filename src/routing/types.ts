/**
 * Shared vocabulary of the pure routing core: results as values, decision reasons and the
 * size of the bucket space. Nothing in src/routing does I/O, reads a clock or draws a random
 * number; callers pass those in.
 */

/** Buckets a client can fall in: weights are basis points of this space (0.01 % steps). */
export const BUCKETS = 10_000

/** Why a request went to the color it went to; metrics label by this fixed set. */
export type Reason = 'override' | 'sticky' | 'weight' | 'drain' | 'fallback'

/** Every reason, in a fixed order (a reason's index addresses decisions in the route table and metric cells). */
export const REASONS: readonly Reason[] = ['override', 'sticky', 'weight', 'drain', 'fallback']

/**
 * Each reason's index in REASONS: the one source of reason indices (decide's pre-built
 * decisions, the proxy's fallback, the metrics cells), so the hot path carries a small
 * integer, never a string. Derived from REASONS, so the two cannot disagree.
 */
export const REASON_INDEX: { readonly [R in Reason]: number } = Object.freeze(Object.fromEntries(REASONS.map((r, i) => [r, i])) as Record<Reason, number>)

/** A failure of the pure core is a value, never an exception. */
export type Result<T, E> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: E }

/** Builds a successful result. */
export function ok<T> (value: T): { readonly ok: true; readonly value: T } {
  return { ok: true, value }
}

/** Builds a failed result. */
export function err<E> (error: E): { readonly ok: false; readonly error: E } {
  return { ok: false, error }
}

/** A problem found in caller input, with the code the edges turn into an HTTP error. */
export interface Problem {
  readonly code: ProblemCode
  readonly message: string
}

/** Codes the pure core can report; each maps to a row of src/errors.ts (PROBLEM_ERRORS). */
export type ProblemCode =
  | 'WEIGHTS_SUM'
  | 'WEIGHTS_PRECISION'
  | 'WEIGHTS_RANGE'
  | 'UNKNOWN_COLOR'
  | 'NOTHING_TO_ROLL_BACK'
  | 'TARGET_EXISTS'
  | 'UNKNOWN_TARGET'
