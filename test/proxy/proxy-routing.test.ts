import t from 'tap'
import WebSocket from 'ws'
import { adminCall, send, startTestSwitchyard, startUpstream, stickyCookie, testConfig, type Teardown } from '../helpers/services.js'

async function setup (t: Teardown, extra: Record<string, unknown> = {}) {
  const blue = await startUpstream(t, 'blue')
  const green = await startUpstream(t, 'green')
  const sy = await startTestSwitchyard(t, testConfig([blue, green], extra))
  return { blue, green, sy }
}

async function setWeights (adminUrl: string, blue: number, green: number): Promise<void> {
  const r = await adminCall(adminUrl, 'PUT', '/weights', { weights: { blue, green } })
  if (r.status !== 200) throw new Error(`PUT /weights answered ${r.status}: ${r.body}`)
}

t.test('the split over 2 000 fresh clients at 10 % green is within ±2 %', async (t) => {
  const { sy } = await setup(t)
  await setWeights(sy.adminUrl, 90, 10)
  let green = 0
  let withCookie = 0
  for (let i = 0; i < 2000; i++) {
    const r = await send(sy.proxyUrl + '/')
    if (stickyCookie(r) !== undefined) withCookie++
    if (r.body === 'green') green++
  }
  t.equal(withCookie, 2000, 'every fresh client gets a sticky cookie')
  const share = green / 2000
  t.ok(share >= 0.08 && share <= 0.12, `green share ${share} within 10 % ± 2 %`)
})

t.test('a client keeps its color over 100 requests, and gets one cookie only', async (t) => {
  const { sy } = await setup(t)
  await setWeights(sy.adminUrl, 50, 50)
  for (let client = 0; client < 10; client++) {
    const first = await send(sy.proxyUrl + '/')
    const cookie = stickyCookie(first)
    t.ok(cookie, 'first answer sets the sticky cookie')
    for (let i = 0; i < 100; i++) {
      const r = await send(sy.proxyUrl + '/', { headers: { cookie: cookie as string } })
      if (r.body !== first.body) { t.fail(`client ${client} moved from ${first.body} to ${r.body}`); return }
      if (stickyCookie(r) !== undefined) { t.fail('a client with a valid cookie was sent another one'); return }
    }
  }
  t.pass('10 clients × 100 requests stayed on their color')
})

t.test('widening green from 10 % to 50 % keeps every earlier green client green', async (t) => {
  const { sy } = await setup(t)
  await setWeights(sy.adminUrl, 90, 10)
  const clients: Array<{ cookie: string, color: string }> = []
  for (let i = 0; i < 600; i++) {
    const r = await send(sy.proxyUrl + '/')
    clients.push({ cookie: stickyCookie(r) as string, color: r.body })
  }
  const greens = clients.filter((c) => c.color === 'green')
  t.ok(greens.length > 20, `enough green clients to say something (${greens.length})`)
  await setWeights(sy.adminUrl, 50, 50)
  let stayed = 0
  let movedToGreen = 0
  for (const c of clients) {
    const r = await send(sy.proxyUrl + '/', { headers: { cookie: c.cookie } })
    if (c.color === 'green') { if (r.body === 'green') stayed++ } else if (r.body === 'green') movedToGreen++
  }
  t.equal(stayed, greens.length, 'every green client is still green')
  t.ok(movedToGreen > 0, `some blue clients moved to green (${movedToGreen})`)
})

t.test('after a flip every client reaches green, whatever its cookie; rollback restores the previous weights', async (t) => {
  const { sy } = await setup(t)
  await setWeights(sy.adminUrl, 90, 10)
  const cookies: string[] = []
  for (let i = 0; i < 50; i++) cookies.push(stickyCookie(await send(sy.proxyUrl + '/')) as string)
  const flip = await adminCall(sy.adminUrl, 'POST', '/flip', { to: 'green', reason: 'release' })
  t.equal(flip.status, 200)
  for (const cookie of [...cookies, 'swy=garbage', '']) {
    const r = await send(sy.proxyUrl + '/', cookie === '' ? {} : { headers: { cookie } })
    if (r.body !== 'green') { t.fail(`a client with cookie ${cookie} reached ${r.body}`); return }
  }
  const back = await adminCall(sy.adminUrl, 'POST', '/rollback', { reason: 'bad release' })
  t.equal(back.status, 200)
  t.same((back.json as { weights: unknown }).weights, { blue: 90, green: 10 })
  let green = 0
  for (const cookie of cookies) if ((await send(sy.proxyUrl + '/', { headers: { cookie } })).body === 'green') green++
  t.ok(green < 25, `after rollback the same clients split by 90/10 again (${green}/50 green)`)
})

t.test('a forged, truncated or foreign-secret cookie is not honoured: a fresh bucket and a new cookie', async (t) => {
  const { sy } = await setup(t)
  await setWeights(sy.adminUrl, 0, 100)
  const good = stickyCookie(await send(sy.proxyUrl + '/')) as string
  const value = good.slice('swy='.length)
  const parts = value.split('.')
  const forgedColorBucket = `swy=${'0'}.${parts[1] ?? ''}.${parts[2] ?? ''}.${parts[3] ?? ''}`
  for (const bad of [forgedColorBucket, good.slice(0, -1), `${good}x`, 'swy=1.blue.abc.AAAAAAAAAAAAAAAAAAAAAA']) {
    const r = await send(sy.proxyUrl + '/', { headers: { cookie: bad } })
    t.ok(stickyCookie(r) !== undefined, `a new cookie replaces ${bad}`)
    t.not(stickyCookie(r), bad)
  }
  const again = await send(sy.proxyUrl + '/', { headers: { cookie: good } })
  t.equal(stickyCookie(again), undefined, 'the genuine cookie is accepted without a new one')
})

