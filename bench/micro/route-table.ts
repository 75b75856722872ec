/**
 * buildRouteTable: the snapshot compiled on every state change (thresholds, override map,
 * pre-built decisions), for 2 and 8 colors, and for 8 colors with signed overrides (one
 * HMAC per color per build). Runs on writes only, never per request.
 *
 *   node --import tsx bench/micro/route-table.ts
 */
import { hmacFor } from '../../src/proxy/sticky-mac.js'
import { buildRouteTable } from '../../src/routing/route-table.js'
import { BUCKETS } from '../../src/routing/types.js'
import { bench, check, runIfMain, type MicroResult } from '../lib/micro.js'

function even (colors: readonly string[]): Record<string, number> {
  const w: Record<string, number> = {}
  colors.forEach((c, i) => { w[c] = i === 0 ? BUCKETS - Math.floor(BUCKETS / colors.length) * (colors.length - 1) : Math.floor(BUCKETS / colors.length) })
  return w
}

const two = ['blue', 'green']
const eight = ['blue', 'green', 'red', 'amber', 'teal', 'violet', 'ochre', 'slate']
const weights2 = even(two)
const weights8 = even(eight)
const overrideMac = hmacFor('bench-override-secret-0123456789', 'override')

/** Runs the benchmarks. */
export async function run (): Promise<MicroResult[]> {
  check(buildRouteTable(1, eight, weights8, { enabled: false }).thresholds[7] === BUCKETS, 'weights must cover every bucket')
  let v = 0
  return [
    await bench('buildRouteTable, 2 colors', () => buildRouteTable(++v, two, weights2, { enabled: false })),
    await bench('buildRouteTable, 8 colors', () => buildRouteTable(++v, eight, weights8, { enabled: false })),
    await bench('buildRouteTable, 8 colors, signed overrides', () => buildRouteTable(++v, eight, weights8, { enabled: true, mac: overrideMac }))
  ]
}

runIfMain(import.meta.url, run)
