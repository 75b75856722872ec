import { createHmac } from 'node:crypto'
import t from 'tap'
import { CookieCache } from '../../src/proxy/cookie-cache.js'
import { encodeStickyCookie, MAC_LENGTH, type Mac } from '../../src/routing/sticky-cookie.js'

const macOf = (secret: string): Mac => (p) => createHmac('sha256', secret).update(p).digest('base64url').slice(0, MAC_LENGTH)

t.test('hits skip the MAC; forged values never enter; TTL still applies; a new secret forgets', async (t) => {
  let macCalls = 0
  const base = macOf('one')
  const counting: Mac = (p) => { macCalls++; return base(p) }
  const cache = new CookieCache(counting, 10)
  const value = encodeStickyCookie({ bucket: 42, color: 'blue', issuedAt: 1000 }, base)
  t.same(cache.verify(value, 1000, 100), { bucket: 42, color: 'blue', issuedAt: 1000 })
  t.equal(macCalls, 1)
  t.same(cache.verify(value, 1050, 100), { bucket: 42, color: 'blue', issuedAt: 1000 })
  t.equal(macCalls, 1, 'a hit costs no MAC')
  t.equal(cache.verify(value, 1101, 100), undefined, 'a cached cookie still expires')

  const forged = value.slice(0, -1) + (value.endsWith('A') ? 'B' : 'A')
  t.equal(cache.verify(forged, 1000, 100), undefined)
  t.equal(cache.verify(forged, 1000, 100), undefined)
  t.equal(macCalls, 3, 'a forged value is checked every time (never cached)')

  cache.reset(macOf('two'))
  t.equal(cache.verify(value, 1000, 100), undefined, 'after a secret change the old cookie is not honoured from the cache')
})

t.test('the cache stays bounded', async (t) => {
  const mac = macOf('s')
  const cache = new CookieCache(mac, 100)
  for (let b = 0; b < 1000; b++) cache.verify(encodeStickyCookie({ bucket: b, color: 'blue', issuedAt: 5 }, mac), 5, 100)
  t.ok(cache.size <= 100, `size ${cache.size} ≤ 100`)
})
