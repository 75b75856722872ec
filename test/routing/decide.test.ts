import t from 'tap'
import fc from 'fast-check'
import { decide } from '../../src/routing/decide.js'
import { overrideValue } from '../../src/routing/override.js'
import { buildRouteTable, decisionFor, type Decision, type RouteTable } from '../../src/routing/route-table.js'
import { flipTo, initialState } from '../../src/routing/routing-state.js'
import { BUCKETS } from '../../src/routing/types.js'
import { parseWeights, type BasisPoints } from '../../src/routing/weights.js'
import { arbSplit, colorsOf, countOwners, hmacMac, holds, meta, tableOf } from './fixtures/routing.js'

const BLUE_GREEN = ['blue', 'green'] as const
const NO_OVERRIDE = { enabled: false } as const
const mac = hmacMac('decide-secret-decide-secret-decide')

function table (colors: readonly string[], weights: BasisPoints, override: { enabled: boolean, mac?: typeof mac } = NO_OVERRIDE): RouteTable {
  return buildRouteTable(1, colors, weights, override)
}

/** The fields a decision is judged by. */
function pick (d: Decision): { color: number, reason: string } {
  return { color: d.color, reason: d.reason }
}

/** Every bucket through decide, once as a sticky bucket and once as a fresh one. */
function splitOf (tbl: RouteTable): { sticky: number[], fresh: number[], reasons: Set<string> } {
  const reasons = new Set<string>()
  const sticky = countOwners(tbl.colors.length, (b) => {
    const d = decide(tbl, undefined, b, 0)
    reasons.add(`sticky:${d.reason}`)
    return d.color
  })
  const fresh = countOwners(tbl.colors.length, (b) => {
    const d = decide(tbl, undefined, -1, b)
    reasons.add(`fresh:${d.reason}`)
    return d.color
  })
  return { sticky, fresh, reasons }
}

t.test('over all buckets, decide splits exactly to the basis point', async (t) => {
  holds(t, 'sticky and fresh buckets, 2..8 colors', fc.property(arbSplit, (bp) => {
    const colors = colorsOf(bp.length)
    const { sticky, fresh, reasons } = splitOf(table(colors, tableOf(colors, bp)))
    const expected = [...bp, 0]
    return sticky.every((n, i) => n === expected[i]) && fresh.every((n, i) => n === expected[i]) &&
      reasons.size === 2 && reasons.has('sticky:sticky') && reasons.has('fresh:weight')
  }))
  const cases = [
    { name: '90/10', colors: BLUE_GREEN, percents: { blue: 90, green: 10 }, bp: [9000, 1000] },
    { name: '0/100', colors: BLUE_GREEN, percents: { blue: 0, green: 100 }, bp: [0, 10000] },
    { name: '33.33/33.33/33.34', colors: ['blue', 'green', 'red'], percents: { blue: 33.33, green: 33.33, red: 33.34 }, bp: [3333, 3333, 3334] }
  ]
  for (const c of cases) {
    const weights = parseWeights(c.colors, c.percents)
    if (!weights.ok) {
      t.fail(`${c.name}: ${weights.error.message}`)
      continue
    }
    const { sticky, fresh } = splitOf(table(c.colors, weights.value))
    t.strictSame(sticky, [...c.bp, 0], `${c.name}: sticky buckets`)
    t.strictSame(fresh, [...c.bp, 0], `${c.name}: fresh buckets`)
  }
})

t.test('100 % to one color sends every bucket to it', async (t) => {
  const arbFlip = arbSplit.chain((bp) => fc.tuple(fc.constant(bp), fc.nat({ max: bp.length - 1 })))
  holds(t, 'flipTo from any table', fc.property(arbFlip, ([bp, target]) => {
    const colors = colorsOf(bp.length)
    const start = initialState(colors, tableOf(colors, bp), meta('2024-01-01T00:00:00Z'))
    const flipped = flipTo(start, colors[target] ?? '', meta('2024-01-01T00:01:00Z'))
    if (!flipped.ok) return false
    const tbl = buildRouteTable(flipped.value.version, flipped.value.colors, flipped.value.weights, NO_OVERRIDE)
    for (let b = 0; b < BUCKETS; b++) {
      if (decide(tbl, undefined, b, 0).color !== target) return false
      if (decide(tbl, undefined, -1, b).color !== target) return false
    }
    return true
  }))
})

t.test('a color of weight 0 is never chosen by sticky or weight', async (t) => {
  holds(t, 'zero-weight colors never come back', fc.property(arbSplit, (bp) => {
    const colors = colorsOf(bp.length)
    const { sticky, fresh } = splitOf(table(colors, tableOf(colors, bp)))
    return bp.every((w, i) => w > 0 || (sticky[i] === 0 && fresh[i] === 0))
  }))
})

