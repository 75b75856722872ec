/**
 * The header policy (DATAPATH-SPEC §1): what a client may not pass upstream, what an upstream
 * may not pass back, and the wedge it prevents (undici refusing a header leaves a pool
 * connection that is never used again).
 */
import t from 'tap'
import { HeaderPolicy, REQUEST_REMOVED, RESPONSE_REMOVED } from '../../src/proxy/header-policy.js'
import { adminCall, startTestSwitchyard, testConfig } from '../helpers/services.js'
import { head, portOf, rawRequest, startRecorder } from '../helpers/raw-http.js'

t.test('every removed header has a reason', async (t) => {
  for (const [name, why] of Object.entries({ ...REQUEST_REMOVED, ...RESPONSE_REMOVED })) t.ok(why.length > 10, `${name}: ${why}`)
})

t.test('the policy on plain objects: hop-by-hop, Connection-listed, override and forwarding headers go; forwarding headers are set', async (t) => {
  const policy = new HeaderPolicy({ overrideHeader: 'X-Switchyard-Color', trustForwarded: false, tls: false })
  const out = policy.request({
    host: 'a.example',
    connection: 'keep-alive, X-Hop, content-length',
    'x-hop': '1',
    'keep-alive': '5',
    te: 'trailers',
    trailer: 'x',
    'proxy-connection': 'keep-alive',
    'proxy-authorization': 'Basic eA==',
    upgrade: 'foo',
    expect: '100-continue',
    'http2-settings': 'AA',
    'transfer-encoding': 'chunked',
    'x-switchyard-color': 'green',
    forwarded: 'for=1.2.3.4',
    'x-forwarded-for': '1.2.3.4',
    'x-forwarded-host': 'evil',
    'x-forwarded-proto': 'https',
    'x-forwarded-port': '1',
    'x-forwarded-prefix': '/x',
    'x-real-ip': '1.2.3.4',
    'x-client-ip': '1.2.3.4',
    'true-client-ip': '1.2.3.4',
    'content-length': '3',
    'x-kept': 'yes'
  }, 'upstream:80', '10.0.0.1')
  const present = Object.keys(out).filter((k) => out[k] !== undefined).sort()
  t.same(present, ['content-length', 'host', 'x-forwarded-for', 'x-forwarded-host', 'x-forwarded-proto', 'x-kept'])
  t.equal(out.host, 'upstream:80')
  t.equal(out['x-forwarded-for'], '10.0.0.1')
  t.equal(out['x-forwarded-host'], 'a.example')
  t.equal(out['x-forwarded-proto'], 'http')
  t.equal(out['content-length'], '3', 'a Connection header cannot remove the framing Node parsed')

  const noHost = policy.request({ 'x-forwarded-host': 'evil' }, 'upstream:80', '10.0.0.1')
  t.equal(noHost['x-forwarded-host'], undefined, 'no Host and an untrusted prior value: no x-forwarded-host')

  const trusted = new HeaderPolicy({ overrideHeader: 'x-switchyard-color', trustForwarded: true, tls: true })
  const kept = trusted.request({ host: 'a', 'x-forwarded-for': '1.1.1.1', 'x-forwarded-proto': 'http', 'x-real-ip': '1.1.1.1' }, 'u', '10.0.0.1')
  t.equal(kept['x-forwarded-for'], '1.1.1.1, 10.0.0.1')
  t.equal(kept['x-forwarded-proto'], 'http', 'a trusted prior value is kept')
  t.equal(kept['x-real-ip'], '1.1.1.1')
  t.equal(trusted.request({ host: 'a' }, 'u', '10.0.0.1')['x-forwarded-proto'], 'https', 'https on a TLS listener')

  t.equal(policy.refusal({ host: 'a', 'x-ok': 'fine\tvalue' }), undefined)
  t.match(policy.refusal({ host: 'a', 'x-bad': 'a\u0001b' }), /x-bad/)
  t.equal(policy.refusal({ host: 'a', upgrade: '\u0001' }), undefined, 'a removed header is never forwarded, so never refused')

  const response: Record<string, string | undefined> = { connection: 'keep-alive, x-hop', 'x-hop': '1', 'keep-alive': 'timeout=99', 'proxy-authenticate': 'Basic', trailer: 'x', upgrade: 'h2', 'transfer-encoding': 'chunked', te: 'x', 'proxy-connection': 'x', 'content-type': 'text/plain' }
  policy.response(response)
  t.same(Object.keys(response), ['content-type'])
})

