/**
 * Every micro benchmark, one file per function, in a fixed order.
 *
 *   node --import tsx bench/micro/index.ts
 */
import { runIfMain, type MicroResult } from '../lib/micro.js'
import * as cookieVerify from './cookie-verify.js'
import * as decideAlone from './decide.js'
import * as decideCookie from './decide-cookie.js'
import * as decideFresh from './decide-fresh.js'
import * as decideHeader from './decide-header.js'
import * as decideOverride from './decide-override.js'
import * as routeTable from './route-table.js'

/** Runs every micro benchmark and returns their figures. */
export async function runMicro (): Promise<MicroResult[]> {
  process.stdout.write('micro (mitata; ops/s = 1e9 / mean ns per op)\n')
  const out: MicroResult[] = []
  for (const m of [decideCookie, decideFresh, decideHeader, decideOverride, decideAlone, cookieVerify, routeTable]) out.push(...await m.run())
  return out
}

runIfMain(import.meta.url, runMicro)
