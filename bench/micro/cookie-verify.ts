/**
 * Cookie verification alone on valid values: verifyStickyCookie (shape checks, one
 * HMAC-SHA256 with node:crypto's createHmac per call, as the previous release verified
 * every cache miss), and the data path's in-place check, verifyStickyCookieAt with
 * MidstateHmac (the same HMAC from precomputed pad midstates, nothing allocated).
 *
 *   node --import tsx bench/micro/cookie-verify.ts
 */
import { MidstateHmac } from '../../src/proxy/sticky-mac.js'
import { StickyParse, verifyStickyCookie, verifyStickyCookieAt } from '../../src/routing/sticky-cookie.js'
import { bench, check, runIfMain, type MicroResult } from '../lib/micro.js'
import { COLORS, cookieMac, cookieValues, MASK, nowSeconds, SECRET, TTL_SECONDS } from './fixtures.js'

const values = cookieValues()
const midstate = new MidstateHmac(SECRET, 'sticky-cookie')
const out = new StickyParse()

/** Runs the benchmark. */
export async function run (): Promise<MicroResult[]> {
  const now = nowSeconds()
  check(values.every((v) => verifyStickyCookie(v, cookieMac, now, TTL_SECONDS) !== undefined), 'every value must verify')
  check(values.every((v) => verifyStickyCookieAt(v, 0, v.length, midstate, now, TTL_SECONDS, COLORS, out)), 'every value must verify in place')
  let i = 0
  let j = 0
  return [
    await bench('verifyStickyCookie (valid)', () => verifyStickyCookie(values[i++ & MASK] as string, cookieMac, now, TTL_SECONDS)),
    await bench('verifyStickyCookieAt + MidstateHmac (valid)', () => {
      const v = values[j++ & MASK] as string
      return verifyStickyCookieAt(v, 0, v.length, midstate, now, TTL_SECONDS, COLORS, out)
    })
  ]
}

runIfMain(import.meta.url, run)
