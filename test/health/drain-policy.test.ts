import t from 'tap'
import { adminCall, send, sleep, startTestSwitchyard, startUpstream, stickyCookie, testConfig } from '../helpers/services.js'


t.test('drain policy: after a flip to green a blue client stays on blue for N seconds, then moves; a new client goes green at once', async (t) => {
  const blue = await startUpstream(t, 'blue')
  const green = await startUpstream(t, 'green')
  const sy = await startTestSwitchyard(t, testConfig([blue, green]))
  const first = await send(sy.proxyUrl + '/')
  t.equal(first.body, 'blue')
  const cookie = stickyCookie(first) as string
  const flip = await adminCall(sy.adminUrl, 'POST', '/flip', { to: 'green', switchPolicy: { mode: 'drain', seconds: 2 } })
  t.equal(flip.status, 200)
  t.same((flip.json as { switchPolicy: unknown }).switchPolicy, { mode: 'drain', drainSeconds: 2 })
  const flippedAt = Date.now()
  t.equal((await send(sy.proxyUrl + '/')).body, 'green', 'a new client goes green at once')
  let stayed = 0
  while (Date.now() - flippedAt < 1500) {
    const r = await send(sy.proxyUrl + '/', { headers: { cookie } })
    if (r.body !== 'blue') { t.fail(`the blue client moved after ${Date.now() - flippedAt} ms, inside the drain window`); return }
    stayed++
    await sleep(50)
  }
  t.ok(stayed > 5, `the blue client stayed on blue (${stayed} requests)`)
  t.match((await send(sy.adminUrl + '/metrics')).body, /switchyard_requests_total\{color="blue",code_class="2xx",reason="drain"\} [1-9]/)
  await sleep(Math.max(0, flippedAt + 2300 - Date.now()))
  const moved = await send(sy.proxyUrl + '/', { headers: { cookie } })
  t.equal(moved.body, 'green', 'after the window the client moves to green')
  t.match(stickyCookie(moved) ?? '', /^swy=[0-9a-z]+\.green\./, 'and its cookie now says green')
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