t.test('a removed header spelled with underscores is removed too (CGI-style upstreams read _ as -)', async (t) => {
  const policy = new HeaderPolicy({ overrideHeader: 'x-switchyard-color', trustForwarded: false, tls: false })
  const out = policy.request({
    host: 'a',
    x_forwarded_for: '6.6.6.6',
    'x-real_ip': '6.6.6.6',
    x_forwarded_host: 'evil.example',
    x_switchyard_color: 'green',
    proxy_authorization: 'Basic x',
    keep_alive: 'timeout=5',
    x_request_id: 'kept',
    user_agent: 'kept'
  }, 'up:1', '127.0.0.1')
  for (const name of ['x_forwarded_for', 'x-real_ip', 'x_forwarded_host', 'x_switchyard_color', 'proxy_authorization', 'keep_alive']) {
    t.equal(out[name], undefined, `${name} is not forwarded`)
  }
  t.equal(out.x_request_id, 'kept', 'an underscore name that is not removed is forwarded')
  t.equal(out.user_agent, 'kept')
  t.equal(out['x-forwarded-for'], '127.0.0.1', 'the proxy sets its own x-forwarded-for')
  const trusting = new HeaderPolicy({ overrideHeader: 'x-switchyard-color', trustForwarded: true, tls: false })
  t.equal(trusting.request({ x_forwarded_for: '6.6.6.6' }, 'up:1', '127.0.0.1').x_forwarded_for, '6.6.6.6', 'with trustForwarded, forwarding spellings are the operator\'s to keep')
})

t.test('no client header wedges the upstream pool: each refused-by-undici header sent more times than pool connections, then a normal request', async (t) => {
  const blue = await startRecorder(t, 'blue')
  // 2 connections: undici uses a Pool (one connection is a bare Client, which the wedge spares).
  const sy = await startTestSwitchyard(t, testConfig([blue], { upstream: { connections: 2 }, health: { passive: { consecutiveFailures: 2 } } }))
  const port = portOf(sy.proxyUrl)
  const vectors = [
    ['Keep-Alive', head('GET /ka', ['Host: a', 'Keep-Alive: x'])],
    ['Upgrade', head('GET /up', ['Host: a', 'Upgrade: foo'])],
    ['Expect', head('POST /ex', ['Host: a', 'Expect: 100-continue', 'Content-Length: 3']) + 'abc'],
    ['Transfer-Encoding', head('POST /te', ['Host: a', 'Transfer-Encoding: chunked']) + '3\r\nabc\r\n0\r\n\r\n'],
    ['Connection listing', head('GET /cl', ['Host: a', 'Connection: keep-alive, x-foo', 'X-Foo: 1'])]
  ] as const
  for (const [name, bytes] of vectors) {
    for (let i = 0; i < 4; i++) {
      const r = await rawRequest(port, bytes, `${name} #${i + 1} (a hang is the wedge)`)
      t.equal(r.status, 200, `${name} #${i + 1} forwarded after the policy`)
      const names = blue.lastNames()
      for (const h of ['keep-alive', 'upgrade', 'expect', 'transfer-encoding', 'x-foo']) t.notOk(names.has(h), `${name}: ${h} never reaches the upstream`)
    }
  }
  const ok = await rawRequest(port, head('GET /after', ['Host: a']), 'a normal request after the vectors')
  t.equal(ok.status, 200)
  const targets = await adminCall(sy.adminUrl, 'GET', '/targets')
  t.match(targets.json, { targets: [{ health: 'healthy', inFlight: 0 }] })
})

