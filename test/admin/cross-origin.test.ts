import t, { type Test } from 'tap'
import { adminCall, send, startTestSwitchyard, startUpstream, testConfig, type Answer } from '../helpers/services.js'

t.test('a token-less loopback admin API refuses browser requests and non-loopback Host names', async (t) => {
  const blue = await startUpstream(t, 'blue')
  const green = await startUpstream(t, 'green')
  const sy = await startTestSwitchyard(t, testConfig([blue, green, await startUpstream(t, 'green')]))
  const before = (await adminCall(sy.adminUrl, 'GET', '/state')).body

  // What a page on any site can send without a CORS preflight: a "simple" POST.
  const simple = await send(sy.adminUrl + '/rollback', { method: 'POST', headers: { origin: 'https://evil.example' } })
  t.equal(simple.status, 403)
  t.equal((simple.json as { error: string }).error, 'SWY_ERR_ADMIN_CROSS_ORIGIN')
  const fetchMeta = await send(sy.adminUrl + '/rollback', { method: 'POST', headers: { 'sec-fetch-site': 'cross-site' } })
  t.equal(fetchMeta.status, 403)
  const flip = await adminCall(sy.adminUrl, 'POST', '/flip', { to: 'green' }, { origin: 'http://127.0.0.1:9090' })
  t.equal(flip.status, 403, 'even a same-host Origin: the admin API is not for browsers')
  const rebinding = await adminCall(sy.adminUrl, 'POST', '/flip', { to: 'green' }, { host: 'attacker.example' })
  t.equal(rebinding.status, 403, 'a DNS-rebound Host name is refused on a loopback listener')
  t.equal((await adminCall(sy.adminUrl, 'GET', '/state')).body, before, 'nothing changed')

  t.equal((await adminCall(sy.adminUrl, 'POST', '/flip', { to: 'green' }, { host: 'localhost:9090' })).status, 200, 'localhost is fine')
  t.equal((await adminCall(sy.adminUrl, 'POST', '/rollback', undefined, { 'sec-fetch-site': 'none' })).status, 200, 'a typed-in URL (Sec-Fetch-Site: none) is fine')
  t.equal((await send(sy.adminUrl + '/healthz', { headers: { origin: 'https://evil.example' } })).status, 403, 'health and metrics refuse browsers too (issue 9, item 8)')
})

const OPEN = ['/metrics', '/readyz', '/healthz']

/** Asserts a 403 SWY_ERR_ADMIN_CROSS_ORIGIN that leaks nothing of what the route would have answered. */
function refused (t: Test, answer: Answer, what: string): void {
  t.equal(answer.status, 403, `${what}: 403 (body ${answer.body})`)
  t.equal((answer.json as { error?: string } | undefined)?.error, 'SWY_ERR_ADMIN_CROSS_ORIGIN', `${what}: SWY_ERR_ADMIN_CROSS_ORIGIN`)
  t.notMatch(answer.body, /switchyard_|127\.0\.0\.1:\d|"status"|storeUp/, `${what}: no metric, target address or status in the body`)
}

