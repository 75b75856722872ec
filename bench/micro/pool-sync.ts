/**
 * syncPools on every applied state (control path, not the data path): 4 colors of 256
 * targets each, a state whose pool matches them (the common case: a weight change), and one
 * that adds a target to a color.
 *
 *   node --import tsx bench/micro/pool-sync.ts
 */
import { syncPools } from '../../src/proxy/pool-sync.js'
import { TargetPools } from '../../src/proxy/target-pool.js'
import type { Pool, PoolTarget } from '../../src/routing/pool.js'
import { bench, check, runIfMain, type MicroResult } from '../lib/micro.js'

const COLORS = ['blue', 'green', 'red', 'amber']
const targets: PoolTarget[][] = COLORS.map((c, ci) => Array.from({ length: 256 }, (_, i) => ({ id: `${c}-${i}`, url: `http://10.${ci}.${i >> 8}.${i & 255}:3000` })))
const config: Pool = Object.fromEntries(COLORS.map((c, i) => [c, targets[i] ?? []]))
const policy = { enabled: true, consecutiveFailures: 5, baseEjectionMs: 30_000, maxEjectionMs: 300_000 }
const enabled = (): 'enabled' => 'enabled'

/** Runs the benchmark. */
export async function run (): Promise<MicroResult[]> {
  const pools = new TargetPools(COLORS, targets, policy)
  const plusOne: Pool = { ...config, blue: [...config.blue ?? [], { id: 'blue-new', url: 'http://10.9.9.9:3000' }] }
  syncPools(pools, COLORS, plusOne, config, enabled)
  check(pools.byColor[0]?.length === 257, 'the added target joined')
  syncPools(pools, COLORS, config, config, enabled)
  check(pools.byColor[0]?.length === 256, 'the removed (idle) target left')
  const out = [await bench('syncPools, 4x256 targets, no change', () => { syncPools(pools, COLORS, config, config, enabled) })]
  let flip = false
  out.push(await bench('syncPools, 4x256 targets, one added or removed', () => { flip = !flip; syncPools(pools, COLORS, flip ? plusOne : config, config, enabled) }))
  pools.close()
  return out
}

runIfMain(import.meta.url, run)
