/**
 * Shared inputs of the micro benchmarks, built the way the data path builds them: MACs from
 * src/proxy/sticky-mac.ts (HMAC-SHA256 keyed per purpose), a 90/10 blue/green table, and
 * realistic Cookie headers carrying a sticky cookie among others.
 */
import { validateConfig } from '../../src/config/load-config.js'
import { CoarseClock } from '../../src/proxy/coarse-clock.js'
import { RequestRouter } from '../../src/proxy/request-router.js'
import { hmacFor } from '../../src/proxy/sticky-mac.js'
import type { RoutingState } from '../../src/routing/routing-state.js'
import { buildRouteTable, type RouteTable } from '../../src/routing/route-table.js'
import { encodeStickyCookie, type Mac } from '../../src/routing/sticky-cookie.js'
import { BUCKETS } from '../../src/routing/types.js'
import { colorForBucket } from '../../src/routing/weights.js'

/** The store secret the MACs derive from (any 32+ characters). */
export const SECRET = 'bench-secret-0123456789abcdef0123456789abcdef'
export const COOKIE_NAME = 'swy'
export const TTL_SECONDS = 86_400
export const COLORS: readonly string[] = ['blue', 'green']
/** Variants cycled through so no benchmark sees one input only (a power of two: index & MASK). */
export const VARIANTS = 256
export const MASK = VARIANTS - 1

/** The sticky-cookie MAC, exactly as the data path derives it. */
export const cookieMac: Mac = hmacFor(SECRET, 'sticky-cookie')

/** The 90/10 table the data path would compile (overrides off, the default). */
export const table90: RouteTable = buildRouteTable(2, COLORS, { blue: 9000, green: 1000 }, { enabled: false })

const clock = new CoarseClock().start()

/** Seconds, as the data path reads the clock (a field refreshed every 100 ms). */
export function nowSeconds (): number {
  return (clock.ms / 1000) | 0
}

/** Milliseconds, the field the data path passes to RequestRouter.route(). */
export function nowMs (): number {
  return clock.ms
}

/**
 * The data path's real routing step, built from a config the way buildDataPath builds it,
 * on the 90/10 state (version 2) with both colors available.
 * @param config extra config (sticky, overrides)
 * @param cookieCacheBytes the verified-cookie table's budget (0: its 16-slot minimum, so nearly every lookup misses over VARIANTS cookies)
 */
export function makeRouter (config: Record<string, unknown> = {}, cookieCacheBytes?: number): RequestRouter {
  const { config: c } = validateConfig({
    colors: { blue: { targets: ['http://127.0.0.1:1'] }, green: { targets: ['http://127.0.0.1:2'] } },
    store: { kind: 'memory' },
    sticky: { cookie: COOKIE_NAME, ttlSeconds: TTL_SECONDS },
    ...config
  }, {}, 'bench')
  const router = new RequestRouter({
    colors: COLORS,
    sticky: c.sticky,
    overrides: c.overrides,
    secret: SECRET,
    available: Uint8Array.of(1, 1),
    freshStart: 1234,
    ...(cookieCacheBytes === undefined ? {} : { cookieCacheBytes })
  })
  router.apply({ version: 2, weights: { blue: 9000, green: 1000 }, drainUntil: {} } as unknown as RoutingState)
  return router
}

/** Valid sticky cookie values for spread buckets, each naming the color that owns its bucket. */
export function cookieValues (table: RouteTable = table90): string[] {
  const issuedAt = nowSeconds()
  return Array.from({ length: VARIANTS }, (_, i) => {
    const bucket = (i * 7919) % BUCKETS
    return encodeStickyCookie({ bucket, color: table.colors[colorForBucket(table.thresholds, bucket)] as string, issuedAt }, cookieMac)
  })
}

/** Cookie headers as browsers send them: the sticky cookie between two others. */
export function cookieHeaders (table: RouteTable = table90): string[] {
  // Flat strings, as Node's HTTP parser hands headers over (a template literal makes a
  // cons string, on which every character read is several times slower).
  return cookieValues(table).map((v, i) => Buffer.from(`_ga=GA1.1.${100000 + i}.1700000000; ${COOKIE_NAME}=${v}; theme=dark`, 'latin1').toString('latin1'))
}
