/**
 * decide() with the override: a request forcing a color with a signed override value
 * (overrides.enabled with overrides.secret). The data path reads the header, draws a fresh
 * bucket (no cookie) and decide() finds the value in the table's precomputed override map;
 * no cookie is minted for an override.
 *
 *   node --import tsx bench/micro/decide-override.ts
 */
import { hmacFor } from '../../src/proxy/sticky-mac.js'
import { decide } from '../../src/routing/decide.js'
import { nextFreshBucket } from '../../src/routing/fresh-bucket.js'
import { overrideValue } from '../../src/routing/override.js'
import { buildRouteTable } from '../../src/routing/route-table.js'
import { bench, check, runIfMain, type MicroResult } from '../lib/micro.js'
import { COLORS } from './fixtures.js'

const overrideMac = hmacFor('bench-override-secret-0123456789', 'override')
const table = buildRouteTable(2, COLORS, { blue: 9000, green: 1000 }, { enabled: true, mac: overrideMac })
const values = COLORS.map((c) => overrideValue(c, overrideMac))
let lastFresh = 1234

function step (value: string): number {
  const fresh = lastFresh = nextFreshBucket(lastFresh)
  return decide(table, value, -1, fresh).color
}

/** Runs the benchmark. */
export async function run (): Promise<MicroResult[]> {
  check(values.every((v, i) => decide(table, v, -1, 0).reason === 'override' && decide(table, v, -1, 0).color === i), 'signed values must force their color')
  let i = 0
  return [await bench('decide, signed override (lookup+decide)', () => step(values[i++ & 1] as string))]
}

runIfMain(import.meta.url, run)
