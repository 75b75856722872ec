import t, { type Test } from 'tap'
import { untilValue } from '../helpers/harness.js'
import { adminCall, send, startTestSwitchyard, startUpstream, stickyCookie, testConfig } from '../helpers/services.js'

// No wall-clock windows: "stays" is checked under a window far longer than the test, and
// "moves" waits for the move itself, then checks it did not come before the window's end.

/** Flips to green under the drain policy; returns the time (ms) blue's drain window ends. */
async function flipWithDrain (t: Test, adminUrl: string, seconds: number, name: 'drainSeconds' | 'seconds' = 'drainSeconds'): Promise<number> {
  const flip = await adminCall(adminUrl, 'POST', '/flip', { to: 'green', switchPolicy: { mode: 'drain', [name]: seconds } })
  t.equal(flip.status, 200)
  const view = flip.json as { switchPolicy: unknown, drainUntil: Record<string, string> }
  t.same(view.switchPolicy, { mode: 'drain', drainSeconds: seconds })
  const until = Date.parse(view.drainUntil.blue ?? '')
  t.ok(Number.isFinite(until), `the state says until when blue drains (${view.drainUntil.blue})`)
  return until
}

t.test('drain policy: after a flip to green a blue client stays on blue for the window; a new client goes green at once', async (t) => {
  const blue = await startUpstream(t, 'blue')
  const green = await startUpstream(t, 'green')
  const sy = await startTestSwitchyard(t, testConfig([blue, green]))
  const first = await send(sy.proxyUrl + '/')
  t.equal(first.body, 'blue')
  const cookie = stickyCookie(first) as string
  await flipWithDrain(t, sy.adminUrl, 3600, 'seconds')
  t.equal((await send(sy.proxyUrl + '/')).body, 'green', 'a new client goes green at once (seconds: the deprecated alias of drainSeconds)')
  let stayed = 0
  for (let i = 0; i < 10; i++) {
    const r = await send(sy.proxyUrl + '/', { headers: { cookie } })
    if (r.body !== 'blue') { t.fail(`the blue client moved at its request ${i + 1}, inside the drain window`); return }
    stayed++
  }
  t.ok(stayed > 5, `the blue client stayed on blue (${stayed} requests)`)
  t.match((await send(sy.adminUrl + '/metrics')).body, /switchyard_requests_total\{color="blue",code_class="2xx",reason="drain"\} [1-9]/)
})

t.test('drain policy: when the window ends the blue client moves to green, and not before', async (t) => {
  const blue = await startUpstream(t, 'blue')
  const green = await startUpstream(t, 'green')
  const sy = await startTestSwitchyard(t, testConfig([blue, green]))
  const cookie = stickyCookie(await send(sy.proxyUrl + '/')) as string
  const drainEnds = await flipWithDrain(t, sy.adminUrl, 1)
  let stillBlue = 0
  const moved = await untilValue('the blue client to move to green after its 1 s drain window', async () => {
    const r = await send(sy.proxyUrl + '/', { headers: { cookie } })
    const answeredAt = Date.now()
    if (r.body === 'blue') { stillBlue++; return undefined }
    return { r, answeredAt }
  }, { everyMs: 50, detail: () => `${stillBlue} answers, all blue` })
  t.ok(moved.answeredAt >= drainEnds, `it moved no earlier than the window's end (answered ${moved.answeredAt - drainEnds} ms after it)`)
  t.equal(moved.r.body, 'green', 'after the window the client moves to green')
  t.match(stickyCookie(moved.r) ?? '', /^swy=[0-9a-z]+\.green\./, 'and its cookie now says green')
})

t.test('immediate policy (the default): the blue client moves with the flip', async (t) => {
  const blue = await startUpstream(t, 'blue')
  const green = await startUpstream(t, 'green')
  const sy = await startTestSwitchyard(t, testConfig([blue, green]))
  const cookie = stickyCookie(await send(sy.proxyUrl + '/')) as string
  await adminCall(sy.adminUrl, 'POST', '/flip', { to: 'green' })
  t.equal((await send(sy.proxyUrl + '/', { headers: { cookie } })).body, 'green')
})

