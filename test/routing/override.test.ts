import t from 'tap'
import fc from 'fast-check'
import { createHmac } from 'node:crypto'
import { overrideValue } from '../../src/routing/override.js'
import { MAC_LENGTH } from '../../src/routing/sticky-cookie.js'
import { hmacMac, holds } from './fixtures/routing.js'

const SECRET = 'override-secret-override-secret!'
const mac = hmacMac(SECRET)
const arbColor = fc.stringMatching(/^[a-z][a-z0-9-]{0,31}$/)

t.test('unsigned: the value is the color name', async (t) => {
  for (const color of ['blue', 'green', 'canary-2']) t.equal(overrideValue(color, undefined), color, color)
})

t.test('signed: <color>.<MAC of "override:<color>">', async (t) => {
  const expected = createHmac('sha256', SECRET).update('override:green').digest('base64url').slice(0, MAC_LENGTH)
  t.equal(overrideValue('green', mac), `green.${expected}`, 'the MAC covers the "override:" domain prefix')
  // The sticky cookie MACs its payload without a prefix; the prefix keeps one from passing for the other.
  t.not(overrideValue('green', mac), `green.${mac('green')}`, 'not the bare MAC of the color')
  holds(t, 'shape, and never the bare name', fc.property(arbColor, (color) => {
    const v = overrideValue(color, mac)
    return v !== color && v.startsWith(`${color}.`) && v.length === color.length + 1 + MAC_LENGTH
  }))
})

t.test('a signed value forces only its own color, and only under its own secret', async (t) => {
  holds(t, 'different colors, different values', fc.property(arbColor, arbColor, (a, b) => {
    fc.pre(a !== b)
    const va = overrideValue(a, mac)
    const vb = overrideValue(b, mac)
    // Swapping the color in front of a's MAC must not produce b's accepted value.
    return va !== vb && `${b}${va.slice(a.length)}` !== vb
  }))
  holds(t, 'different secrets, different values', fc.property(arbColor, fc.string({ minLength: 1 }), (color, other) => {
    fc.pre(other !== SECRET)
    return overrideValue(color, hmacMac(other)) !== overrideValue(color, mac)
  }))
})
