import fc from 'fast-check'
import t from 'tap'
import { nextServingColor } from '../../src/routing/serving.js'

const colorsArb = fc.integer({ min: 1, max: 8 }).chain((n) => fc.record({
  weighted: fc.array(fc.integer({ min: 0, max: 1 }), { minLength: n, maxLength: n }).map((a) => Uint8Array.from(a)),
  available: fc.array(fc.integer({ min: 0, max: 1 }), { minLength: n, maxLength: n }).map((a) => Uint8Array.from(a)),
  from: fc.integer({ min: 0, max: n - 1 })
}))

/** The reference: the cyclic scan decide() used before it shared this helper. */
function reference (weighted: Uint8Array, available: Uint8Array, from: number): number {
  const n = weighted.length
  for (let k = 1; k < n; k++) {
    const c = (from + k) % n
    if (weighted[c] === 1 && available[c] === 1) return c
  }
  return -1
}

t.test('from `from`, the answer is the first later color (wrapping) with weight that can serve, never `from`', async (t) => {
  fc.assert(fc.property(colorsArb, ({ weighted, available, from }) => {
    const c = nextServingColor(weighted, available, from)
    if (c !== reference(weighted, available, from)) return false
    return c === -1 || (c !== from && weighted[c] === 1 && available[c] === 1)
  }), { numRuns: 2000 })
  t.pass('matches the reference scan')
})

t.test('walking with `after` visits every serving color except `from` once, in cyclic order', async (t) => {
  fc.assert(fc.property(colorsArb, ({ weighted, available, from }) => {
    const n = weighted.length
    const walked: number[] = []
    for (let c = nextServingColor(weighted, available, from); c >= 0; c = nextServingColor(weighted, available, from, c)) {
      walked.push(c)
      if (walked.length > n) return false
    }
    const expected: number[] = []
    for (let k = 1; k < n; k++) {
      const c = (from + k) % n
      if (weighted[c] === 1 && available[c] === 1) expected.push(c)
    }
    return JSON.stringify(walked) === JSON.stringify(expected)
  }), { numRuns: 2000 })
  t.pass('every candidate once, in order')
})

t.test('edge cases: one color, none serving, a `from` out of range stays bounded', async (t) => {
  t.equal(nextServingColor(Uint8Array.of(1), Uint8Array.of(1), 0), -1, 'a single color has no other')
  t.equal(nextServingColor(Uint8Array.of(1, 1, 1), Uint8Array.of(0, 0, 0), 1), -1)
  t.equal(nextServingColor(Uint8Array.of(1, 0, 1), Uint8Array.of(1, 1, 1), 0), 2)
  t.equal(nextServingColor(Uint8Array.of(1, 1), Uint8Array.of(1, 1), 5), 0, 'bounded scan for an out-of-range start')
  t.equal(nextServingColor(new Uint8Array(0), new Uint8Array(0), 0), -1)
})
