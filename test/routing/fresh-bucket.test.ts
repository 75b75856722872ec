import t from 'tap'
import fc from 'fast-check'
import { nextFreshBucket, STRIDE } from '../../src/routing/fresh-bucket.js'
import { BUCKETS } from '../../src/routing/types.js'

t.test('the sequence visits every bucket exactly once per period', async (t) => {
  const seen = new Uint8Array(BUCKETS)
  let b = 1234
  for (let i = 0; i < BUCKETS; i++) { b = nextFreshBucket(b); seen[b] = (seen[b] ?? 0) + 1 }
  t.equal(seen.every((n) => n === 1), true)
  t.equal(b, 1234, 'back at the start after BUCKETS draws')
  t.not(STRIDE % 2, 0)
  t.not(STRIDE % 5, 0)
})

t.test('any run of up to 2 000 fresh clients splits within 4 clients of the weights', async (t) => {
  // Exhaustive over every start for the weights an operator uses most; the bound 4 is
  // what this check found as the worst case (and what the proxy e2e split test relies on).
  for (const w of [1, 10, 100, 1000, 2500, 5000, 9000]) {
    let worst = 0
    for (let start = 0; start < BUCKETS; start++) {
      let b = start
      let inside = 0
      for (let i = 1; i <= 2000; i++) {
        b = nextFreshBucket(b)
        if (b < w) inside++
        const d = Math.abs(inside - (i * w) / BUCKETS)
        if (d > worst) worst = d
      }
    }
    t.ok(worst <= 4, `weight ${w} bp: worst deviation ${worst} ≤ 4 clients`)
  }
})

t.test('property: stays in range', async () => {
  fc.assert(fc.property(fc.integer({ min: 0, max: BUCKETS - 1 }), (b) => {
    const n = nextFreshBucket(b)
    return Number.isInteger(n) && n >= 0 && n < BUCKETS
  }))
})
