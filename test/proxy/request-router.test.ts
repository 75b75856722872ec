/**
 * The RequestRouter on its own: no server, an injected time, plain header objects.
 */
import t from 'tap'
import { RequestRouter } from '../../src/proxy/request-router.js'
import { validateConfig } from '../../src/config/load-config.js'
import type { RoutingState } from '../../src/routing/routing-state.js'

function router (extra: Record<string, unknown> = {}, available = Uint8Array.of(1, 1)): RequestRouter {
  const { config } = validateConfig({
    colors: { blue: { targets: ['http://127.0.0.1:1'] }, green: { targets: ['http://127.0.0.1:2'] } },
    store: { kind: 'memory' },
    ...extra
  }, {}, 'test')
  return new RequestRouter({ colors: ['blue', 'green'], sticky: config.sticky, overrides: config.overrides, secret: 'router-test-secret-0123456789abcdef', available, freshStart: 0 })
}

function state (blue: number, green: number, drainUntil: Record<string, number> = {}): RoutingState {
  return { version: 2, weights: { blue, green }, drainUntil } as unknown as RoutingState
}

const NOW = Date.UTC(2026, 0, 1, 12, 0, 30)

t.test('a fresh client gets a color, a reason and a cookie; the outcome object is reused', async (t) => {
  const r = router()
  r.apply(state(5000, 5000))
  const a = r.route({}, NOW)
  t.equal(a.reason, 'weight')
  t.match(a.cookie, /^swy=[^;]+; Path=\/; Max-Age=\d+; HttpOnly; SameSite=Lax$/)
  const color = a.color
  const cookie = a.cookie.split(';', 1)[0] as string
  const b = r.route({ cookie }, NOW + 1000)
  t.equal(b, a, 'one outcome object per router')
  t.equal(b.reason, 'sticky')
  t.equal(b.color, color, 'the cookie keeps the client on its color')
  t.equal(b.cookie, '', 'no new cookie while the color holds')
})

t.test('minted cookies are signed once per (bucket, color, minute) and forgotten with the secret', async (t) => {
  const r = router()
  r.apply(state(10000, 0))
  // The fresh sequence visits every bucket once per 10 000 draws: the same bucket comes back after as many.
  const first = r.route({}, NOW).cookie
  for (let i = 1; i < 10_000; i++) r.route({}, NOW)
  t.equal(r.route({}, NOW + 1000).cookie, first, 'the same minute: the same signed value')
  for (let i = 1; i < 10_000; i++) r.route({}, NOW)
  t.not(r.route({}, NOW + 60_000).cookie, first, 'the next minute: signed anew')
  const cookie = first.split(';', 1)[0] as string
  t.equal(r.route({ cookie }, NOW + 61_000).reason, 'sticky')
  r.setSecret('another-secret-0123456789abcdef0123')
  t.equal(r.route({ cookie }, NOW + 61_000).reason, 'weight', 'a cookie signed under the old secret is no longer honoured')
})

t.test('overrides, header-keyed buckets, drain and no route, with the time passed in', async (t) => {
  const o = router({ overrides: { enabled: true } })
  o.apply(state(10000, 0))
  const forced = o.route({ 'x-switchyard-color': 'green' }, NOW)
  t.match(forced, { color: 1, reason: 'override', overridden: true, cookie: '' })

  const h = router({ sticky: { mode: 'header', header: 'X-User' } })
  h.apply(state(5000, 5000))
  const c1 = h.route({ 'x-user': 'alice' }, NOW).color
  for (let i = 0; i < 20; i++) t.equal(h.route({ 'x-user': 'alice' }, NOW + i).color, c1)
  t.equal(h.route({ 'x-user': 'alice' }, NOW).cookie, '', 'no cookie in header mode')

  const d = router()
  d.apply(state(10000, 0))
  let greenCookie = ''
  d.apply(state(0, 10000))
  greenCookie = (d.route({}, NOW).cookie.split(';', 1)[0]) as string
  d.apply(state(10000, 0, { green: NOW + 10_000 }))
  t.equal(d.route({ cookie: greenCookie }, NOW).reason, 'drain', 'inside the drain window the client stays')
  t.equal(d.route({ cookie: greenCookie }, NOW + 20_000).reason, 'sticky', 'after it, the weights decide')

  const none = router({}, Uint8Array.of(0, 0))
  none.apply(state(5000, 5000))
  t.match(none.route({}, NOW), { color: -1, cookie: '' }, 'no color can serve: no route and no cookie')
})
