/**
 * The decision, in DESIGN order: override, then drain, then the client's bucket (sticky or
 * fresh) mapped to a color by the table's cumulative thresholds, then fallback when that
 * color cannot serve. Pure and allocation-free: the caller reads the request and the
 * instance's health and passes plain values in; the answer is a shared Decision.
 *
 * - override: a valid override value forces its color; if that color cannot serve, no
 *   route (the tester asked for that color, silently serving another would mislead).
 * - drain: a client whose cookie names a color of weight 0 that is inside its drain window
 *   and can serve stays on it.
 * - fallback: the next color in order (wrapping) with weight > 0 that can serve. A color of
 *   weight 0 is never chosen except by override or drain; with none left, no route (503).
 */
import { NO_ROUTE, type Decision, type RouteTable } from './route-table.js'
import { nextServingColor } from './serving.js'
import { colorForBucket } from './weights.js'

/** Reason indexes in REASONS order, to address pre-built decisions without a lookup. */
const OVERRIDE = 0
const STICKY = 1
const WEIGHT = 2
const DRAIN = 3
const FALLBACK = 4

/**
 * Picks the color of one request.
 * @param override the override header value, if the request carries one
 * @param stickyBucket the client's stable bucket (verified cookie or header hash), or -1
 * @param freshBucket a bucket in [0, BUCKETS) drawn by the caller, used when not sticky
 * @param cookieColor the color index the client's cookie says served it last, or -1
 * @param nowSeconds the time, for drain windows
 * @param available per color: 1 when it has a target that can take a request now
 */
export function decide (table: RouteTable, override: string | undefined, stickyBucket: number, freshBucket: number,
  cookieColor = -1, nowSeconds = 0, available?: Uint8Array): Decision {
  const n = table.colors.length
  if (override !== undefined) {
    const forced = table.overrides.get(override)
    if (forced !== undefined) return available === undefined || available[forced] === 1 ? table.decisions[OVERRIDE * n + forced] as Decision : NO_ROUTE
  }
  if (cookieColor >= 0 && cookieColor < n && (table.drainUntil[cookieColor] as number) > nowSeconds &&
      (available === undefined || available[cookieColor] === 1)) {
    return table.decisions[DRAIN * n + cookieColor] as Decision
  }
  const sticky = stickyBucket >= 0
  const color = colorForBucket(table.thresholds, sticky ? stickyBucket : freshBucket)
  if (available === undefined || available[color] === 1) return table.decisions[(sticky ? STICKY : WEIGHT) * n + color] as Decision
  const c = nextServingColor(table.weighted, available, color)
  return c < 0 ? NO_ROUTE : table.decisions[FALLBACK * n + c] as Decision
}

export { decisionFor } from './route-table.js'
