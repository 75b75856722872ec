/**
 * Fresh buckets for clients without a sticky bucket, drawn from an additive (Weyl) sequence:
 * b(n+1) = (b(n) + STRIDE) mod BUCKETS with STRIDE ≈ BUCKETS × (golden ratio − 1), coprime to
 * BUCKETS. The sequence visits every bucket once per BUCKETS draws and spreads any run of
 * consecutive draws evenly over [0, BUCKETS), so the share of new clients a color receives
 * tracks its weight within a few basis points even over a few hundred requests, where
 * independent random draws would wander by several percent. The start is random (passed in).
 */
import { BUCKETS } from './types.js'

/** The step: 6181 is odd and not a multiple of 5, hence coprime to 10 000 (full period). */
export const STRIDE = 6181

/** The bucket after `previous` in the sequence. */
export function nextFreshBucket (previous: number): number {
  const n = previous + STRIDE
  return n >= BUCKETS ? n - BUCKETS : n
}
