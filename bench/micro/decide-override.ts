/**
 * The data path's routing step for a forced color: RequestRouter.route() on requests
 * carrying a signed override value (one map lookup; no cookie is minted for an override).
 *
 *   node --import tsx bench/micro/decide-override.ts
 */
import type { IncomingHttpHeaders } from 'node:http'
import { hmacFor } from '../../src/proxy/sticky-mac.js'
import { overrideValue } from '../../src/routing/override.js'
import { bench, check, runIfMain, type MicroResult } from '../lib/micro.js'
import { COLORS, makeRouter, nowMs } from './fixtures.js'

const OVERRIDE_SECRET = 'bench-override-secret-0123456789'
const router = makeRouter({ overrides: { enabled: true, secret: OVERRIDE_SECRET } })
const overrideMac = hmacFor(OVERRIDE_SECRET, 'override')
const requests: IncomingHttpHeaders[] = COLORS.map((c) => ({ host: 'app.example', 'x-switchyard-color': overrideValue(c, overrideMac) }))

/** Runs the benchmark. */
export async function run (): Promise<MicroResult[]> {
  check(requests.every((h, i) => { const o = router.route(h, nowMs()); return o.reason === 'override' && o.color === i }), 'signed values must force their color')
  let i = 0
  return [await bench('decide, signed override (lookup+decide)', () => router.route(requests[i++ & 1] as IncomingHttpHeaders, nowMs()).color)]
}

runIfMain(import.meta.url, run)