t.test("the upstream's own Set-Cookie survives beside the sticky cookie", async (t) => {
  const blue = await startUpstream(t, 'blue', { setCookie: 'session=abc; Path=/' })
  const green = await startUpstream(t, 'green', { setCookie: 'session=def; Path=/' })
  const sy = await startTestSwitchyard(t, testConfig([blue, green]))
  const r = await send(sy.proxyUrl + '/')
  const cookies = r.headers['set-cookie']
  const list = Array.isArray(cookies) ? cookies : [cookies]
  t.ok(list.some((c) => c?.startsWith('session=abc') === true), "upstream's cookie kept")
  t.ok(list.some((c) => c?.startsWith('swy=') === true), 'sticky cookie added')
})

t.test('X-Forwarded-For/-Proto/-Host reach the upstream; a client-sent X-Forwarded-For is not trusted by default', async (t) => {
  const { sy, blue } = await setup(t)
  await send(sy.proxyUrl + '/path?q=1', { headers: { 'x-forwarded-for': '6.6.6.6', host: 'app.example' } })
  const h = blue.seen.at(-1)
  t.equal(h?.['x-forwarded-for'], '127.0.0.1')
  t.equal(h?.['x-forwarded-proto'], 'http')
  t.equal(h?.['x-forwarded-host'], 'app.example')
})

t.test('with proxy.trustForwarded an incoming X-Forwarded-For is appended to', async (t) => {
  const { sy, blue } = await setup(t, { proxy: { trustForwarded: true } })
  await send(sy.proxyUrl + '/', { headers: { 'x-forwarded-for': '10.0.0.1', 'x-forwarded-proto': 'https' } })
  const h = blue.seen.at(-1)
  t.equal(h?.['x-forwarded-for'], '10.0.0.1, 127.0.0.1')
  t.equal(h?.['x-forwarded-proto'], 'https')
})

t.test('header-keyed stickiness: the same user id always lands on the same color', async (t) => {
  const { sy } = await setup(t, { sticky: { mode: 'header', header: 'x-user-id' } })
  await setWeights(sy.adminUrl, 50, 50)
  const seen = new Set<string>()
  for (let user = 0; user < 40; user++) {
    const first = (await send(sy.proxyUrl + '/', { headers: { 'x-user-id': `user-${user}` } })).body
    seen.add(first)
    for (let i = 0; i < 10; i++) {
      const r = await send(sy.proxyUrl + '/', { headers: { 'x-user-id': `user-${user}` } })
      if (r.body !== first) { t.fail(`user-${user} moved`); return }
      if (stickyCookie(r) !== undefined) { t.fail('header mode sets no cookie'); return }
    }
  }
  t.same([...seen].sort(), ['blue', 'green'], 'users spread over both colors')
})

t.test('the override header forces a color when enabled, and is ignored when not', async (t) => {
  const { sy } = await setup(t, { overrides: { enabled: true, header: 'x-switchyard-color' } })
  const r = await send(sy.proxyUrl + '/', { headers: { 'x-switchyard-color': 'green' } })
  t.equal(r.body, 'green', 'override to green while green has weight 0')
  t.equal(stickyCookie(r), undefined, 'an override does not mint a sticky cookie')
  const off = await setup(t)
  t.equal((await send(off.sy.proxyUrl + '/', { headers: { 'x-switchyard-color': 'green' } })).body, 'blue')
  const metrics = (await send(sy.adminUrl + '/metrics')).body
  t.match(metrics, /switchyard_requests_total\{color="green",code_class="2xx",reason="override"\} 1/)
})

t.test('a WebSocket upgrade reaches the chosen color', async (t) => {
  const { sy } = await setup(t)
  await adminCall(sy.adminUrl, 'POST', '/flip', { to: 'green' })
  const ws = new WebSocket(sy.proxyUrl.replace('http', 'ws') + '/socket')
  t.teardown(() => ws.terminate())
  const reply = await new Promise<string>((resolve, reject) => {
    ws.once('open', () => ws.send('hello'))
    ws.once('message', (data) => resolve(String(data)))
    ws.once('error', reject)
  })
  t.equal(reply, 'green: hello')
})

t.test('round robin over a color\'s targets', async (t) => {
  const a = await startUpstream(t, 'blue')
  const b = await startUpstream(t, 'blue')
  const g = await startUpstream(t, 'green')
  const sy = await startTestSwitchyard(t, testConfig([a, b, g]))
  for (let i = 0; i < 10; i++) await send(sy.proxyUrl + '/')
  t.equal(a.seen.length, 5)
  t.equal(b.seen.length, 5)
})

t.test('metrics count requests by color, status class and reason', async (t) => {
  const { sy } = await setup(t)
  const r = await send(sy.proxyUrl + '/')
  const cookie = stickyCookie(r) as string
  await send(sy.proxyUrl + '/', { headers: { cookie } })
  const metrics = (await send(sy.adminUrl + '/metrics')).body
  t.match(metrics, /switchyard_requests_total\{color="blue",code_class="2xx",reason="weight"\} 1\n/)
  t.match(metrics, /switchyard_requests_total\{color="blue",code_class="2xx",reason="sticky"\} 1\n/)
  t.match(metrics, /switchyard_request_duration_seconds_count\{color="blue"\} 2\n/)
  t.match(metrics, /switchyard_weight\{color="blue"\} 100\n/)
  t.notMatch(metrics, new RegExp(cookie.slice(4)), 'no cookie value in metrics')
})
