import t from 'tap'
import fc from 'fast-check'
import { BUCKETS, type ProblemCode } from '../../src/routing/types.js'
import {
  basisPointsToPercent, colorForBucket, computeThresholds, parseWeights, percentToBasisPoints, weightOf, weightsToPercent
} from '../../src/routing/weights.js'
import { arbSplit, colorsOf, countOwners, holds, ownersOf, tableOf } from './fixtures/routing.js'

const BLUE_GREEN = ['blue', 'green'] as const
const RGB = ['blue', 'green', 'red'] as const

t.test('every bucket is owned, and each color owns exactly its basis points', async (t) => {
  holds(t, 'exact split over 2..8 colors', fc.property(arbSplit, (bp) => {
    const colors = colorsOf(bp.length)
    const thresholds = computeThresholds(colors, tableOf(colors, bp))
    const counts = countOwners(colors.length, (b) => colorForBucket(thresholds, b))
    return counts.every((n, i) => n === (i < bp.length ? bp[i] : 0))
  }))
})

t.test('parsed percentages split the bucket space exactly', async (t) => {
  const cases = [
    { name: '90/10', colors: BLUE_GREEN, percents: { blue: 90, green: 10 }, bp: [9000, 1000] },
    { name: '0/100', colors: BLUE_GREEN, percents: { blue: 0, green: 100 }, bp: [0, 10000] },
    { name: '100/0', colors: BLUE_GREEN, percents: { blue: 100, green: 0 }, bp: [10000, 0] },
    { name: 'a color left out weighs 0', colors: BLUE_GREEN, percents: { green: 100 }, bp: [0, 10000] },
    { name: '0.01/99.99', colors: BLUE_GREEN, percents: { blue: 0.01, green: 99.99 }, bp: [1, 9999] },
    { name: '0.29/99.71 (inexact in binary)', colors: BLUE_GREEN, percents: { blue: 0.29, green: 99.71 }, bp: [29, 9971] },
    { name: '33.33/33.33/33.34', colors: RGB, percents: { blue: 33.33, green: 33.33, red: 33.34 }, bp: [3333, 3333, 3334] },
    { name: 'zero weight in the middle', colors: RGB, percents: { blue: 50, green: 0, red: 50 }, bp: [5000, 0, 5000] }
  ]
  for (const c of cases) {
    const parsed = parseWeights(c.colors, c.percents)
    if (!parsed.ok) {
      t.fail(`${c.name}: ${parsed.error.message}`)
      continue
    }
    t.strictSame(parsed.value, tableOf(c.colors, c.bp), `${c.name}: basis points`)
    const thresholds = computeThresholds(c.colors, parsed.value)
    t.strictSame(countOwners(c.colors.length, (b) => colorForBucket(thresholds, b)), [...c.bp, 0], `${c.name}: bucket counts`)
  }
})

t.test('ranges are contiguous, in color order, with exact boundaries', async (t) => {
  const thresholds = computeThresholds(RGB, { blue: 2000, green: 0, red: 8000 })
  t.strictSame([...thresholds], [2000, 2000, 10000], 'cumulative upper bounds')
  const cases: ReadonlyArray<readonly [bucket: number, owner: number]> = [
    [0, 0], [1999, 0], [2000, 2], [9999, 2]
  ]
  for (const [bucket, owner] of cases) t.equal(colorForBucket(thresholds, bucket), owner, `bucket ${bucket}`)
})

t.test('a bucket no range covers goes to the last color with weight', async (t) => {
  // Validated tables always cover [0, BUCKETS); this is the guard for one that does not.
  const cases: ReadonlyArray<readonly [name: string, bp: readonly number[], bucket: number, owner: number]> = [
    ['past the end of a full table', [2000, 0, 8000], BUCKETS, 2],
    ['far past the end', [2000, 0, 8000], BUCKETS + 123, 2],
    ['short table, trailing zeros', [5000, 0, 0], 7000, 0],
    ['short table, zero on both sides', [0, 3000, 0], 9999, 1],
    ['short table, inside the covered part', [0, 3000, 0], 2999, 1],
    ['short table, weights on both ends', [1000, 0, 1000], 5000, 2]
  ]
  for (const [name, bp, bucket, owner] of cases) {
    t.equal(colorForBucket(computeThresholds(RGB, tableOf(RGB, bp)), bucket), owner, name)
  }
})

