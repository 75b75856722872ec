/**
 * decide() alone, on a bucket already known (the pure routing core, no cookie, no HMAC):
 * the floor under every other decide benchmark.
 *
 *   node --import tsx bench/micro/decide.ts
 */
import { decide } from '../../src/routing/decide.js'
import { BUCKETS } from '../../src/routing/types.js'
import { bench, check, runIfMain, type MicroResult } from '../lib/micro.js'
import { table90 } from './fixtures.js'

/** Runs the benchmark. */
export async function run (): Promise<MicroResult[]> {
  check(decide(table90, undefined, 9500, 0).color === 1, 'bucket 9500 is green at 90/10')
  let b = 0
  return [await bench('decide alone (known sticky bucket)', () => {
    b = b + 7919 >= BUCKETS ? b + 7919 - BUCKETS : b + 7919
    return decide(table90, undefined, b, 0).color
  })]
}

runIfMain(import.meta.url, run)
