/**
 * The data path's routing step for a new client: RequestRouter.route() on a request without
 * a cookie — the next fresh bucket (Weyl sequence), decide, and the sticky Set-Cookie, which
 * the router signs once per (bucket, color, minute) and then reuses, as the server does.
 *
 *   node --import tsx bench/micro/decide-fresh.ts
 */
import type { IncomingHttpHeaders } from 'node:http'
import { bench, check, runIfMain, type MicroResult } from '../lib/micro.js'
import { COOKIE_NAME, makeRouter, nowMs } from './fixtures.js'

const router = makeRouter()
const request: IncomingHttpHeaders = { host: 'app.example' }

/** Runs the benchmark. */
export async function run (): Promise<MicroResult[]> {
  check(router.route(request, nowMs()).cookie.startsWith(`${COOKIE_NAME}=`), 'a fresh request must get a cookie')
  return [await bench('decide, no cookie (fresh bucket+decide+mint)', () => router.route(request, nowMs()).cookie)]
}

runIfMain(import.meta.url, run)
