/**
 * decide() for a returning client: the full per-request routing step of the data path
 * (src/proxy/proxy-server.ts, route()) for a request carrying a valid sticky cookie —
 * readCookie on the Cookie header, the verified-cookie cache (src/proxy/cookie-cache.ts,
 * a map hit for a cookie seen before), decide on the sticky bucket, and the served-color
 * check that re-mints only when the color changed (it does not here). Also the same step
 * on a cache miss: verifyStickyCookie with its HMAC-SHA256, what the first request of a
 * client on this instance (or after a secret change) costs.
 *
 *   node --import tsx bench/micro/decide-cookie.ts
 */
import { CookieCache } from '../../src/proxy/cookie-cache.js'
import { decide } from '../../src/routing/decide.js'
import { encodeStickyCookie, readCookie, verifyStickyCookie, type StickyCookie } from '../../src/routing/sticky-cookie.js'
import { bench, check, runIfMain, type MicroResult } from '../lib/micro.js'
import { COOKIE_NAME, cookieHeaders, cookieMac, MASK, nowSeconds, table90, TTL_SECONDS } from './fixtures.js'

const headers = cookieHeaders()
const cache = new CookieCache(cookieMac)
const uncached = (raw: string, now: number): StickyCookie | undefined => verifyStickyCookie(raw, cookieMac, now, TTL_SECONDS)
const cached = (raw: string, now: number): StickyCookie | undefined => cache.verify(raw, now, TTL_SECONDS)

function step (header: string, verify: (raw: string, now: number) => StickyCookie | undefined): number {
  const t = table90
  let stickyBucket = -1
  let cookieColor = ''
  const raw = readCookie(header, COOKIE_NAME)
  if (raw !== undefined) {
    const c = verify(raw, nowSeconds())
    if (c !== undefined) { stickyBucket = c.bucket; cookieColor = c.color }
  }
  const decision = decide(t, undefined, stickyBucket, 0)
  const served = t.colors[decision.color] as string
  if (stickyBucket >= 0 && cookieColor !== served) {
    return encodeStickyCookie({ bucket: stickyBucket, color: served, issuedAt: nowSeconds() }, cookieMac).length
  }
  return decision.reasonIndex
}

/** Runs the benchmarks. */
export async function run (): Promise<MicroResult[]> {
  for (const h of headers) {
    check(step(h, uncached) === 1, 'every cookie must verify and decide as sticky without a re-mint')
    check(step(h, cached) === 1, 'every cookie must pass the cache and decide as sticky')
  }
  let i = 0
  let j = 0
  return [
    await bench('decide, valid cookie (read+cache hit+decide)', () => step(headers[i++ & MASK] as string, cached)),
    await bench('decide, valid cookie uncached (read+HMAC verify+decide)', () => step(headers[j++ & MASK] as string, uncached))
  ]
}

runIfMain(import.meta.url, run)
