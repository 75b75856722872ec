/**
 * Header-keyed buckets: MurmurHash3 (x86, 32-bit) of the salted header value, reduced to
 * [0, BUCKETS). Stable for a value and salt across processes and restarts, well spread, and
 * cheap (no allocation: the string is read by char code).
 */
import { BUCKETS } from './types.js'

function mix (h: number, k: number): number {
  k = Math.imul(k, 0xcc9e2d51)
  k = (k << 15) | (k >>> 17)
  k = Math.imul(k, 0x1b873593)
  h ^= k
  h = (h << 13) | (h >>> 19)
  return (Math.imul(h, 5) + 0xe6546b64) | 0
}

/** MurmurHash3_x86_32 over the UTF-16 code units of `value`, seeded. */
export function murmur3 (value: string, seed: number): number {
  let h = seed | 0
  const len = value.length
  let i = 0
  for (; i + 1 < len; i += 2) {
    h = mix(h, (value.charCodeAt(i) & 0xffff) | ((value.charCodeAt(i + 1) & 0xffff) << 16))
  }
  if (i < len) {
    let k = value.charCodeAt(i) & 0xffff
    k = Math.imul(k, 0xcc9e2d51)
    k = (k << 15) | (k >>> 17)
    k = Math.imul(k, 0x1b873593)
    h ^= k
  }
  h ^= len * 2
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}

/** Derives a 32-bit seed from a salt string (once per snapshot, not per request). */
export function saltToSeed (salt: string): number {
  return murmur3(salt, 0x9747b28c)
}

/** The bucket of a header value (e.g. a user id) under a deployment's seed. */
export function headerBucket (value: string, seed: number): number {
  return murmur3(value, seed) % BUCKETS
}