t.test('client-chosen headers never reach the upstream and upstream hop-by-hop headers never reach the client', async (t) => {
  const blue = await startRecorder(t, 'blue', (_r, res) => {
    res.setHeader('connection', 'keep-alive, x-hop')
    res.setHeader('x-hop', 'secret')
    res.setHeader('keep-alive', 'timeout=99')
    res.setHeader('proxy-authenticate', 'Basic realm=x')
    res.setHeader('x-app', 'kept')
    res.end('blue')
  })
  const sy = await startTestSwitchyard(t, testConfig([blue], { overrides: { enabled: true } }))
  const port = portOf(sy.proxyUrl)
  const r = await rawRequest(port, head('GET /h', [
    'Host: a.example', 'Forwarded: for=1.2.3.4', 'X-Real-IP: 1.2.3.4', 'X-Forwarded-For: 1.2.3.4', 'X-Forwarded-Host: evil', 'Proxy-Authorization: Basic eA==',
    'TE: trailers', 'Trailer: X-Sum', 'Proxy-Connection: keep-alive', 'X-Switchyard-Color: blue', 'True-Client-IP: 1.2.3.4', 'X-Kept: yes'
  ]), 'a request with client-chosen headers')
  t.equal(r.status, 200)
  const got = blue.received[0]
  const names = blue.lastNames()
  for (const h of ['forwarded', 'x-real-ip', 'proxy-authorization', 'te', 'trailer', 'proxy-connection', 'x-switchyard-color', 'true-client-ip']) t.notOk(names.has(h), `${h} is not forwarded`)
  t.equal(got?.headers['x-forwarded-for'], '127.0.0.1')
  t.equal(got?.headers['x-forwarded-host'], 'a.example')
  t.equal(got?.headers['x-forwarded-proto'], 'http')
  t.equal(got?.headers['x-kept'], 'yes')
  t.notOk(r.headers.has('x-hop'), 'a header the response\'s Connection lists is removed')
  t.notOk(r.headers.has('proxy-authenticate'))
  t.notSame(r.headers.get('keep-alive'), ['timeout=99'], 'the upstream\'s keep-alive is not the client\'s')
  t.same(r.headers.get('x-app'), ['kept'])

  const http10 = await rawRequest(port, 'GET /old HTTP/1.0\r\nX-Forwarded-Host: evil\r\n\r\n', 'an HTTP/1.0 request without Host')
  t.equal(http10.status, 200)
  t.equal(blue.received[1]?.headers['x-forwarded-host'], undefined, 'no Host: no x-forwarded-host, and the client\'s is not kept')
})

t.test("forClient gives the client the same headers as the in-place policy: the upstream's object when nothing is removed, else a copy without the removed and Connection-listed names", async (t) => {
  const policy = new HeaderPolicy({ overrideHeader: 'x-switchyard-color', trustForwarded: false, tls: false })
  const cases: Array<Record<string, string | string[]>> = [
    { connection: 'keep-alive, x-hop', 'x-hop': '1', 'keep-alive': 'timeout=99', 'proxy-authenticate': 'Basic', trailer: 'x', upgrade: 'h2', 'transfer-encoding': 'chunked', te: 'x', 'proxy-connection': 'x', 'content-type': 'text/plain' },
    { 'content-type': 'text/plain', date: 'x', connection: 'keep-alive', 'keep-alive': 'timeout=5', 'content-length': '2' },
    { connection: 'x-a, Content-Length, X-B', 'x-a': '1', 'x-b': '2', 'content-length': '2', 'set-cookie': ['a=1', 'b=2'] },
    { connection: ['close', 'x-a'], 'x-a': '1', 'x-c': '3' },
    { 'transfer-encoding': 'chunked', 'x-keep': '1' }
  ]
  for (const c of cases) {
    const inPlace = { ...c }
    policy.response(inPlace)
    const given = policy.forClient({ ...c })
    t.same(given, inPlace, `the same headers for ${JSON.stringify(c)}`)
    t.same(Object.keys(given), Object.keys(inPlace), 'in the same order')
  }
  t.same(policy.forClient(cases[2] as Record<string, string>), { 'content-length': '2', 'set-cookie': ['a=1', 'b=2'] }, 'Connection-listed names go, Content-Length stays')
  const clean = { 'content-type': 'text/plain', 'content-length': '2', 'set-cookie': ['a=1'] }
  t.equal(policy.forClient(clean), clean, 'nothing to remove: the same object, no copy')
  t.same(clean, { 'content-type': 'text/plain', 'content-length': '2', 'set-cookie': ['a=1'] }, 'and unchanged')
})