t.test('sticky bucket first, fresh bucket otherwise', async (t) => {
  const tbl = table(BLUE_GREEN, { blue: 9000, green: 1000 })
  const cases: ReadonlyArray<readonly [name: string, sticky: number, fresh: number, color: number, reason: string]> = [
    ['sticky on blue, fresh on green', 0, 9999, 0, 'sticky'],
    ['sticky on green, fresh on blue', 9000, 0, 1, 'sticky'],
    ['last blue bucket', 8999, 9999, 0, 'sticky'],
    ['no sticky bucket: fresh on blue', -1, 8999, 0, 'weight'],
    ['no sticky bucket: fresh on green', -1, 9000, 1, 'weight']
  ]
  for (const [name, sticky, fresh, color, reason] of cases) {
    t.strictSame(pick(decide(tbl, undefined, sticky, fresh)), { color, reason }, name)
  }
})

t.test('override', async (t) => {
  // Weights send everything to blue, so any green pick below can only come from the override.
  const weights = { blue: 10000, green: 0 }
  const plain = table(BLUE_GREEN, weights, { enabled: true })
  const off = table(BLUE_GREEN, weights, NO_OVERRIDE)
  const signed = table(BLUE_GREEN, weights, { enabled: true, mac })
  const foreign = hmacMac('someone-else-someone-else-someone')
  const cases: ReadonlyArray<readonly [name: string, tbl: RouteTable, value: string | undefined, color: number, reason: string]> = [
    ['forces a color of weight 0', plain, 'green', 1, 'override'],
    ['forces the color a sticky bucket would give anyway', plain, 'blue', 0, 'override'],
    ['unknown value is ignored', plain, 'purple', 0, 'sticky'],
    ['empty value is ignored', plain, '', 0, 'sticky'],
    ['names are case-sensitive', plain, 'Green', 0, 'sticky'],
    ['disabled: a color name is ignored', off, 'green', 0, 'sticky'],
    ['signed rule: the bare color name is refused', signed, 'green', 0, 'sticky'],
    ['signed rule: the signed value is accepted', signed, overrideValue('green', mac), 1, 'override'],
    ['signed rule: a value signed with another secret is refused', signed, overrideValue('green', foreign), 0, 'sticky'],
    ['signed rule: blue\'s MAC under green\'s name is refused', signed, `green${overrideValue('blue', mac).slice('blue'.length)}`, 0, 'sticky'],
    ['unsigned rule: a signed value is not a color name', plain, overrideValue('green', mac), 0, 'sticky']
  ]
  for (const [name, tbl, value, color, reason] of cases) {
    t.strictSame(pick(decide(tbl, value, 42, 9999)), { color, reason }, name)
  }
  holds(t, 'an accepted override wins over any sticky or fresh bucket', fc.property(
    fc.integer({ min: -1, max: BUCKETS - 1 }), fc.integer({ min: 0, max: BUCKETS - 1 }),
    (sticky, fresh) => {
      const d = decide(signed, overrideValue('green', mac), sticky, fresh)
      return d.color === 1 && d.reason === 'override'
    }))
})

t.test('decisions are shared objects', async (t) => {
  const tbl = table(BLUE_GREEN, { blue: 5000, green: 5000 }, { enabled: true })
  const calls: ReadonlyArray<readonly [name: string, override: string | undefined, sticky: number, fresh: number]> = [
    ['override', 'green', -1, 0],
    ['sticky', undefined, 7000, 0],
    ['weight', undefined, -1, 100]
  ]
  for (const [name, override, sticky, fresh] of calls) {
    const first = decide(tbl, override, sticky, fresh)
    t.equal(decide(tbl, override, sticky, fresh), first, `${name}: the identical object twice`)
    t.equal(first, decisionFor(tbl, first.reason, first.color), `${name}: the table's pre-built decision`)
    t.ok(Object.isFrozen(first), `${name}: frozen`)
  }
  t.equal(decide(tbl, undefined, 7000, 0), decide(tbl, undefined, 9999, 0), 'different buckets of one color share the decision')
})

t.test('a table short of BUCKETS still gives honest decisions', async (t) => {
  // Validated tables always sum to BUCKETS; should one fall short (a corrupt store, a bug
  // upstream), no request may be reported under another reason or sent to a color of weight 0.
  const arbShort = fc.integer({ min: 2, max: 8 })
    .chain((n) => fc.array(fc.integer({ min: 0, max: 2000 }), { minLength: n, maxLength: n }))
    .filter((bp) => bp.some((w) => w > 0) && bp.reduce((a, b) => a + b, 0) < BUCKETS)
  holds(t, 'sticky stays sticky, weight stays weight, weight-0 colors stay empty', fc.property(arbShort, (bp) => {
    const colors = colorsOf(bp.length)
    const tbl = table(colors, tableOf(colors, bp))
    const covered = bp.reduce((a, b) => a + b, 0)
    const counts = new Array<number>(bp.length).fill(0)
    for (let b = 0; b < BUCKETS; b++) {
      const sticky = decide(tbl, undefined, b, 0)
      const fresh = decide(tbl, undefined, -1, b)
      if (sticky.reason !== 'sticky' || fresh.reason !== 'weight' || sticky.color !== fresh.color) return false
      if (!((bp[sticky.color] ?? 0) > 0)) return false
      if (b < covered) counts[sticky.color] = (counts[sticky.color] ?? 0) + 1
    }
    return counts.every((n, i) => n === bp[i])
  }))
})
