import t from 'tap'
import { adminCall, send, startTestSwitchyard, startUpstream, stickyCookie, testConfig, until } from '../helpers/services.js'

// A refused port fails at once, so detection stays fast; the generous timeout keeps a busy
// machine (benchmarks beside the tests) from making healthy targets flap.
const health = { active: { path: '/health', intervalMs: 100, timeoutMs: 2000, healthyThreshold: 1, unhealthyThreshold: 2 }, passive: { consecutiveFailures: 3, baseEjectionMs: 300, maxEjectionMs: 2000 } }

/** Known down: `unknown` (never answered) is not down (health is `unknown` until a check or a request shows it, issue 12). */
function isDown (h: string): boolean {
  return h === 'unhealthy' || h === 'ejected'
}

async function targetHealth (adminUrl: string, color: string): Promise<string[]> {
  const r = (await adminCall(adminUrl, 'GET', '/targets')).json as { targets: Array<{ color: string, health: string }> }
  return r.targets.filter((x) => x.color === color).map((x) => x.health)
}

t.test('green killed at 50 %: after detection no request fails; sticky green users fall back to blue and return', async (t) => {
  const blue = await startUpstream(t, 'blue')
  let green = await startUpstream(t, 'green')
  const sy = await startTestSwitchyard(t, testConfig([blue, green], { health }))
  t.equal((await adminCall(sy.adminUrl, 'PUT', '/weights', { weights: { blue: 50, green: 50 } })).status, 200)
  const greenCookies: string[] = []
  await until('10 new clients placed on green at 50 %', async () => {
    const r = await send(sy.proxyUrl + '/')
    if (r.body === 'green') greenCookies.push(stickyCookie(r) as string)
    return greenCookies.length === 10
  }, { everyMs: 0 })
  await green.close()
  await until('green detected down', async () => (await targetHealth(sy.adminUrl, 'green')).every(isDown))
  let failed = 0
  for (let i = 0; i < 200; i++) if ((await send(sy.proxyUrl + '/')).status !== 200) failed++
  t.equal(failed, 0, 'no request fails once green is known down')
  for (const cookie of greenCookies) {
    const r = await send(sy.proxyUrl + '/', { headers: { cookie } })
    t.equal(r.body, 'blue', 'a green user is served by blue meanwhile')
    t.equal(stickyCookie(r), undefined, 'and keeps its cookie (it says green)')
  }
  const metrics = (await send(sy.adminUrl + '/metrics')).body
  t.match(metrics, /switchyard_requests_total\{color="blue",code_class="2xx",reason="fallback"\} [1-9]/)
  t.match(metrics, /switchyard_target_healthy\{color="green",target="127\.0\.0\.1:\d+"\} 0/)

  green = await startUpstream(t, 'green', { port: green.port })
  await until('green healthy again', async () => (await targetHealth(sy.adminUrl, 'green')).every((h) => h === 'healthy'))
  for (const cookie of greenCookies) {
    const back = await send(sy.proxyUrl + '/', { headers: { cookie } })
    t.equal(back.body, 'green', `back on green (status ${back.status}, ${JSON.stringify(await targetHealth(sy.adminUrl, 'green'))})`)
  }
})

t.test('with every weighted color down: 503 SWY_ERR_NO_HEALTHY_UPSTREAM (a weight-0 color is not used)', async (t) => {
  const blue = await startUpstream(t, 'blue')
  const green = await startUpstream(t, 'green')
  const sy = await startTestSwitchyard(t, testConfig([blue, green], { health }))
  await adminCall(sy.adminUrl, 'POST', '/flip', { to: 'green' })
  await green.close()
  await until('green detected down', async () => (await targetHealth(sy.adminUrl, 'green')).every(isDown))
  const r = await send(sy.proxyUrl + '/')
  t.equal(r.status, 503)
  t.equal((r.json as { error: string }).error, 'SWY_ERR_NO_HEALTHY_UPSTREAM')
})

