/**
 * decide() for a new client: the data path's step for a request without a cookie —
 * nextFreshBucket (Weyl sequence), decide on the fresh bucket, and minting the sticky cookie
 * as route()/mint() do: encodeStickyCookie (one HMAC-SHA256), remembering the value in the
 * verified-cookie cache, and the Set-Cookie string with its attributes.
 *
 *   node --import tsx bench/micro/decide-fresh.ts
 */
import { CookieCache } from '../../src/proxy/cookie-cache.js'
import { decide } from '../../src/routing/decide.js'
import { nextFreshBucket } from '../../src/routing/fresh-bucket.js'
import { encodeStickyCookie } from '../../src/routing/sticky-cookie.js'
import { bench, check, runIfMain, type MicroResult } from '../lib/micro.js'
import { COOKIE_NAME, cookieMac, nowSeconds, table90, TTL_SECONDS } from './fixtures.js'

const cookieAttrs = `; Path=/; Max-Age=${TTL_SECONDS}; HttpOnly; SameSite=Lax`
const cache = new CookieCache(cookieMac)
let lastFresh = 1234

function step (): string {
  const t = table90
  const fresh = lastFresh = nextFreshBucket(lastFresh)
  const decision = decide(t, undefined, -1, fresh)
  const cookie = { bucket: fresh, color: t.colors[decision.color] as string, issuedAt: nowSeconds() }
  const value = encodeStickyCookie(cookie, cookieMac)
  cache.remember(value, cookie)
  return `${COOKIE_NAME}=${value}${cookieAttrs}`
}

/** Runs the benchmark. */
export async function run (): Promise<MicroResult[]> {
  check(step().startsWith(`${COOKIE_NAME}=`), 'a fresh request must mint a cookie')
  return [await bench('decide, no cookie (fresh bucket+decide+mint)', step)]
}

runIfMain(import.meta.url, run)
