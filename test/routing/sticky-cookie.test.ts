import t from 'tap'
import fc from 'fast-check'
import { constantTimeEqual } from '../../src/routing/constant-time.js'
import {
  encodeStickyCookie, findCookie, MAC_LENGTH, readCookie, StickyParse, verifyStickyCookie, verifyStickyCookieAt, type MacCheck, type StickyCookie
} from '../../src/routing/sticky-cookie.js'
import { BUCKETS } from '../../src/routing/types.js'
import { hmacMac, holds } from './fixtures/routing.js'

const SECRET = 's3cret-s3cret-s3cret-s3cret-s3cret'
const mac = hmacMac(SECRET)
const DAY = 86_400
const ISSUED = 1_700_000_000

/** Signs an arbitrary payload exactly as encodeStickyCookie would, to build hostile-but-signed values. */
function sign (payload: string): string {
  return `${payload}.${mac(payload)}`
}

const arbColor = fc.stringMatching(/^[a-z][a-z0-9-]{0,31}$/)
const arbCookie: fc.Arbitrary<StickyCookie> = fc.record({
  bucket: fc.integer({ min: 0, max: BUCKETS - 1 }),
  color: arbColor,
  issuedAt: fc.integer({ min: 0, max: 36 ** 10 - 1 })
})
const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
const arbChar = fc.oneof(fc.constantFrom(...BASE64URL, '.', '=', ' ', ';'), fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }))

t.test('the wire format is stable', async (t) => {
  // Pinned: cookies already in browsers must keep verifying after an upgrade.
  // The MAC was cross-checked with `openssl dgst -sha256 -hmac`.
  t.equal(encodeStickyCookie({ bucket: 1234, color: 'green', issuedAt: ISSUED }, mac), 'ya.green.s44we8.pwDRgPLPsLA9xDmO0VG7Af')
  t.equal(encodeStickyCookie({ bucket: 9999, color: 'blue', issuedAt: 0 }, mac), '7pr.blue.0.lxazc6oOgYRVrLzy0Obgzr')
  t.strictSame(verifyStickyCookie('ya.green.s44we8.pwDRgPLPsLA9xDmO0VG7Af', mac, ISSUED, DAY), { bucket: 1234, color: 'green', issuedAt: ISSUED })
  t.equal(MAC_LENGTH, 22)
})

t.test('encode → verify round-trips', async (t) => {
  holds(t, 'any bucket, color and issue time within the window', fc.property(
    arbCookie, fc.integer({ min: -300, max: DAY }),
    (cookie, age) => {
      const got = verifyStickyCookie(encodeStickyCookie(cookie, mac), mac, cookie.issuedAt + age, DAY)
      return got !== undefined && got.bucket === cookie.bucket && got.color === cookie.color && got.issuedAt === cookie.issuedAt
    }))
})

t.test('a tampered cookie is never honoured', async (t) => {
  holds(t, 'any single character replaced', fc.property(arbCookie, fc.nat(), arbChar, (cookie, at, ch) => {
    const value = encodeStickyCookie(cookie, mac)
    const i = at % value.length
    fc.pre(value[i] !== ch)
    const tampered = value.slice(0, i) + ch + value.slice(i + 1)
    return verifyStickyCookie(tampered, mac, cookie.issuedAt, DAY) === undefined
  }))
  holds(t, 'any strict prefix', fc.property(arbCookie, (cookie) => {
    const value = encodeStickyCookie(cookie, mac)
    for (let n = 0; n < value.length; n++) {
      if (verifyStickyCookie(value.slice(0, n), mac, cookie.issuedAt, DAY) !== undefined) return false
    }
    return true
  }))
  holds(t, 'anything appended or prepended', fc.property(arbCookie, fc.string({ unit: 'binary', minLength: 1, maxLength: 8 }), (cookie, extra) => {
    const value = encodeStickyCookie(cookie, mac)
    return verifyStickyCookie(value + extra, mac, cookie.issuedAt, DAY) === undefined &&
      verifyStickyCookie(extra + value, mac, cookie.issuedAt, DAY) === undefined
  }))
  holds(t, 'signed with a foreign secret', fc.property(arbCookie, fc.string({ minLength: 1 }), (cookie, other) => {
    fc.pre(other !== SECRET)
    return verifyStickyCookie(encodeStickyCookie(cookie, hmacMac(other)), mac, cookie.issuedAt, DAY) === undefined
  }))
})