t.test('widening the last color never takes a bucket away from it', async (t) => {
  const arbWidening = arbSplit.chain((bp) =>
    fc.tuple(fc.constant(bp), fc.tuple(...bp.slice(0, -1).map((w) => fc.integer({ min: 0, max: w })))))
  holds(t, 'last color keeps its buckets and gains exactly what it took', fc.property(arbWidening, ([bp, taken]) => {
    const colors = colorsOf(bp.length)
    const last = bp.length - 1
    const widened = bp.map((w, i) => (i === last ? w + taken.reduce((a, b) => a + b, 0) : w - (taken[i] ?? 0)))
    const before = ownersOf(colors, tableOf(colors, bp))
    const after = ownersOf(colors, tableOf(colors, widened))
    let gained = 0
    for (let b = 0; b < BUCKETS; b++) {
      if (before[b] === last && after[b] !== last) return false
      if (before[b] !== last && after[b] === last) gained++
    }
    return gained === (widened[last] ?? 0) - (bp[last] ?? 0)
  }))
})

t.test('two colors: when green grows, every green bucket stays green', async (t) => {
  const arbGrowth = fc.tuple(fc.integer({ min: 0, max: BUCKETS }), fc.integer({ min: 0, max: BUCKETS }), fc.boolean())
    .map(([a, b, greenFirst]) => ({ from: Math.min(a, b), to: Math.max(a, b), greenFirst }))
  holds(t, 'monotone in either color order', fc.property(arbGrowth, ({ from, to, greenFirst }) => {
    const colors = greenFirst ? ['green', 'blue'] : ['blue', 'green']
    const green = colors.indexOf('green')
    const before = ownersOf(colors, { green: from, blue: BUCKETS - from })
    const after = ownersOf(colors, { green: to, blue: BUCKETS - to })
    let moved = 0
    for (let b = 0; b < BUCKETS; b++) {
      if (before[b] === green && after[b] !== green) return false
      if (before[b] !== after[b]) moved++
    }
    return moved === to - from
  }))
})

t.test('a color of weight 0 owns no bucket', async (t) => {
  holds(t, 'zero-weight colors are never picked', fc.property(arbSplit, (bp) => {
    const colors = colorsOf(bp.length)
    const owners = new Set(ownersOf(colors, tableOf(colors, bp)))
    return bp.every((w, i) => w > 0 || !owners.has(i))
  }))
})

t.test('parseWeights rejects bad tables with a code', async (t) => {
  const cases: ReadonlyArray<{ readonly name: string, readonly percents: Readonly<Record<string, number>>, readonly code: ProblemCode }> = [
    { name: 'sum below 100', percents: { blue: 90, green: 9.99 }, code: 'WEIGHTS_SUM' },
    { name: 'sum above 100', percents: { blue: 90, green: 10.01 }, code: 'WEIGHTS_SUM' },
    { name: 'empty table', percents: {}, code: 'WEIGHTS_SUM' },
    { name: 'three decimals', percents: { blue: 10.255, green: 89.75 }, code: 'WEIGHTS_PRECISION' },
    { name: 'a thousandth', percents: { blue: 0.001, green: 99.99 }, code: 'WEIGHTS_PRECISION' },
    { name: 'thirds', percents: { blue: 33.333, green: 66.667 }, code: 'WEIGHTS_PRECISION' },
    { name: 'negative', percents: { blue: -10, green: 110 }, code: 'WEIGHTS_RANGE' },
    { name: 'negative hundredth', percents: { blue: -0.01, green: 100.01 }, code: 'WEIGHTS_RANGE' },
    { name: 'over 100', percents: { blue: 0, green: 100.01 }, code: 'WEIGHTS_RANGE' },
    { name: 'NaN', percents: { blue: Number.NaN, green: 100 }, code: 'WEIGHTS_RANGE' },
    { name: 'Infinity', percents: { blue: Number.POSITIVE_INFINITY, green: 0 }, code: 'WEIGHTS_RANGE' },
    { name: '-Infinity', percents: { blue: Number.NEGATIVE_INFINITY, green: 100 }, code: 'WEIGHTS_RANGE' },
    { name: 'unknown color', percents: { blue: 50, purple: 50 }, code: 'UNKNOWN_COLOR' },
    { name: 'unknown color at weight 0', percents: { blue: 50, green: 50, purple: 0 }, code: 'UNKNOWN_COLOR' },
    { name: 'color names are case-sensitive', percents: { Blue: 50, green: 50 }, code: 'UNKNOWN_COLOR' }
  ]
  for (const c of cases) {
    const r = parseWeights(BLUE_GREEN, c.percents)
    t.equal(r.ok ? 'ok' : r.error.code, c.code, c.name)
  }
})

