/**
 * verifyStickyCookie alone on a valid value: shape checks, one HMAC-SHA256 (node:crypto,
 * createHmac per call as src/proxy/sticky-mac.ts does) and a constant-time compare.
 *
 *   node --import tsx bench/micro/cookie-verify.ts
 */
import { verifyStickyCookie } from '../../src/routing/sticky-cookie.js'
import { bench, check, runIfMain, type MicroResult } from '../lib/micro.js'
import { cookieMac, cookieValues, MASK, nowSeconds, TTL_SECONDS } from './fixtures.js'

const values = cookieValues()

/** Runs the benchmark. */
export async function run (): Promise<MicroResult[]> {
  const now = nowSeconds()
  check(values.every((v) => verifyStickyCookie(v, cookieMac, now, TTL_SECONDS) !== undefined), 'every value must verify')
  let i = 0
  return [await bench('verifyStickyCookie (valid)', () => verifyStickyCookie(values[i++ & MASK] as string, cookieMac, now, TTL_SECONDS))]
}

runIfMain(import.meta.url, run)
