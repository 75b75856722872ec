/**
 * decide() keyed by a header (sticky.mode: header): headerBucket (MurmurHash3 of the salted
 * value, e.g. a user id) and decide on that bucket. No HMAC on this path.
 *
 *   node --import tsx bench/micro/decide-header.ts
 */
import { hmacFor } from '../../src/proxy/sticky-mac.js'
import { decide } from '../../src/routing/decide.js'
import { headerBucket, saltToSeed } from '../../src/routing/header-bucket.js'
import { bench, check, runIfMain, type MicroResult } from '../lib/micro.js'
import { MASK, SECRET, table90, VARIANTS } from './fixtures.js'

// The data path's seed when no sticky.salt is configured.
const seed = saltToSeed(hmacFor(SECRET, 'header-salt')('salt'))
const userIds = Array.from({ length: VARIANTS }, (_, i) => `user-${(i * 104729).toString(16)}-${i}`)

function step (value: string): number {
  let stickyBucket = -1
  if (value !== '') stickyBucket = headerBucket(value, seed)
  return decide(table90, undefined, stickyBucket, 0).color
}

/** Runs the benchmark. */
export async function run (): Promise<MicroResult[]> {
  check(userIds.every((u) => decide(table90, undefined, headerBucket(u, seed), 0).reason === 'sticky'), 'header values must decide as sticky')
  let i = 0
  return [await bench('decide, header-keyed (headerBucket+decide)', () => step(userIds[i++ & MASK] as string))]
}

runIfMain(import.meta.url, run)
