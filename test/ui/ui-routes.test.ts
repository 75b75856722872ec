import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import Fastify from 'fastify'
import { loadUiAssets, registerUi, UI_CSP, uiDirectory } from '../../src/admin/ui-routes.js'
import { ROOT } from '../helpers/harness.js'
import { send, startTestSwitchyard, startUpstream, testConfig, untilValue } from '../helpers/services.js'

const WRITE = 'w'.repeat(32)
const READ = 'r'.repeat(32)
const TOKENS = [{ name: 'ops', token: WRITE, role: 'write' }, { name: 'viewer', token: READ, role: 'read' }]

t.test('the page and its files need no token and carry a strict CSP; the page\'s reads need one', async (t) => {
  const blue = await startUpstream(t, 'blue')
  const green = await startUpstream(t, 'green')
  const sy = await startTestSwitchyard(t, testConfig([blue, green], { admin: { listen: { host: '127.0.0.1', port: 0 }, tokens: TOKENS } }))

  const page = await send(sy.adminUrl + '/ui')
  t.equal(page.status, 200)
  t.equal(page.headers['content-type'], 'text/html; charset=utf-8')
  t.equal(page.headers['content-security-policy'], UI_CSP)
  t.match(UI_CSP, /default-src 'none'/)
  t.notMatch(UI_CSP, /unsafe-inline|unsafe-eval/, 'no inline script or style, no eval')
  t.equal(page.headers['x-content-type-options'], 'nosniff')
  t.equal(page.headers['referrer-policy'], 'no-referrer')
  t.notMatch(page.body, /<script(?![^>]*\bsrc=)[^>]*>/, 'no inline <script> in the page')
  t.notMatch(page.body, /\sstyle=|\son[a-z]+=/, 'no inline style or event handler attribute')
  t.notMatch(page.body, /https?:\/\//, 'nothing from another origin (no CDN, no font)')

  const files = readdirSync(join(ROOT, 'src/admin/ui'))
  t.ok(files.includes('app.js') && files.includes('style.css'))
  for (const name of files) {
    const asset = await send(`${sy.adminUrl}/ui/${name}`)
    t.equal(asset.status, 200, `/ui/${name} without a token`)
    t.equal(asset.headers['x-content-type-options'], 'nosniff')
    if (name.endsWith('.js')) {
      t.equal(asset.headers['content-type'], 'text/javascript; charset=utf-8', `${name} as JavaScript`)
      t.notMatch(asset.body, /\binnerHTML\b|\beval\(|new Function/, `${name}: no HTML from strings, no eval`)
      t.notMatch(asset.body, /https?:\/\/(?!www\.w3\.org\/2000\/svg)/, `${name}: nothing from another origin`)
    }
  }

  for (const path of ['/ui/api/figures', '/ui/api/whoami', '/ui/api/', '/ui/a/b', '/ui/../state']) {
    t.equal((await send(sy.adminUrl + path)).status, 401, `${path} needs a token`)
  }
  const missing = await send(sy.adminUrl + '/ui/nothing-here')
  t.equal(missing.status, 404, 'an unknown file: 404, no token asked')
  t.equal((missing.json as { error: string }).error, 'SWY_ERR_ADMIN_NOT_FOUND')
  t.equal((await send(sy.adminUrl + '/ui/app.js?v=2')).status, 200, 'a query string does not hide a file')
  const whoRead = await send(sy.adminUrl + '/ui/api/whoami', { headers: { authorization: `Bearer ${READ}` } })
  t.same(whoRead.json, { name: 'viewer', write: false, tokenRequired: true })
  const whoWrite = await send(sy.adminUrl + '/ui/api/whoami', { headers: { authorization: `Bearer ${WRITE}` } })
  t.same(whoWrite.json, { name: 'ops', write: true, tokenRequired: true })

  // Traffic to blue shows in the figures within a few samples.
  for (let i = 0; i < 20; i++) await send(sy.proxyUrl + '/')
  const figures = await untilValue('the figures to count the requests', async () => {
    const f = (await send(sy.adminUrl + '/ui/api/figures', { headers: { authorization: `Bearer ${READ}` } })).json as { colors: string[], at: number[], series: Record<string, { rate: number[], p99: Array<number | null> }> }
    return (f.series.blue?.rate.some((r) => r > 0) ?? false) ? f : undefined
  }, { everyMs: 200 })
  t.same(figures.colors, ['blue', 'green'])
  t.equal(figures.series.blue?.rate.length, figures.at.length)
  t.ok(figures.series.blue?.p99.some((p) => p !== null && p > 0), 'a p99 for blue')
  t.ok(figures.series.green?.rate.every((r) => r === 0), 'no traffic to green (weights 100/0)')
})

t.test('on a token-less loopback listener the page needs no token at all', async (t) => {
  const blue = await startUpstream(t, 'blue')
  const sy = await startTestSwitchyard(t, testConfig([blue]))
  const who = await send(sy.adminUrl + '/ui/api/whoami')
  t.same(who.json, { name: 'loopback', write: true, tokenRequired: false })
})

t.test('the page\'s files are found next to the module (sources) or in the package\'s src/admin/ui (dist)', async (t) => {
  t.equal(uiDirectory(), join(ROOT, 'src/admin/ui/'))
})

t.test('without its files the page answers a coded error naming the folder, and the admin API works on', async (t) => {
  const assets = loadUiAssets(join(ROOT, 'no-such-folder'))
  t.same([...assets.keys()], ['/ui'])
  const server = Fastify()
  registerUi(server, { colors: ['blue'], tokensConfigured: false }, assets)
  server.get('/state', async () => ({ ok: true }))
  t.teardown(() => server.close())
  const page = await server.inject('/ui')
  t.equal(page.statusCode, 500)
  t.equal(page.json().error, 'SWY_ERR_INTERNAL')
  t.match(page.json().message, /dashboard's files are not installed: no index.html in .*no-such-folder/)
  t.equal((await server.inject('/state')).statusCode, 200)
})
