import { createServer } from 'node:http'
import t from 'tap'
import { listenLoopback } from '../helpers/harness.js'
import { adminCall, startTestSwitchyard, startUpstream, testConfig, until } from '../helpers/services.js'
import { launchBrowser } from './browser.js'

/**
 * A page on another origin that tries every write a page can send to the admin API without
 * a token (the listener is a token-less loopback one, the easiest target): a simple POST
 * (no preflight), a JSON POST (preflighted), a PUT, and a form POST that navigates.
 */
function attackerPage (admin: string): string {
  return `<!doctype html><html><body>
<form id="f" method="POST" action="${admin}/flip" enctype="text/plain"><input name='{"to":"green","x":"' value='"}'></form>
<script>
window.results = []
const note = (what, r) => window.results.push(what + ': ' + r)
Promise.allSettled([
  fetch('${admin}/rollback', { method: 'POST', mode: 'no-cors' }).then((r) => note('no-cors rollback', r.type), (e) => note('no-cors rollback', 'failed ' + e.message)),
  fetch('${admin}/flip', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"to":"green"}' }).then((r) => note('cors flip', r.status), (e) => note('cors flip', 'failed ' + e.message)),
  fetch('${admin}/weights', { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{"weights":{"blue":0,"green":100}}' }).then((r) => note('cors weights', r.status), (e) => note('cors weights', 'failed ' + e.message)),
  fetch('${admin}/state').then((r) => note('cors read', r.status), (e) => note('cors read', 'failed ' + e.message))
]).then(() => { window.fetchesDone = true })
</script></body></html>`
}

t.test('a page on another origin cannot change anything, even on a token-less loopback admin API', async (t) => {
  const blue = await startUpstream(t, 'blue')
  const green = await startUpstream(t, 'green')
  const sy = await startTestSwitchyard(t, testConfig([blue, green], { initial: { weights: { blue: 100, green: 0 } } }))
  // A change to roll back, so that a rollback that got through would show.
  t.equal((await adminCall(sy.adminUrl, 'POST', '/flip', { to: 'green' })).status, 200)
  const before = (await adminCall(sy.adminUrl, 'GET', '/state')).json as { version: number }
  const history = (await adminCall(sy.adminUrl, 'GET', '/history')).body

  const server = createServer((req, res) => {
    res.setHeader('content-type', 'text/html; charset=utf-8')
    res.end(attackerPage(sy.adminUrl))
  })
  const { port, close } = await listenLoopback(server)
  t.teardown(close)
  const browser = await launchBrowser(t)

  // Another port of the same host (Sec-Fetch-Site: same-site) and another host name (cross-site).
  for (const origin of [`http://127.0.0.1:${port}`, `http://localhost:${port}`]) {
    const page = await browser.newPage()
    const adminAnswers: Array<{ method: string, path: string, status: number }> = []
    page.on('response', (r) => {
      const u = new URL(r.url())
      if (u.origin === sy.adminUrl) adminAnswers.push({ method: r.request().method(), path: u.pathname, status: r.status() })
    })
    await page.goto(`${origin}/`)
    await until(`the page from ${origin} to send its requests`, async () => await page.evaluate('window.fetchesDone === true') === true, {
      detail: () => JSON.stringify(adminAnswers)
    })
    t.comment(`${origin}: ${String(await page.evaluate('window.results.join("; ")'))}`)
    await page.evaluate('document.getElementById("f").submit()')
    // The form navigates to the admin API and shows its answer.
    await until(`the form POST from ${origin} to be answered`, () => adminAnswers.some((a) => a.path === '/flip' && a.method === 'POST' && a.status !== 204), {
      detail: () => JSON.stringify(adminAnswers)
    })
    t.match(await page.textContent('body'), /SWY_ERR_ADMIN_CROSS_ORIGIN/, `${origin}: the form's navigation shows the refusal`)
    const writes = adminAnswers.filter((a) => a.method !== 'GET' && a.method !== 'OPTIONS')
    t.ok(writes.length >= 2, `${origin}: the writes reached the admin API (${JSON.stringify(adminAnswers)})`)
    for (const a of adminAnswers) t.equal(a.status, 403, `${origin}: ${a.method} ${a.path} answered 403`)
    await page.close()
  }

  const after = (await adminCall(sy.adminUrl, 'GET', '/state')).json as { version: number, weights: Record<string, number> }
  t.equal(after.version, before.version, 'the state version is unchanged')
  t.same(after.weights, { blue: 0, green: 100 })
  t.equal((await adminCall(sy.adminUrl, 'GET', '/history')).body, history, 'nothing in the history')
})