t.test('passive ejection within N failures, and the target returns after its backoff when healthy', async (t) => {
  const a = await startUpstream(t, 'blue')
  const b = await startUpstream(t, 'blue')
  const g = await startUpstream(t, 'green')
  // The ejection must outlast the 12 requests below on a machine whose cores are busy (a
  // target back too soon takes a 4th failure); the pool's timers take no injected clock yet.
  const passiveOnly = { passive: { consecutiveFailures: 3, baseEjectionMs: 5000, maxEjectionMs: 20000 } }
  const sy = await startTestSwitchyard(t, testConfig([a, b, g], { health: passiveOnly, retry: { methods: [] } }))
  await b.close()
  const statuses: number[] = []
  for (let i = 0; i < 12; i++) statuses.push((await send(sy.proxyUrl + '/')).status)
  const failures = statuses.filter((s) => s === 502).length
  t.equal(failures, 3, `exactly N=3 requests failed before the ejection (${statuses.join(',')})`)
  t.ok(statuses.slice(-6).every((s) => s === 200), 'then every request goes to the healthy target')
  const health = (await adminCall(sy.adminUrl, 'GET', '/targets')).json as { targets: Array<{ id: string, health: string }> }
  t.equal(health.targets.find((x) => x.id === `127.0.0.1:${b.port}`)?.health, 'ejected')
  const b2 = await startUpstream(t, 'blue', { port: b.port })
  // b2 never answered before its ejection: when the ejection ends it is `unknown` until it does.
  await until('the ejection ends', async () => (await targetHealth(sy.adminUrl, 'blue')).every((h) => h === 'healthy' || h === 'unknown'))
  for (let i = 0; i < 10; i++) await send(sy.proxyUrl + '/')
  t.ok(b2.seen.length >= 4, `the returned target takes traffic again (${b2.seen.length} of 10)`)
})

t.test('a request refused by one target is retried once on another, a POST with a body too (a refused connection sent nothing)', async (t) => {
  const a = await startUpstream(t, 'blue')
  const b = await startUpstream(t, 'blue')
  const g = await startUpstream(t, 'green')
  const sy = await startTestSwitchyard(t, testConfig([a, b, g], { health: { passive: { enabled: false } } }))
  await b.close()
  const gets: number[] = []
  for (let i = 0; i < 10; i++) gets.push((await send(sy.proxyUrl + '/')).status)
  t.same(gets, Array(10).fill(200), 'every GET succeeds: the refused ones were retried on the other target')
  const posts: number[] = []
  for (let i = 0; i < 10; i++) posts.push((await send(sy.proxyUrl + '/', { method: 'POST', body: 'x' })).status)
  t.same(posts, Array(10).fill(200), 'every POST succeeds: a refused connection is retried for any method, its body intact (lead, soak S1)')
  t.match((await send(sy.adminUrl + '/metrics')).body, /switchyard_upstream_errors_total\{color="blue",kind="connect"\} [1-9]/)
})

t.test('flip to a color with no healthy target → 409 SWY_ERR_TARGET_UNHEALTHY; with force → applied', async (t) => {
  const blue = await startUpstream(t, 'blue')
  const green = await startUpstream(t, 'green')
  const sy = await startTestSwitchyard(t, testConfig([blue, green], { health }))
  await green.close()
  await until('green detected down', async () => (await targetHealth(sy.adminUrl, 'green')).every(isDown))
  const refused = await adminCall(sy.adminUrl, 'POST', '/flip', { to: 'green' })
  t.equal(refused.status, 409)
  t.equal((refused.json as { error: string }).error, 'SWY_ERR_TARGET_UNHEALTHY')
  t.equal(((await adminCall(sy.adminUrl, 'GET', '/state')).json as { version: number }).version, 1, 'nothing changed')
  const forced = await adminCall(sy.adminUrl, 'POST', '/flip', { to: 'green', force: true })
  t.equal(forced.status, 200)
  t.same((forced.json as { weights: unknown }).weights, { blue: 0, green: 100 })
})

t.test('the 503 says an override forced a down color only when the override was honoured', async (t) => {
  const blue = await startUpstream(t, 'blue')
  const green = await startUpstream(t, 'green')
  const sy = await startTestSwitchyard(t, testConfig([blue, green], { health, overrides: { enabled: true } }))
  await green.close()
  await until('green detected down', async () => (await targetHealth(sy.adminUrl, 'green')).every(isDown))
  const forced = await send(sy.proxyUrl + '/', { headers: { 'x-switchyard-color': 'green' } })
  t.equal(forced.status, 503)
  t.match((forced.json as { message: string }).message, /forced by x-switchyard-color/)
  await blue.close()
  await until('blue detected down', async () => (await targetHealth(sy.adminUrl, 'blue')).every(isDown))
  const bogus = await send(sy.proxyUrl + '/', { headers: { 'x-switchyard-color': 'purple' } })
  t.equal(bogus.status, 503)
  t.match((bogus.json as { message: string }).message, /no color with weight has a healthy target/, 'an unknown override value forced nothing')
})