t.test('a properly signed bucket outside [0, BUCKETS) is refused', async (t) => {
  t.ok(verifyStickyCookie(encodeStickyCookie({ bucket: BUCKETS - 1, color: 'green', issuedAt: ISSUED }, mac), mac, ISSUED, DAY), 'the last bucket is accepted')
  t.equal(verifyStickyCookie(encodeStickyCookie({ bucket: BUCKETS, color: 'green', issuedAt: ISSUED }, mac), mac, ISSUED, DAY), undefined, 'BUCKETS itself is refused')
  holds(t, 'any bucket ≥ BUCKETS', fc.property(fc.integer({ min: BUCKETS, max: 36 ** 4 }), (bucket) =>
    verifyStickyCookie(encodeStickyCookie({ bucket, color: 'green', issuedAt: ISSUED }, mac), mac, ISSUED, DAY) === undefined))
})

t.test('expiry and clock skew', async (t) => {
  const value = encodeStickyCookie({ bucket: 42, color: 'blue', issuedAt: ISSUED }, mac)
  const cases: ReadonlyArray<readonly [name: string, now: number, ttl: number, skew: number | undefined, honoured: boolean]> = [
    ['just issued', ISSUED, DAY, undefined, true],
    ['exactly ttl old', ISSUED + DAY, DAY, undefined, true],
    ['one second past ttl', ISSUED + DAY + 1, DAY, undefined, false],
    ['issued 300 s ahead (default skew)', ISSUED - 300, DAY, undefined, true],
    ['issued 301 s ahead (default skew)', ISSUED - 301, DAY, undefined, false],
    ['issued 10 s ahead, skew 10', ISSUED - 10, DAY, 10, true],
    ['issued 11 s ahead, skew 10', ISSUED - 11, DAY, 10, false],
    ['issued 1 s ahead, skew 0', ISSUED - 1, DAY, 0, false],
    ['ttl 0, same second', ISSUED, 0, undefined, true],
    ['ttl 0, next second', ISSUED + 1, 0, undefined, false]
  ]
  for (const [name, now, ttl, skew, honoured] of cases) {
    const got = skew === undefined ? verifyStickyCookie(value, mac, now, ttl) : verifyStickyCookie(value, mac, now, ttl, skew)
    t.equal(got !== undefined, honoured, name)
  }
  holds(t, 'older than ttl → refused', fc.property(arbCookie, fc.integer({ min: 0, max: 10 * DAY }), fc.integer({ min: 1, max: 10 * DAY }), (cookie, ttl, late) =>
    verifyStickyCookie(encodeStickyCookie(cookie, mac), mac, cookie.issuedAt + ttl + late, ttl) === undefined))
  holds(t, 'issued beyond the skew → refused', fc.property(arbCookie, fc.integer({ min: 0, max: 3600 }), fc.integer({ min: 1, max: 10 * DAY }), (cookie, skew, ahead) =>
    verifyStickyCookie(encodeStickyCookie(cookie, mac), mac, cookie.issuedAt - skew - ahead, DAY, skew) === undefined))
})

