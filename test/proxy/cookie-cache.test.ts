import t from 'tap'
import { COOKIE_CACHE_BYTES, CookieCache, SLOT_BYTES } from '../../src/proxy/cookie-cache.js'
import { hmacFor, MidstateHmac } from '../../src/proxy/sticky-mac.js'
import { encodeStickyCookie, MAC_LENGTH, StickyParse, verifyStickyCookieAt } from '../../src/routing/sticky-cookie.js'

const SECRET = 'cookie-cache-secret-0123456789abcdef'
const COLORS = ['blue', 'green']

/** MidstateHmac counting its HMACs. */
class Counting extends MidstateHmac {
  calls = 0
  override matches (s: string, start: number, end: number, macStart: number): boolean {
    this.calls++
    return super.matches(s, start, end, macStart)
  }
}

const signed = (bucket: number, color: string, issuedAt: number, secret = SECRET): string =>
  encodeStickyCookie({ bucket, color, issuedAt }, hmacFor(secret, 'sticky-cookie'))

function verify (cache: CookieCache, value: string, now: number, ttl = 100): StickyParse | undefined {
  const out = new StickyParse()
  return verifyStickyCookieAt(value, 0, value.length, cache, now, ttl, COLORS, out) ? out : undefined
}

t.test('a hit skips the HMAC; a forged value never enters and a cached tuple with another MAC is refused; TTL still applies; a new secret forgets', async (t) => {
  const hmac = new Counting(SECRET, 'sticky-cookie')
  const cache = new CookieCache(hmac, 1024)
  const value = signed(42, 'blue', 1000)
  t.match(verify(cache, value, 1000), { bucket: 42, color: 0, issuedAt: 1000 })
  t.equal(hmac.calls, 1)
  t.match(verify(cache, value, 1050), { bucket: 42, color: 0, issuedAt: 1000 })
  t.equal(hmac.calls, 1, 'a hit costs no HMAC')
  t.equal(verify(cache, value, 1101), undefined, 'a cached cookie still expires')

  const forged = value.slice(0, -1) + (value.endsWith('A') ? 'B' : 'A')
  t.equal(verify(cache, forged, 1000), undefined, 'the cached tuple with another MAC is refused')
  t.equal(hmac.calls, 1, '… without an HMAC: a tuple has one valid MAC')
  const real = signed(43, 'blue', 1000)
  const forgedOther = real.slice(0, -1) + (real.endsWith('A') ? 'B' : 'A')
  const before = hmac.calls
  t.equal(verify(cache, forgedOther, 1000), undefined)
  t.equal(verify(cache, forgedOther, 1000), undefined)
  t.equal(hmac.calls, before + 2, 'a forged value of an uncached tuple is checked every time (never cached)')

  const green = signed(42, 'green', 1000)
  t.match(verify(cache, green, 1000), { bucket: 42, color: 1 }, 'the color is part of the key')
  const other = signed(7, 'red', 1000)
  const calls = hmac.calls
  t.match(verify(cache, other, 1000), { bucket: 7, color: -1 }, 'an unknown color verifies')
  t.match(verify(cache, other, 1000), { bucket: 7, color: -1 })
  t.equal(hmac.calls, calls + 2, '… and is not cached (it is re-minted at once)')

  cache.reset(new MidstateHmac('another-secret-0123456789abcdef01', 'sticky-cookie'))
  t.equal(verify(cache, value, 1000), undefined, 'after a secret change the old cookie is not honoured from the table')
  t.ok(verify(cache, signed(42, 'blue', 1000, 'another-secret-0123456789abcdef01'), 1000), 'the new secret verifies')
})

t.test('remember: a minted cookie hits at once', async (t) => {
  const hmac = new Counting(SECRET, 'sticky-cookie')
  const cache = new CookieCache(hmac, 1024)
  const value = signed(9, 'green', 600)
  cache.remember(9, 1, 600, value.slice(-MAC_LENGTH))
  t.match(verify(cache, value, 600), { bucket: 9, color: 1, issuedAt: 600 })
  t.equal(hmac.calls, 0)
})

t.test('the table is sized by memory and never grows', async (t) => {
  const cache = new CookieCache(new MidstateHmac(SECRET, 'sticky-cookie'), 64 * 1024)
  t.equal(cache.slots, 2048, '64 KiB / 30 bytes a slot → 2048 slots (a power of two)')
  t.ok(cache.bytes <= 64 * 1024)
  let verified = 0
  for (let b = 0; b < 10_000; b++) if (verify(cache, signed(b, 'blue', 5), 5) !== undefined) verified++
  t.equal(verified, 10_000, 'every cookie verifies, cached or not')
  t.ok(cache.size <= cache.slots, `${cache.size} entries ≤ ${cache.slots} slots`)
  const d = new CookieCache(new MidstateHmac(SECRET, 'sticky-cookie'))
  t.equal(d.bytes, 131_072 * SLOT_BYTES, 'the default: 131 072 slots')
  t.ok(d.bytes <= COOKIE_CACHE_BYTES)
})