t.test('percentToBasisPoints', async (t) => {
  const good: ReadonlyArray<readonly [percent: number, bp: number]> = [
    [0, 0], [0.01, 1], [0.07, 7], [0.29, 29], [1.15, 115], [12.34, 1234], [33.33, 3333], [99.99, 9999], [100, 10000]
  ]
  for (const [percent, bp] of good) {
    const r = percentToBasisPoints('blue', percent)
    t.strictSame(r, { ok: true, value: bp }, `${percent} % is ${bp} bp`)
  }
  const bad = percentToBasisPoints('canary', 10.255)
  t.equal(bad.ok ? 'ok' : bad.error.code, 'WEIGHTS_PRECISION', '10.255 is over-precise')
  t.match(bad.ok ? '' : bad.error.message, /"canary".*10\.255/, 'the message names the color and the value')

  holds(t, 'three-decimal values are refused, never rounded', fc.property(
    fc.integer({ min: 0, max: 100_000 }).filter((n) => n % 10 !== 0),
    (thousandths) => {
      const r = percentToBasisPoints('blue', thousandths / 1000)
      return !r.ok && r.error.code === 'WEIGHTS_PRECISION'
    }))
})

t.test('two-decimal percentages round-trip exactly', async (t) => {
  holds(t, 'bp → bp/100 → bp for every basis point', fc.property(fc.integer({ min: 0, max: BUCKETS }), (bp) => {
    const r = percentToBasisPoints('blue', basisPointsToPercent(bp))
    return r.ok && r.value === bp
  }))
  // Not sampled: all 10 001 values, since a float slip would hit only a few of them.
  let slips = 0
  for (let bp = 0; bp <= BUCKETS; bp++) {
    const r = percentToBasisPoints('blue', bp / 100)
    if (!r.ok || r.value !== bp) slips++
  }
  t.equal(slips, 0, 'every basis point survives bp/100 → percentToBasisPoints')

  holds(t, 'parseWeights ∘ weightsToPercent is the identity on valid tables', fc.property(arbSplit, (bp) => {
    const colors = colorsOf(bp.length)
    const table = tableOf(colors, bp)
    const back = parseWeights(colors, weightsToPercent(colors, table))
    return back.ok && colors.every((c) => back.value[c] === table[c])
  }))

  const parsed = parseWeights(RGB, { blue: 0.01, green: 33.33, red: 66.66 })
  t.strictSame(parsed.ok ? weightsToPercent(RGB, parsed.value) : parsed.error, { blue: 0.01, green: 33.33, red: 66.66 }, '0.01 and 33.33 come back as typed')
  const twelve = parseWeights(BLUE_GREEN, { blue: 12.34, green: 87.66 })
  t.strictSame(twelve.ok ? weightsToPercent(BLUE_GREEN, twelve.value) : twelve.error, { blue: 12.34, green: 87.66 }, '12.34 comes back as typed')
  t.strictSame(weightsToPercent(RGB, { green: 10000 }), { blue: 0, green: 100, red: 0 }, 'missing colors show as 0 %')
})

t.test('colors named like Object.prototype members', async (t) => {
  // "constructor" is a valid color name (/^[a-z][a-z0-9-]{0,31}$/): left out, it weighs 0,
  // not Object.prototype.constructor.
  const colors = ['blue', 'constructor']
  const r = parseWeights(colors, { blue: 100 })
  t.strictSame(r, { ok: true, value: { blue: 10000, constructor: 0 } }, 'parseWeights: a color left out weighs 0')
  t.strictSame(weightsToPercent(colors, { blue: 10000 }), { blue: 100, constructor: 0 }, 'weightsToPercent')
  t.strictSame([...computeThresholds(colors, { blue: 10000 })], [10000, 10000], 'computeThresholds')
  const own: ReadonlyArray<readonly [name: string, weights: Readonly<Record<string, number>>, color: string, weight: number]> = [
    ['present', { blue: 9000, green: 1000 }, 'green', 1000],
    ['absent', { blue: 10000 }, 'green', 0],
    ['constructor, absent', { blue: 10000 }, 'constructor', 0],
    ['constructor, present', { blue: 9000, constructor: 1000 }, 'constructor', 1000],
    ['__proto__, absent', { blue: 10000 }, '__proto__', 0],
    ['toString, absent', { blue: 10000 }, 'toString', 0]
  ]
  for (const [name, weights, color, weight] of own) t.equal(weightOf(weights, color), weight, `weightOf: ${name}`)
})
