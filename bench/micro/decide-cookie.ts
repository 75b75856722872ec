/**
 * The data path's routing step for a returning client: RequestRouter.route() on a request
 * whose Cookie header carries a valid sticky cookie among others — read the cookie, verify
 * it (a hit in the verified-cookie table, or, when it misses, the HMAC-SHA256 computed in
 * place by MidstateHmac), decide.
 *
 *   node --import tsx bench/micro/decide-cookie.ts
 */
import type { IncomingHttpHeaders } from 'node:http'
import { bench, check, runIfMain, type MicroResult } from '../lib/micro.js'
import { cookieHeaders, makeRouter, MASK, nowMs } from './fixtures.js'

const requests: IncomingHttpHeaders[] = cookieHeaders().map((cookie) => ({ host: 'app.example', cookie }))
const cached = makeRouter()
// The 16-slot minimum table for 256 cookies cycled through: nearly every verification misses.
const uncached = makeRouter({}, 0)

/** Runs the benchmark. */
export async function run (): Promise<MicroResult[]> {
  for (const h of requests) {
    for (const r of [uncached, cached]) {
      const o = r.route(h, nowMs())
      check(o.reason === 'sticky' && o.cookie === '', 'every cookie must verify and decide as sticky without a re-mint')
    }
  }
  let i = 0
  let j = 0
  return [
    await bench('decide, valid cookie (read+cache hit+decide)', () => cached.route(requests[i++ & MASK] as IncomingHttpHeaders, nowMs()).color),
    await bench('decide, valid cookie uncached (read+HMAC verify+decide)', () => uncached.route(requests[j++ & MASK] as IncomingHttpHeaders, nowMs()).color)
  ]
}

runIfMain(import.meta.url, run)