t.test('signed values with malformed fields are refused', async (t) => {
  const cases: ReadonlyArray<readonly [name: string, payload: string, honoured: boolean]> = [
    ['control: a well-formed payload', 'ya.green.s44we8', true],
    ['bucket of four digits', '00ya.green.s44we8', false],
    ['upper-case bucket', 'YA.green.s44we8', false],
    ['empty bucket', '.green.s44we8', false],
    ['negative bucket', '-1.green.s44we8', false],
    ['bucket 10000 in base 36', '7ps.green.s44we8', false],
    ['upper-case color', 'ya.Green.s44we8', false],
    ['color starting with a dash', 'ya.-green.s44we8', false],
    ['color with an underscore', 'ya.gr_een.s44we8', false],
    ['empty color', 'ya..s44we8', false],
    ['color of 33 characters', `ya.${'g'.repeat(33)}.s44we8`, false],
    ['empty issue time', 'ya.green.', false],
    ['negative issue time', 'ya.green.-1', false],
    ['issue time of eleven digits', 'ya.green.00000s44we8', false],
    ['an extra field', 'ya.green.s44we8.x', false]
  ]
  for (const [name, payload, honoured] of cases) {
    t.equal(verifyStickyCookie(sign(payload), mac, ISSUED, DAY) !== undefined, honoured, name)
  }
  t.ok(verifyStickyCookie(sign(`ya.${'g'.repeat(32)}.s44we8`), mac, ISSUED, DAY), 'a color of 32 characters is accepted')
  const good = sign('ya.green.s44we8')
  for (const [name, value] of [
    ['empty', ''],
    ['dots only', '...'],
    ['MAC one short', good.slice(0, -1)],
    ['MAC one long', `${good}A`],
    ['MAC missing', 'ya.green.s44we8.'],
    ['MAC replaced', `ya.green.s44we8.${'A'.repeat(MAC_LENGTH)}`]
  ] as const) {
    t.equal(verifyStickyCookie(value, mac, ISSUED, DAY), undefined, name)
  }
})

t.test('readCookie', async (t) => {
  const cases: ReadonlyArray<readonly [header: string, found: string | undefined]> = [
    ['swy=abc', 'abc'],
    ['a=1; swy=abc; b=2', 'abc'],
    ['a=1;swy=abc', 'abc'],
    ['a=1;    swy=abc   ', 'abc'],
    ['swy=abc ; b=2', 'abc'],
    ['swy=', ''],
    ['xswy=1; swy=2', '2'],
    ['xswy=1', undefined],
    ['swyx=1', undefined],
    ['swyx=1; swy=2', '2'],
    ['a=swy=1', undefined],
    ['a=xswy; swy=3', '3'],
    ['swy=1; swy=2', '1'],
    ['swy', undefined],
    ['', undefined],
    ['a=1; b=2', undefined]
  ]
  for (const [header, found] of cases) t.equal(readCookie(header, 'swy'), found, JSON.stringify(header))

  const arbJar = fc.uniqueArray(fc.stringMatching(/^[a-z][a-z0-9_-]{0,6}$/), { minLength: 1, maxLength: 6 }).chain((names) =>
    fc.tuple(
      fc.constant(names),
      fc.array(fc.stringMatching(/^[A-Za-z0-9._-]{0,12}$/), { minLength: names.length, maxLength: names.length }),
      fc.array(fc.constantFrom(';', '; ', ';   '), { minLength: names.length, maxLength: names.length }),
      fc.stringMatching(/^[a-z][a-z0-9_-]{0,6}$/)))
  holds(t, 'finds every cookie in a jar of names that prefix or suffix each other', fc.property(arbJar, ([names, values, seps, absent]) => {
    fc.pre(!names.includes(absent))
    const header = names.map((n, i) => `${i === 0 ? '' : seps[i]}${n}=${values[i]}`).join('')
    return names.every((n, i) => readCookie(header, n) === values[i]) && readCookie(header, absent) === undefined
  }), { numRuns: 200 })
})

/** The MacCheck the in-place verifier gets, built on the same string Mac as verifyStickyCookie. */
const check: MacCheck = { matches: (s, start, end, macStart) => constantTimeEqual(mac(s.slice(start, end)), s.slice(macStart, macStart + MAC_LENGTH)) }
const KNOWN = ['blue', 'green']

/** verifyStickyCookieAt on `value` embedded between two strings, as the cookie verifyStickyCookie would return (color as a name). */
function atVerify (value: string, now: number, ttl: number, prefix = '', suffix = ''): StickyCookie | undefined {
  const out = new StickyParse()
  const s = `${prefix}${value}${suffix}`
  if (!verifyStickyCookieAt(s, prefix.length, prefix.length + value.length, check, now, ttl, KNOWN, out)) return undefined
  const d1 = value.indexOf('.')
  const name = value.slice(d1 + 1, value.indexOf('.', d1 + 1))
  if (out.color !== KNOWN.indexOf(name)) throw new Error(`color index ${out.color} for ${name}`)
  return { bucket: out.bucket, color: name, issuedAt: out.issuedAt }
}

