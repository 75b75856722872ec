import { copyFileSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { ROOT } from '../helpers/harness.js'
import { adminCall, startTestSwitchyard, startUpstream, testConfig, until, untilValue } from '../helpers/services.js'
import { launchBrowser, pageProblems, trafficLoop } from './browser.js'

const WRITE = 'w'.repeat(32)
const READ = 'r'.repeat(32)
const TOKENS = [{ name: 'ops', token: WRITE, role: 'write' }, { name: 'viewer', token: READ, role: 'read' }]

interface StateBody { version: number, weights: Record<string, number>, kind: string, changedBy: string, reason: string }

async function stateOf (adminUrl: string): Promise<StateBody> {
  const answer = await adminCall(adminUrl, 'GET', '/state', undefined, { authorization: `Bearer ${READ}` })
  return answer.json as StateBody
}

/** A rate the legend shows as more than zero, e.g. "12.3 req/s". */
function positiveRate (text: string | null): boolean {
  const m = /^([\d.]+) req\/s$/.exec(text ?? '')
  return m !== null && Number(m[1]) > 0
}

t.test('the dashboard shows both colors live, sets weights with the slider and rolls back', async (t) => {
  const blue = await startUpstream(t, 'blue')
  const green = await startUpstream(t, 'green')
  const sy = await startTestSwitchyard(t, testConfig([blue, green], {
    admin: { listen: { host: '127.0.0.1', port: 0 }, tokens: TOKENS },
    initial: { weights: { blue: 50, green: 50 } }
  }))
  trafficLoop(t, sy.proxyUrl + '/')
  const browser = await launchBrowser(t)
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } })
  const problems = pageProblems(page)

  const response = await page.goto(`${sy.adminUrl}/ui#token=${WRITE}`)
  t.equal(response?.status(), 200)
  t.match(response?.headers()['content-security-policy'], /script-src 'self'/)
  await until('the token to leave the address bar', () => !page.url().includes('#'), { detail: () => page.url() })
  t.equal(await page.evaluate('window.sessionStorage.getItem("switchyard-token")'), WRITE, 'the token is kept in sessionStorage')
  t.match(await page.textContent('[data-testid=who]'), /^ops$/)

  await until('both colors\' request rates on the page', async () =>
    positiveRate(await page.textContent('[data-testid=rate-blue]')) && positiveRate(await page.textContent('[data-testid=rate-green]')),
  { timeoutMs: 60_000, everyMs: 200, detail: () => problems.join('; ') })
  t.match(await page.textContent('[data-testid=summary]'), /version 1 · applied on 1 of 1/)
  t.equal(await page.locator('[data-testid=targets] tbody tr').count(), 2, 'both targets are listed')

  // A canary: move the slider to green 30 %, confirm with a reason.
  const before = await stateOf(sy.adminUrl)
  await page.fill('[data-testid=weight-slider]', '30')
  t.equal(await page.textContent('[data-testid=weight-draft]'), 'blue 70 % · green 30 %')
  await page.click('[data-testid=apply-weights]')
  await page.waitForSelector('[data-testid=confirm]', { state: 'visible' })
  t.match(await page.textContent('[data-testid=confirm]'), /blue 70 %, green 30 %/)
  await page.fill('#confirm-reason', 'canary from the dashboard')
  await page.click('[data-testid=confirm-ok]')
  const canary = await untilValue('GET /state to show the new weights', async () => {
    const s = await stateOf(sy.adminUrl)
    return s.weights.green === 30 ? s : undefined
  })
  t.equal(canary.version, before.version + 1)
  t.same(canary.weights, { blue: 70, green: 30 })
  t.equal(canary.changedBy, 'ops', 'changed as the token\'s name')
  t.equal(canary.reason, 'canary from the dashboard')
  await until('the page to show version 2', async () => /version 2 /.test(await page.textContent('[data-testid=summary]') ?? ''))
  await until('the history to list the change', async () => (await page.textContent('[data-testid=history]') ?? '').includes('canary from the dashboard'))

  // The picture for the README: the charts with a few seconds of traffic at 70/30.
  await until('a line per color on the charts', async () => await page.locator('#chart-rate polyline').count() >= 2, { everyMs: 200 })
  if (process.env.UPDATE_SCREENSHOT === '1') {
    // For docs/dashboard.png: half a minute of figures, so the lines show the change.
    const started = Date.now()
    await until('30 s more of figures', () => Date.now() - started > 30_000, { timeoutMs: 60_000, everyMs: 500 })
  }
  const artifacts = join(ROOT, 'test/ui/artifacts')
  mkdirSync(artifacts, { recursive: true })
  await page.screenshot({ path: join(artifacts, 'dashboard.png'), fullPage: true })
  if (process.env.UPDATE_SCREENSHOT === '1') copyFileSync(join(artifacts, 'dashboard.png'), join(ROOT, 'docs/dashboard.png'))

  // Cancel does nothing; rollback with confirmation goes back to 50/50.
  await page.click('[data-testid=rollback]')
  await page.click('#confirm-cancel')
  await page.waitForSelector('[data-testid=confirm]', { state: 'hidden' })
  t.equal((await stateOf(sy.adminUrl)).version, canary.version, 'a cancelled rollback changes nothing')
  await page.click('[data-testid=rollback]')
  await page.click('[data-testid=confirm-ok]')
  const rolled = await untilValue('GET /state to show the rollback', async () => {
    const s = await stateOf(sy.adminUrl)
    return s.kind === 'rollback' ? s : undefined
  })
  t.same(rolled.weights, { blue: 50, green: 50 })
  t.equal(rolled.version, canary.version + 1)
  await until('the page to say the rollback was done', async () => /rollback: done/.test(await page.textContent('[data-testid=notice]') ?? ''))

  // Drain a target, then enable it again.
  const g = `green-127.0.0.1:${green.port}`
  await page.click(`[data-testid="drain-${g}"]`)
  await page.click('[data-testid=confirm-ok]')
  await until('the target to show draining', async () => (await page.textContent(`[data-testid="target-${g}"]`) ?? '').includes('draining'))
  const listed = (await adminCall(sy.adminUrl, 'GET', '/targets', undefined, { authorization: `Bearer ${READ}` })).json as { targets: Array<{ id: string, mode: string }> }
  t.equal(listed.targets.find((x) => x.id === `127.0.0.1:${green.port}`)?.mode, 'draining', 'GET /targets says draining')
  await page.click(`[data-testid="enable-${g}"]`)
  await page.click('[data-testid=confirm-ok]')
  await until('the target to show enabled', async () => (await page.textContent(`[data-testid="target-${g}"]`) ?? '').includes('enabled'))

  t.same(problems, [], 'no page error, no console error (a CSP violation would be one)')
})