t.test('drain does not hold a client on a color that cannot serve', async (t) => {
  const blue = await startUpstream(t, 'blue')
  const green = await startUpstream(t, 'green')
  const sy = await startTestSwitchyard(t, testConfig([blue, green]))
  const cookie = stickyCookie(await send(sy.proxyUrl + '/')) as string
  await adminCall(sy.adminUrl, 'POST', '/flip', { to: 'green', switchPolicy: { mode: 'drain', seconds: 60 } })
  t.equal((await send(sy.proxyUrl + '/', { headers: { cookie } })).body, 'blue', 'draining on blue')
  const id = `127.0.0.1:${blue.port}`
  t.equal((await adminCall(sy.adminUrl, 'POST', `/targets/blue/${encodeURIComponent(id)}/disable`)).status, 200)
  t.equal((await send(sy.proxyUrl + '/', { headers: { cookie } })).body, 'green', 'blue has no usable target: the client moves')
})

t.test('a rollback after a drain flip moves every client at once: it does not inherit the window', async (t) => {
  const blue = await startUpstream(t, 'blue')
  const green = await startUpstream(t, 'green')
  const sy = await startTestSwitchyard(t, testConfig([blue, green]))
  const blueCookie = stickyCookie(await send(sy.proxyUrl + '/')) as string
  await flipWithDrain(t, sy.adminUrl, 300)
  t.equal((await send(sy.proxyUrl + '/', { headers: { cookie: blueCookie } })).body, 'blue', 'the release flip drains blue clients')
  const greenCookie = stickyCookie(await send(sy.proxyUrl + '/')) as string
  t.match(greenCookie, /\.green\./, 'a new client is on green')
  const back = await adminCall(sy.adminUrl, 'POST', '/rollback', { reason: 'green is bad' })
  t.equal(back.status, 200)
  t.match(back.json, { switchPolicy: { mode: 'immediate', drainSeconds: 0 }, drainUntil: {} }, 'the rollback is immediate')
  t.equal((await send(sy.proxyUrl + '/', { headers: { cookie: greenCookie } })).body, 'blue', 'the green client is on blue at once')
  await flipWithDrain(t, sy.adminUrl, 300)
  const greenAgain = stickyCookie(await send(sy.proxyUrl + '/')) as string
  const plain = await adminCall(sy.adminUrl, 'POST', '/flip', { to: 'blue' })
  t.match(plain.json, { switchPolicy: { mode: 'immediate' }, drainUntil: {} }, 'a plain flip back is immediate too')
  t.equal((await send(sy.proxyUrl + '/', { headers: { cookie: greenAgain } })).body, 'blue', 'and moves the green client at once')
})

t.test('drain without drainSeconds is a 400 naming drainSeconds; the request changes nothing', async (t) => {
  const blue = await startUpstream(t, 'blue')
  const green = await startUpstream(t, 'green')
  const sy = await startTestSwitchyard(t, testConfig([blue, green]))
  for (const [path, method, body] of [
    ['/flip', 'POST', { to: 'green', switchPolicy: { mode: 'drain' } }],
    ['/weights', 'PUT', { weights: { blue: 0, green: 100 }, switchPolicy: { mode: 'drain' } }]
  ] as const) {
    const r = await adminCall(sy.adminUrl, method, path, body)
    t.equal(r.status, 400, `${method} ${path}`)
    t.match(r.json, { error: 'SWY_ERR_ADMIN_INVALID_BODY', message: /drainSeconds is required with mode "drain"/ })
  }
  const both = await adminCall(sy.adminUrl, 'POST', '/flip', { to: 'green', switchPolicy: { mode: 'drain', drainSeconds: 10, seconds: 20 } })
  t.match([both.status, both.json], [400, { message: /send drainSeconds only/ }], 'two different values: which one?')
  t.match((await adminCall(sy.adminUrl, 'GET', '/state')).json, { version: 1 }, 'nothing changed')
})
