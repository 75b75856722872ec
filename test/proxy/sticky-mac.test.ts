/**
 * MidstateHmac, the data path's cookie MAC, is HMAC-SHA256 bit for bit: every value
 * node:crypto (and so every earlier release) signed keeps verifying, and nothing else does.
 */
import fc from 'fast-check'
import t from 'tap'
import { hmacFor, MAX_FAST_PAYLOAD, MidstateHmac } from '../../src/proxy/sticky-mac.js'
import { MAC_LENGTH } from '../../src/routing/sticky-cookie.js'
import { holds } from '../routing/fixtures/routing.js'

const SECRET = 's3cret-s3cret-s3cret-s3cret-s3cret'

t.test('cookies signed by the previous release (node:crypto createHmac) verify', async (t) => {
  const fast = new MidstateHmac(SECRET, 'sticky-cookie')
  // Pinned values, produced by the previous release's hmacFor (createHmac) under this secret.
  for (const value of ['ya.green.s44we8.6a2ZOZVvvX_6C89zQRgVQG', '7pr.blue.0.2ZsMRSfbSJjFExY_C4I8Q7']) {
    const d3 = value.lastIndexOf('.')
    t.ok(fast.matches(value, 0, d3, d3 + 1), value)
    t.equal(fast.mac(value.slice(0, d3)), value.slice(d3 + 1))
  }
  t.notOk(new MidstateHmac(SECRET, 'override').matches('ya.green.s44we8.6a2ZOZVvvX_6C89zQRgVQG', 0, 15, 16), 'another purpose has another key')
  t.notOk(new MidstateHmac(`${SECRET}x`, 'sticky-cookie').matches('ya.green.s44we8.6a2ZOZVvvX_6C89zQRgVQG', 0, 15, 16), 'another secret has another key')
})

t.test('equals createHmac for every payload length of one block, and refuses any other MAC', async (t) => {
  const arb = fc.tuple(fc.string({ minLength: 8, maxLength: 64 }), fc.string({ unit: fc.integer({ min: 32, max: 126 }).map((c) => String.fromCharCode(c)), maxLength: MAX_FAST_PAYLOAD }),
    fc.integer({ min: 0, max: MAC_LENGTH - 1 }), fc.integer({ min: 1, max: 63 }))
  holds(t, 'MidstateHmac ≡ hmacFor, and a MAC differing in one character fails', fc.property(arb, ([secret, payload, at, flip]) => {
    const slow = hmacFor(secret, 'sticky-cookie')(payload)
    const fast = new MidstateHmac(secret, 'sticky-cookie')
    const value = `<${payload}>${slow}`
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
    const changed = alphabet[(alphabet.indexOf(slow[at] as string) + flip) % 64] as string
    const forged = `<${payload}>${slow.slice(0, at)}${changed}${slow.slice(at + 1)}`
    return fast.mac(payload) === slow &&
      fast.matches(value, 1, payload.length + 1, payload.length + 2) &&
      !fast.matches(forged, 1, payload.length + 1, payload.length + 2)
  }), { numRuns: 500 })
  const fast = new MidstateHmac(SECRET, 'sticky-cookie')
  const slow = hmacFor(SECRET, 'sticky-cookie')
  for (let n = 0; n <= MAX_FAST_PAYLOAD; n++) {
    const payload = 'x'.repeat(n)
    if (fast.mac(payload) !== slow(payload)) t.fail(`length ${n}`)
  }
  t.pass('every length 0..55 agrees')
  t.throws(() => fast.mac('x'.repeat(MAX_FAST_PAYLOAD + 1)), 'a payload longer than a block is refused, not mis-signed')
  t.notOk(fast.matches(`${'x'.repeat(MAX_FAST_PAYLOAD + 1)}.${slow('x'.repeat(MAX_FAST_PAYLOAD + 1))}`, 0, MAX_FAST_PAYLOAD + 1, MAX_FAST_PAYLOAD + 2), 'a long payload never matches')
  t.notOk(fast.matches(`abc.${slow('abc').slice(0, -1)}`, 0, 3, 4), 'a truncated MAC never matches')
})
