/**
 * The data path's routing step in header mode: RequestRouter.route() on requests carrying
 * the sticky header (a user id) — hash it to a bucket with the seed derived from the secret,
 * decide.
 *
 *   node --import tsx bench/micro/decide-header.ts
 */
import type { IncomingHttpHeaders } from 'node:http'
import { bench, check, runIfMain, type MicroResult } from '../lib/micro.js'
import { makeRouter, MASK, nowMs, VARIANTS } from './fixtures.js'

const router = makeRouter({ sticky: { mode: 'header', header: 'X-User' } })
const requests: IncomingHttpHeaders[] = Array.from({ length: VARIANTS }, (_, i) => ({ host: 'app.example', 'x-user': `user-${(i * 104729).toString(16)}-${i}` }))

/** Runs the benchmark. */
export async function run (): Promise<MicroResult[]> {
  check(requests.every((h) => router.route(h, nowMs()).reason === 'sticky'), 'header values must decide as sticky')
  let i = 0
  return [await bench('decide, header-keyed (headerBucket+decide)', () => router.route(requests[i++ & MASK] as IncomingHttpHeaders, nowMs()).color)]
}

runIfMain(import.meta.url, run)