t.test('verifyStickyCookieAt (the data path, in place) decides exactly as verifyStickyCookie', async (t) => {
  const arbColorOrKnown = fc.oneof(fc.constantFrom(...KNOWN), arbColor)
  const arbValue = fc.oneof(
    fc.record({ bucket: fc.integer({ min: 0, max: BUCKETS - 1 }), color: arbColorOrKnown, issuedAt: fc.integer({ min: ISSUED - DAY - 10, max: ISSUED + 400 }) })
      .map((c) => encodeStickyCookie(c, mac)),
    fc.tuple(arbCookie, fc.nat(), arbChar).map(([c, at, ch]) => {
      const v = encodeStickyCookie(c, mac)
      const i = at % (v.length + 1)
      return v.slice(0, i) + ch + v.slice(i + 1)
    }),
    fc.record({ bucket: fc.integer({ min: BUCKETS - 3, max: 36 ** 3 - 1 }), color: arbColorOrKnown, issuedAt: fc.integer({ min: ISSUED - DAY - 10, max: ISSUED + 400 }) })
      .map((c) => encodeStickyCookie(c, mac)),
    fc.array(fc.constantFrom('ya', '7ps', '7pr', '-1', 'YA', 'green', '-green', 'Green', 's44we8', '00000s44we8', '.', ''), { minLength: 1, maxLength: 6 }).map((p) => sign(p.join('.'))),
    fc.string({ maxLength: 100 }),
    fc.array(fc.constantFrom('ya', 'green', 's44we8', '.', 'A', '7ps', ''), { maxLength: 8 }).map((p) => p.join(''))
  )
  const arbSide = fc.oneof(fc.constant(''), fc.string({ maxLength: 6 }), fc.constantFrom('.', '..x', '; ', 'a.b.c'))
  holds(t, 'same verdict and same fields on any value, whatever surrounds it', fc.property(arbValue, arbSide, arbSide, (value, prefix, suffix) => {
    const a = verifyStickyCookie(value, mac, ISSUED, DAY)
    const b = atVerify(value, ISSUED, DAY, prefix, suffix)
    return JSON.stringify(a) === JSON.stringify(b)
  }), { numRuns: 3000 })
  t.strictSame(atVerify('ya.green.s44we8.pwDRgPLPsLA9xDmO0VG7Af', ISSUED, DAY, 'a=1; swy=', '; b=2'), { bucket: 1234, color: 'green', issuedAt: ISSUED }, 'the pinned value')
  const out = new StickyParse()
  const other = encodeStickyCookie({ bucket: 7, color: 'red', issuedAt: ISSUED }, mac)
  t.ok(verifyStickyCookieAt(other, 0, other.length, check, ISSUED, DAY, KNOWN, out))
  t.equal(out.color, -1, 'a valid color name the router does not know has index -1 (the bucket is still honoured)')
  t.equal(out.bucket, 7)
})

t.test('findCookie locates what readCookie returns', async (t) => {
  const bounds = new Int32Array(1)
  const located = (header: string, name: string): string | undefined => {
    const start = findCookie(header, name, bounds)
    return start < 0 ? undefined : header.slice(start, bounds[0])
  }
  const arbHeader = fc.array(fc.oneof(fc.constantFrom('swy', 'xswy', 'swyx', '=', ';', ' ', '\t', '\u00a0', '\u2028', '\u0001', 'abc', 'ya.green.s44we8'), fc.string({ maxLength: 3 })), { maxLength: 10 }).map((p) => p.join(''))
  holds(t, 'same value (trimmed the same way) or the same absence', fc.property(arbHeader, (header) => located(header, 'swy') === readCookie(header, 'swy')), { numRuns: 3000 })
  t.equal(located('a=1;  swy= ab ; c', 'swy'), 'ab')
  t.equal(located('a=1', 'swy'), undefined)
})
