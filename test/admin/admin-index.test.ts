import t from 'tap'
import { adminCall, send, startTestSwitchyard, startUpstream, testConfig } from '../helpers/services.js'

const TOKEN = 'i'.repeat(32)

t.test('GET / answers an index of links, without a token, as JSON or (when asked) HTML', async (t) => {
  const blue = await startUpstream(t, 'blue')
  const sy = await startTestSwitchyard(t, testConfig([blue], {
    admin: { listen: { host: '127.0.0.1', port: 0 }, tokens: [{ name: 'ops', token: TOKEN, role: 'write' }] }
  }))
  t.equal((await adminCall(sy.adminUrl, 'GET', '/state')).status, 401, 'the API takes a token')
  const index = await adminCall(sy.adminUrl, 'GET', '/')
  t.equal(index.status, 200, 'the index does not (it names routes only)')
  t.match(index.headers['content-type'], /^application\/json/)
  t.match(index.json, { links: { ui: '/ui', openapi: '/openapi.json', state: '/state', metrics: '/metrics', rollout: '/rollout' } })
  t.notMatch(index.body, /127\.0\.0\.1|blue|version/, 'nothing about targets, colors or the state')
  const html = await send(`${sy.adminUrl}/`, { headers: { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' } })
  t.equal(html.status, 200)
  t.match(html.headers['content-type'], /^text\/html/, 'a browser gets HTML')
  t.match(html.body, '<a href="/ui">/ui</a>')
  t.notMatch(html.body, /<script/i, 'no script')
  t.equal((await send(`${sy.adminUrl}/`, { headers: { origin: 'https://evil.example' } })).status, 403, 'cross-site requests are still refused')
})

t.test('every JSON answer of the admin API ends with a newline; /metrics is left as it is', async (t) => {
  const blue = await startUpstream(t, 'blue')
  const green = await startUpstream(t, 'green')
  const sy = await startTestSwitchyard(t, testConfig([blue, green]))
  const answers = [
    await adminCall(sy.adminUrl, 'GET', '/'),
    await adminCall(sy.adminUrl, 'GET', '/state'),
    await adminCall(sy.adminUrl, 'GET', '/history'),
    await adminCall(sy.adminUrl, 'GET', '/targets'),
    await adminCall(sy.adminUrl, 'GET', '/healthz'),
    await adminCall(sy.adminUrl, 'GET', '/readyz'),
    await adminCall(sy.adminUrl, 'PUT', '/weights', { weights: { blue: 90, green: 10 } }),
    await adminCall(sy.adminUrl, 'PUT', '/weights', { weights: { blue: 90 } }),
    await adminCall(sy.adminUrl, 'GET', '/nowhere'),
    await adminCall(sy.adminUrl, 'GET', '/history?limit=0')
  ]
  for (const a of answers) {
    t.match(a.headers['content-type'], /^application\/json/)
    t.ok(a.body.endsWith('}\n'), `ends with a newline: ${JSON.stringify(a.body.slice(-20))} (${a.status})`)
    t.equal(Number(a.headers['content-length']), Buffer.byteLength(a.body), 'Content-Length counts it')
  }
  const metrics = await send(`${sy.adminUrl}/metrics`)
  t.match(metrics.headers['content-type'], /^text\/plain/)
  t.notOk(metrics.body.endsWith('\n\n'), 'the metrics text is unchanged')
})
