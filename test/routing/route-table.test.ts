import t from 'tap'
import { overrideValue } from '../../src/routing/override.js'
import { buildRouteTable, decisionFor } from '../../src/routing/route-table.js'
import { REASONS } from '../../src/routing/types.js'
import { hmacMac } from './fixtures/routing.js'

const COLORS = ['blue', 'green', 'red'] as const
const WEIGHTS = { blue: 7000, green: 0, red: 3000 }

t.test('compiles the snapshot once', async (t) => {
  const colors: string[] = [...COLORS]
  const table = buildRouteTable(7, colors, WEIGHTS, { enabled: false })
  t.equal(table.version, 7)
  t.strictSame(table.colors, COLORS)
  t.strictSame([...table.thresholds], [7000, 7000, 10000], 'cumulative thresholds')
  t.strictSame([...table.colorIndex], [['blue', 0], ['green', 1], ['red', 2]])
  colors.push('violet')
  t.equal(table.colors.length, 3, 'the table keeps its own copy of the colors')
  t.ok(Object.isFrozen(table) && Object.isFrozen(table.colors) && Object.isFrozen(table.decisions), 'frozen')
})

t.test('one shared, frozen decision per (reason, color)', async (t) => {
  const table = buildRouteTable(1, COLORS, WEIGHTS, { enabled: false })
  t.equal(table.decisions.length, REASONS.length * COLORS.length)
  const seen = new Set<object>()
  for (const reason of REASONS) {
    for (let color = 0; color < COLORS.length; color++) {
      const d = decisionFor(table, reason, color)
      t.strictSame([d.color, d.reason, d.reasonIndex], [color, reason, REASONS.indexOf(reason)], `${reason}/${COLORS[color] ?? '?'}`)
      t.ok(Object.isFrozen(d), 'frozen')
      t.equal(decisionFor(table, reason, color), d, 'the same object every time')
      seen.add(d)
    }
  }
  t.equal(seen.size, REASONS.length * COLORS.length, 'no two pairs share an object')
})

t.test('accepted override values', async (t) => {
  const mac = hmacMac('route-table-secret-route-table-secret')
  const cases = [
    { name: 'disabled', rule: { enabled: false }, accepted: [] },
    { name: 'disabled even with a MAC', rule: { enabled: false, mac }, accepted: [] },
    { name: 'unsigned', rule: { enabled: true }, accepted: [['blue', 0], ['green', 1], ['red', 2]] },
    { name: 'unsigned, mac explicitly undefined', rule: { enabled: true, mac: undefined }, accepted: [['blue', 0], ['green', 1], ['red', 2]] },
    {
      name: 'signed',
      rule: { enabled: true, mac },
      accepted: [[overrideValue('blue', mac), 0], [overrideValue('green', mac), 1], [overrideValue('red', mac), 2]]
    }
  ] as const
  for (const c of cases) {
    const table = buildRouteTable(1, COLORS, WEIGHTS, c.rule)
    t.strictSame([...table.overrides], c.accepted, c.name)
  }
})
