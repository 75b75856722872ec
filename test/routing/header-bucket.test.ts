import t from 'tap'
import fc from 'fast-check'
import { headerBucket, murmur3, saltToSeed } from '../../src/routing/header-bucket.js'
import { BUCKETS } from '../../src/routing/types.js'
import { holds } from './fixtures/routing.js'

/**
 * The string whose UTF-16LE bytes are `bytes` (even length only). murmur3 hashes code units
 * two at a time, which is MurmurHash3_x86_32 over UTF-16LE bytes, so the published byte
 * vectors apply to these strings.
 */
function fromBytes (...bytes: number[]): string {
  let s = ''
  for (let i = 0; i + 1 < bytes.length; i += 2) s += String.fromCharCode((bytes[i] ?? 0) | ((bytes[i + 1] ?? 0) << 8))
  return s
}

t.test('published MurmurHash3_x86_32 vectors', async (t) => {
  const vectors: ReadonlyArray<readonly [name: string, value: string, seed: number, hash: number]> = [
    ['empty, seed 0', '', 0, 0],
    ['empty, seed 1', '', 1, 0x514e28b7],
    ['empty, seed 0xffffffff', '', 0xffffffff, 0x81f16f39],
    ['{00 00}', fromBytes(0x00, 0x00), 0, 0x30f4c306],
    ['{21 43}', fromBytes(0x21, 0x43), 0, 0xa0f7b07a],
    ['{00 00 00 00}', fromBytes(0x00, 0x00, 0x00, 0x00), 0, 0x2362f9de],
    ['{ff ff ff ff}', fromBytes(0xff, 0xff, 0xff, 0xff), 0, 0x76293b50],
    ['{21 43 65 87}', fromBytes(0x21, 0x43, 0x65, 0x87), 0, 0xf55b516b],
    ['{21 43 65 87}, seed 0x5082edee', fromBytes(0x21, 0x43, 0x65, 0x87), 0x5082edee, 0x2362f9de],
    ['"aa"', fromBytes(0x61, 0x61), 0x9747b28c, 0x5d211726],
    ['"aaaa"', fromBytes(0x61, 0x61, 0x61, 0x61), 0x9747b28c, 0x5a97808a],
    ['"abcd"', fromBytes(0x61, 0x62, 0x63, 0x64), 0x9747b28c, 0xf0478627]
  ]
  for (const [name, value, seed, hash] of vectors) t.equal(murmur3(value, seed), hash, name)
})

t.test('pinned buckets: a user keeps their color across releases', async (t) => {
  // Computed once from this implementation; a change here re-buckets every header-keyed user.
  const seed = saltToSeed('checkout-2024')
  t.equal(seed, 3856967370, 'seed of a salt')
  t.equal(saltToSeed(''), murmur3('', 0x9747b28c), 'the salt is hashed under the fixed seed 0x9747b28c')
  const pinned: ReadonlyArray<readonly [value: string, seed0: number, bucket: number]> = [
    ['', 0, 5356],
    ['a', 1867108634, 3533],
    ['ab', 374890698, 6472],
    ['user-42', 2703341929, 6695],
    ['alice@example.com', 1254183792, 1406],
    ['550e8400-e29b-41d4-a716-446655440000', 2442464299, 1661],
    ['zürich', 1780559653, 2583],
    ['\u{1F600}', 1443257913, 5312]
  ]
  for (const [value, seed0, bucket] of pinned) {
    t.equal(murmur3(value, 0), seed0, `murmur3(${JSON.stringify(value)}, 0)`)
    t.equal(headerBucket(value, seed), bucket, `bucket of ${JSON.stringify(value)}`)
  }
})

t.test('stable, in range, and the bucket is the hash reduced mod BUCKETS', async (t) => {
  holds(t, 'same value and seed, same bucket', fc.property(fc.string({ unit: 'binary' }), fc.nat({ max: 0xffffffff }), (value, seed) => {
    const h = murmur3(value, seed)
    const b = headerBucket(value, seed)
    return murmur3(value, seed) === h && headerBucket(value, seed) === b &&
      Number.isInteger(h) && h >= 0 && h <= 0xffffffff &&
      Number.isInteger(b) && b >= 0 && b < BUCKETS && b === h % BUCKETS
  }))
})

t.test('every code unit counts', async (t) => {
  // Each step of murmur3 is a bijection of the state for a fixed block, and of the block for
  // a fixed state, so equal-length values differing in one code unit can never collide.
  holds(t, 'one code unit changed → different hash', fc.property(
    fc.string({ unit: 'binary', minLength: 1 }), fc.nat(), fc.integer({ min: 1, max: 0xffff }), fc.nat({ max: 0xffffffff }),
    (value, at, delta, seed) => {
      const i = at % value.length
      const changed = value.slice(0, i) + String.fromCharCode((value.charCodeAt(i) + delta) & 0xffff) + value.slice(i + 1)
      return murmur3(value, seed) !== murmur3(changed, seed)
    }))
  t.not(murmur3('ab', 7), murmur3('ba', 7), 'order within a code-unit pair matters')
  t.not(murmur3('a', 7), murmur3('a\u0000', 7), 'a trailing NUL is not ignored')
})

t.test('seeds give independent distributions', async (t) => {
  const a = saltToSeed('release-1')
  const b = saltToSeed('release-2')
  t.not(a, b, 'different salts, different seeds')
  let sameHalf = 0
  let sameBucket = 0
  const n = 10_000
  for (let i = 0; i < n; i++) {
    const id = `user-${i}`
    const ba = headerBucket(id, a)
    const bb = headerBucket(id, b)
    if (ba === bb) sameBucket++
    if ((ba < BUCKETS / 2) === (bb < BUCKETS / 2)) sameHalf++
  }
  t.ok(sameBucket < n / 100, `few users keep their exact bucket under a new salt (${sameBucket})`)
  t.ok(sameHalf > n * 0.45 && sameHalf < n * 0.55, `a 50/50 split reshuffles about half the users (${sameHalf})`)
})

t.test('roughly uniform over 100 000 distinct ids', async (t) => {
  const seed = saltToSeed('uniformity')
  const n = 100_000
  const deciles = new Array<number>(10).fill(0)
  for (let i = 0; i < n; i++) {
    const d = Math.floor(headerBucket(`user-${i}`, seed) / (BUCKETS / 10))
    deciles[d] = (deciles[d] ?? 0) + 1
  }
  const low = deciles.slice(0, 5).reduce((x, y) => x + y, 0)
  t.ok(Math.abs(low - n / 2) <= n * 0.02, `halves within ±2 % (${low} / ${n - low})`)
  t.ok(deciles.every((c) => Math.abs(c - n / 10) <= n / 10 * 0.05), `deciles within ±5 % of ${n / 10}: ${deciles.join(' ')}`)
})