t.test('the open routes (/metrics, /readyz, /healthz) refuse browsers and rebound Host names too', async (t) => {
  const blue = await startUpstream(t, 'blue')
  const green = await startUpstream(t, 'green')
  const sy = await startTestSwitchyard(t, testConfig([blue, green]))
  const port = new URL(sy.adminUrl).port
  for (const path of OPEN) {
    refused(t, await send(sy.adminUrl + path, { headers: { origin: 'https://evil.example' } }), `${path} with Origin`)
    refused(t, await send(sy.adminUrl + path, { headers: { origin: 'null' } }), `${path} with Origin: null (sandboxed page)`)
    refused(t, await send(sy.adminUrl + path, { headers: { 'sec-fetch-site': 'cross-site' } }), `${path} with Sec-Fetch-Site: cross-site`)
    refused(t, await send(sy.adminUrl + path, { headers: { 'sec-fetch-site': 'same-site' } }), `${path} with Sec-Fetch-Site: same-site`)
    refused(t, await send(sy.adminUrl + path, { headers: { host: 'evil.example' } }), `${path} with Host: evil.example on a loopback listener`)
    refused(t, await send(sy.adminUrl + path, { headers: { host: `evil.example:${port}` } }), `${path} with Host: evil.example:port (DNS rebinding)`)
  }
  const refusedMetrics = await send(sy.adminUrl + '/metrics', { headers: { host: 'evil.example' } })
  t.match(refusedMetrics.headers['content-type'], /application\/json/, 'a refused scrape is the JSON error, not the exposition format')

  // What Prometheus, probes and scripts send: no Origin, no Sec-Fetch-*, a loopback Host.
  const scrape = await send(sy.adminUrl + '/metrics', { headers: { host: `127.0.0.1:${port}`, accept: 'application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5' } })
  t.equal(scrape.status, 200, 'a Prometheus-like scrape is answered')
  t.match(scrape.body, /^switchyard_requests_total\{/m, 'with the metrics')
  t.equal((await send(sy.adminUrl + '/readyz', { headers: { host: `127.0.0.1:${port}` } })).status, 200, '/readyz for a probe')
  t.equal((await send(sy.adminUrl + '/healthz', { headers: { host: `localhost:${port}` } })).status, 200, '/healthz with Host localhost')
  t.equal((await send(sy.adminUrl + '/healthz', { headers: { 'sec-fetch-site': 'none' } })).status, 200, 'a typed-in URL (Sec-Fetch-Site: none) is not cross-site')
  // The Docker image's HEALTHCHECK is Node's fetch: it must not look like a browser.
  t.equal((await fetch(sy.adminUrl + '/healthz')).status, 200, "Node's fetch (the Dockerfile HEALTHCHECK) is answered")
})

t.test('with tokens, the open routes still need no token, but refuse browsers', async (t) => {
  const blue = await startUpstream(t, 'blue')
  const sy = await startTestSwitchyard(t, testConfig([blue], { admin: { listen: { host: '127.0.0.1', port: 0 }, tokens: [{ name: 'ci', token: 't'.repeat(32) }] } }))
  for (const path of OPEN) {
    t.equal((await send(sy.adminUrl + path)).status, 200, `${path} without a token`)
    refused(t, await send(sy.adminUrl + path, { headers: { origin: 'https://evil.example' } }), `${path} with Origin`)
    refused(t, await send(sy.adminUrl + path, { headers: { origin: 'https://evil.example', authorization: `Bearer ${'t'.repeat(32)}` } }), `${path} with Origin and a valid token`)
  }
})

t.test('the dashboard\'s own same-origin requests pass; every other browser request is still refused', async (t) => {
  const blue = await startUpstream(t, 'blue')
  const green = await startUpstream(t, 'green')
  const sy = await startTestSwitchyard(t, testConfig([blue, green]))
  const port = new URL(sy.adminUrl).port
  const own = `http://127.0.0.1:${port}`
  const version = async (): Promise<number> => ((await adminCall(sy.adminUrl, 'GET', '/state')).json as { version: number }).version
  const v0 = await version()

  const flip = (to: string, headers: Record<string, string>): Promise<Answer> => adminCall(sy.adminUrl, 'POST', '/flip', { to }, headers)
  const sameOrigin = { 'sec-fetch-site': 'same-origin' }
  refused(t, await flip('green', { ...sameOrigin, origin: `http://127.0.0.1:${Number(port) + 1}` }), 'same-origin claimed, Origin of another port')
  refused(t, await flip('green', { ...sameOrigin, origin: 'null' }), 'same-origin claimed, Origin: null')
  refused(t, await flip('green', { ...sameOrigin, origin: `https://127.0.0.1:${port}` }), 'same-origin claimed, Origin with another scheme')
  refused(t, await flip('green', { ...sameOrigin, origin: `http://evil.example:${port}`, host: `evil.example:${port}` }), 'a DNS-rebound page: its own origin, but not a loopback Host')
  refused(t, await flip('green', { 'sec-fetch-site': 'same-site', origin: `http://127.0.0.1:${Number(port) + 1}` }), 'a page on another port of this host (same-site)')
  refused(t, await flip('green', { origin: own }), 'our own Origin without Sec-Fetch-Site: same-origin')
  refused(t, await flip('green', { 'sec-fetch-site': 'none', origin: own }), 'our own Origin with Sec-Fetch-Site: none')
  refused(t, await send(sy.adminUrl + '/ui', { headers: { 'sec-fetch-site': 'cross-site' } }), 'the page itself, loaded from another site')
  t.equal(await version(), v0, 'nothing changed')

  const ok = await flip('green', { ...sameOrigin, origin: own, host: `127.0.0.1:${port}` })
  t.equal(ok.status, 200, `the page's own write (Sec-Fetch-Site: same-origin, its own Origin): ${ok.body}`)
  t.equal((await flip('blue', { ...sameOrigin, origin: `http://LOCALHOST:${port}`, host: `localhost:${port}` })).status, 200, 'the page opened as localhost (Origin compared normalised)')
  t.equal((await send(sy.adminUrl + '/state', { headers: sameOrigin })).status, 200, 'the page\'s own read (no Origin on a same-origin GET)')
  t.equal((await send(sy.adminUrl + '/ui/app.js', { headers: sameOrigin })).status, 200, 'the page\'s own script')
  t.equal(await version(), v0 + 2)
})