t.test('with a read token the page shows everything and offers no action', async (t) => {
  const blue = await startUpstream(t, 'blue')
  const green = await startUpstream(t, 'green')
  const sy = await startTestSwitchyard(t, testConfig([blue, green], { admin: { listen: { host: '127.0.0.1', port: 0 }, tokens: TOKENS } }))
  const browser = await launchBrowser(t)
  const page = await browser.newPage()
  const problems = pageProblems(page)
  await page.goto(`${sy.adminUrl}/ui#token=${READ}`)
  await until('the page to show the state', async () => /version 1 /.test(await page.textContent('[data-testid=summary]') ?? ''), { detail: () => problems.join('; ') })
  t.equal(await page.textContent('[data-testid=who]'), 'viewer (read-only)')
  await until('the targets to be listed', async () => await page.locator('[data-testid=targets] tbody tr').count() === 2)
  for (const sel of ['weight-slider', 'apply-weights', 'flip-green', 'rollback', `drain-blue-127.0.0.1:${blue.port}`, `enable-blue-127.0.0.1:${blue.port}`]) {
    t.ok(await page.isDisabled(`[data-testid="${sel}"]`), `${sel} is disabled`)
  }
  t.same(problems, [])
})

t.test('without a token the page asks for one, then works with it', async (t) => {
  const blue = await startUpstream(t, 'blue')
  const sy = await startTestSwitchyard(t, testConfig([blue], { admin: { listen: { host: '127.0.0.1', port: 0 }, tokens: TOKENS } }))
  const browser = await launchBrowser(t)
  const page = await browser.newPage()
  await page.goto(`${sy.adminUrl}/ui`)
  await page.waitForSelector('#login', { state: 'visible' })
  await page.fill('#token', 'x'.repeat(32))
  await page.click('#login button[type=submit]')
  await until('the wrong token to be refused', async () => /SWY_ERR_AUTH_INVALID_TOKEN/.test(await page.textContent('#login-error') ?? ''))
  await page.fill('#token', WRITE)
  await page.click('#login button[type=submit]')
  await until('the page to show the state', async () => /version 1 /.test(await page.textContent('[data-testid=summary]') ?? ''))
  t.equal(await page.textContent('[data-testid=who]'), 'ops')
})

t.test('with three colors the page edits the weights as numbers and flips', async (t) => {
  const upstreams = [await startUpstream(t, 'blue'), await startUpstream(t, 'green'), await startUpstream(t, 'red')]
  const sy = await startTestSwitchyard(t, testConfig(upstreams))
  const browser = await launchBrowser(t)
  const page = await browser.newPage()
  const problems = pageProblems(page)
  await page.goto(`${sy.adminUrl}/ui`)
  await until('the page to show the state', async () => /version 1 /.test(await page.textContent('[data-testid=summary]') ?? ''), { detail: () => problems.join('; ') })
  t.equal(await page.textContent('[data-testid=who]'), 'loopback, no token', 'a token-less loopback listener needs no token')
  t.equal(await page.locator('[data-testid=weight-slider]').count(), 0, 'no slider for three colors')
  await page.fill('[data-testid=weight-blue]', '80')
  await page.fill('[data-testid=weight-green]', '15')
  await page.fill('[data-testid=weight-red]', '5')
  await page.click('[data-testid=apply-weights]')
  await page.click('[data-testid=confirm-ok]')
  await until('GET /state to show 80/15/5', async () => JSON.stringify((await stateOf(sy.adminUrl)).weights) === '{"blue":80,"green":15,"red":5}')
  await page.click('[data-testid=flip-red]')
  await page.click('[data-testid=confirm-ok]')
  await until('GET /state to show red at 100', async () => (await stateOf(sy.adminUrl)).weights.red === 100)
  await page.fill('[data-testid=weight-blue]', '50')
  await page.click('[data-testid=apply-weights]')
  await page.click('[data-testid=confirm-ok]')
  await until('the refusal of weights that do not sum to 100', async () => /refused: SWY_ERR_/.test(await page.textContent('[data-testid=notice]') ?? ''))
  t.equal((await stateOf(sy.adminUrl)).weights.red, 100, 'unchanged')
  t.same(problems.filter((p) => !/status of 400/.test(p)), [], 'no page error (the refused write is a 400 in the console)')
})
