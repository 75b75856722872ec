/**
 * The decision: override, then sticky bucket, then a fresh bucket, mapped to a color by the
 * table's cumulative thresholds. Pure and allocation-free: the caller reads the request
 * (header values, a verified cookie, a random number) and passes plain values in.
 */
import { decisionFor, type Decision, type RouteTable } from './route-table.js'
import { colorForBucket } from './weights.js'

/** Reason indexes in REASONS order, to address pre-built decisions without a lookup. */
const OVERRIDE = 0
const STICKY = 1
const WEIGHT = 2

/**
 * Picks the color of one request.
 * @param override the override header/cookie value, if the request carries one
 * @param stickyBucket the client's stable bucket (verified cookie or header hash), or -1
 * @param freshBucket a bucket in [0, BUCKETS) drawn by the caller, used when not sticky
 */
export function decide (table: RouteTable, override: string | undefined, stickyBucket: number, freshBucket: number): Decision {
  const n = table.colors.length
  if (override !== undefined) {
    const forced = table.overrides.get(override)
    if (forced !== undefined) return table.decisions[OVERRIDE * n + forced] as Decision
  }
  if (stickyBucket >= 0) {
    return table.decisions[STICKY * n + colorForBucket(table.thresholds, stickyBucket)] as Decision
  }
  return table.decisions[WEIGHT * n + colorForBucket(table.thresholds, freshBucket)] as Decision
}

export { decisionFor }
