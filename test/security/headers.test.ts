/**
 * Headers a client must not choose (issue 9 item 7, DATAPATH-SPEC §1), both directions:
 * with `trustForwarded: false` no forwarding header, hop-by-hop header, proxy credential or
 * the override header the client sent reaches the upstream (only what the proxy sets
 * itself), also over HTTP/1.0 without Host; and the upstream's hop-by-hop and
 * Connection-listed response headers never reach the client.
 */
import { createServer as createNetServer, type Socket } from 'node:net'
import t, { type Test } from 'tap'
import WebSocket from 'ws'
import { startTestSwitchyard, startUpstream, testConfig, type Upstream } from '../helpers/services.js'
import { head, header, portOf, rawRequest, startRecorder, until, type Received, type RawResponse } from './helpers.js'

const FORWARDING = ['forwarded', 'x-forwarded-for', 'x-forwarded-host', 'x-forwarded-proto', 'x-forwarded-port', 'x-forwarded-prefix', 'x-real-ip', 'x-client-ip', 'true-client-ip']
const HOSTILE = [
  'Forwarded: for=6.6.6.6;host=evil.example;proto=https',
  'X-Forwarded-For: 6.6.6.6',
  'X-Forwarded-For: 7.7.7.7',
  'X-Forwarded-Host: evil.example',
  'X-Forwarded-Proto: https',
  'X-Forwarded-Port: 443',
  'X-Forwarded-Prefix: /admin',
  'X-Real-IP: 6.6.6.6',
  'X-Client-IP: 6.6.6.6',
  'True-Client-IP: 6.6.6.6',
  'Proxy-Authorization: Basic YWRtaW46YWRtaW4=',
  'TE: trailers',
  'Trailer: X-Checksum',
  'Proxy-Connection: keep-alive',
  'X-Switchyard-Color: green',
  'X-End-To-End: kept'
]

/** Header name → every value the upstream received, from the raw header list. */
function rawMap (r: Received): Map<string, string[]> {
  const m = new Map<string, string[]>()
  for (let i = 0; i < r.rawHeaders.length; i += 2) {
    const k = (r.rawHeaders[i] as string).toLowerCase()
    m.set(k, [...(m.get(k) ?? []), r.rawHeaders[i + 1] as string])
  }
  return m
}

function checkProxySetOnly (t: Test, got: Map<string, string[]>, host: string | undefined, label: string): void {
  t.same(got.get('x-forwarded-for'), ['127.0.0.1'], `${label}: x-forwarded-for is only the client address the proxy saw`)
  t.same(got.get('x-forwarded-proto'), ['http'], `${label}: x-forwarded-proto is the proxy's own (http)`)
  if (host === undefined) t.notOk(got.has('x-forwarded-host'), `${label}: no x-forwarded-host without a Host (got ${String(got.get('x-forwarded-host'))})`)
  else t.same(got.get('x-forwarded-host'), [host], `${label}: x-forwarded-host is the request's Host`)
  for (const name of FORWARDING) {
    if (name === 'x-forwarded-for' || name === 'x-forwarded-proto' || name === 'x-forwarded-host') continue
    t.notOk(got.has(name), `${label}: ${name} never reaches the upstream (got ${String(got.get(name))})`)
  }
  for (const name of ['proxy-authorization', 'te', 'trailer', 'proxy-connection', 'x-switchyard-color', 'keep-alive', 'upgrade', 'expect']) {
    t.notOk(got.has(name), `${label}: ${name} never reaches the upstream (got ${String(got.get(name))})`)
  }
  const values = [...got.values()].flat().join('\n')
  t.notMatch(values, /6\.6\.6\.6|7\.7\.7\.7|evil\.example|YWRtaW46YWRtaW4=/, `${label}: no client-chosen forwarding or credential value anywhere upstream`)
  t.same(got.get('x-end-to-end'), ['kept'], `${label}: an end-to-end header still arrives`)
}

t.test('with trustForwarded false, no forwarding, hop-by-hop, proxy credential or override header from the client reaches the upstream', async (t) => {
  const blue = await startRecorder(t, 'blue')
  const green = await startRecorder(t, 'green')
  // Overrides on, without a secret: the override header is honoured for routing, but is still never forwarded.
  const sy = await startTestSwitchyard(t, testConfig([blue, green], { overrides: { enabled: true }, proxy: { trustForwarded: false } }))
  const port = portOf(sy.proxyUrl)

  const r1 = await rawRequest(port, head('GET /h1', ['Host: app.example', ...HOSTILE]), 'an HTTP/1.1 request with hostile headers')
  t.equal(r1.status, 200, `answered 200 (got ${r1.statusLine} ${r1.body.toString().slice(0, 200)})`)
  const got1 = [...blue.received, ...green.received].find((r) => r.url === '/h1')
  t.ok(got1, 'it reached an upstream')
  if (got1 !== undefined) checkProxySetOnly(t, rawMap(got1), 'app.example', 'HTTP/1.1')

  // HTTP/1.0 without Host: the client's X-Forwarded-Host must not stand in for the missing Host.
  const r2 = await rawRequest(port, `GET /h2 HTTP/1.0\r\n${HOSTILE.map((h) => `${h}\r\n`).join('')}\r\n`, 'an HTTP/1.0 request without Host')
  t.equal(r2.status, 200, `answered 200 (got ${r2.statusLine})`)
  const got2 = [...blue.received, ...green.received].find((r) => r.url === '/h2')
  t.ok(got2, 'it reached an upstream')
  if (got2 !== undefined) checkProxySetOnly(t, rawMap(got2), undefined, 'HTTP/1.0 without Host')

  // Case and spelling variants are the same header names.
  const r3 = await rawRequest(port, head('GET /h3', ['Host: app.example', 'FORWARDED: for=6.6.6.6', 'x-FORWARDED-host: evil.example', 'X-REAL-IP: 6.6.6.6', 'x-switchyard-COLOR: green', 'PROXY-AUTHORIZATION: Basic YWRtaW46YWRtaW4=', 'X-End-To-End: kept']), 'header case variants')
  t.equal(r3.status, 200)
  const got3 = [...blue.received, ...green.received].find((r) => r.url === '/h3')
  if (got3 !== undefined) checkProxySetOnly(t, rawMap(got3), 'app.example', 'case variants')
  else t.fail('the case-variant request reached no upstream')
})

t.test('with trustForwarded true, prior forwarding values are kept and the client address is appended', async (t) => {
  const blue = await startRecorder(t, 'blue')
  const sy = await startTestSwitchyard(t, testConfig([blue], { proxy: { trustForwarded: true } }))
  const r = await rawRequest(portOf(sy.proxyUrl), head('GET /trusted', ['Host: app.example', 'X-Forwarded-For: 10.1.2.3', 'X-Forwarded-Proto: https', 'X-Forwarded-Host: public.example', 'X-Switchyard-Color: blue', 'Proxy-Authorization: Basic eDp5']), 'a request through a trusted front proxy')
  t.equal(r.status, 200)
  const got = rawMap(blue.received[0] as Received)
  t.same(got.get('x-forwarded-for'), ['10.1.2.3, 127.0.0.1'], 'the client address appended to the trusted chain')
  t.same(got.get('x-forwarded-proto'), ['https'], 'a trusted prior proto kept')
  t.same(got.get('x-forwarded-host'), ['public.example'], 'a trusted prior host kept')
  t.notOk(got.has('x-switchyard-color'), 'the override header is never forwarded, trusted or not')
  t.notOk(got.has('proxy-authorization'), 'Proxy-Authorization is never forwarded')
})

/** An upstream on a raw socket that answers every request with exactly `response`. */
async function rawUpstream (t: Test, color: string, response: string): Promise<Upstream> {
  const sockets = new Set<Socket>()
  const server = createNetServer((socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    let buf = ''
    socket.on('data', (d: Buffer) => {
      buf += d.toString('latin1')
      while (buf.includes('\r\n\r\n')) {
        buf = buf.slice(buf.indexOf('\r\n\r\n') + 4)
        socket.write(response)
      }
    })
    socket.on('error', () => {})
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  const port = typeof address === 'object' && address !== null ? address.port : 0
  const close = async (): Promise<void> => {
    for (const s of sockets) s.destroy()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }
  t.teardown(close)
  return { color, url: `http://127.0.0.1:${port}`, port, seen: [], close }
}

t.test('hop-by-hop and Connection-listed response headers from the upstream never reach the client', async (t) => {
  const body = 'ok'
  const response = [
    'HTTP/1.1 200 OK',
    'Content-Type: text/plain',
    `Content-Length: ${body.length}`,
    'Connection: keep-alive, X-Internal-Hop, X-Other-Hop',
    'X-Internal-Hop: internal-secret',
    'X-Other-Hop: internal-2',
    'Keep-Alive: timeout=5, max=77',
    'Proxy-Connection: keep-alive',
    'Proxy-Authenticate: Basic realm="internal"',
    'TE: trailers',
    'Upgrade: h2c',
    'X-End-To-End: kept',
    '',
    body
  ].join('\r\n')
  const blue = await rawUpstream(t, 'blue', response)
  const sy = await startTestSwitchyard(t, testConfig([blue]))
  const port = portOf(sy.proxyUrl)
  const check = (r: RawResponse, label: string): void => {
    t.equal(r.status, 200, `${label}: 200 (got ${r.statusLine} ${r.body.toString().slice(0, 200)})`)
    t.equal(r.body.toString(), body, `${label}: the body`)
    t.equal(header(r, 'x-end-to-end'), 'kept', `${label}: an end-to-end header passes`)
    for (const name of ['x-internal-hop', 'x-other-hop', 'proxy-connection', 'proxy-authenticate', 'trailer', 'te', 'upgrade']) {
      t.notOk(r.headers.has(name), `${label}: ${name} does not reach the client (got ${String(r.headers.get(name))})`)
    }
    // Node writes its own Connection/Keep-Alive for the client connection; none of the upstream's values may show.
    t.notMatch(String(r.headers.get('connection') ?? ''), /x-internal-hop|x-other-hop/i, `${label}: the upstream's Connection list does not reach the client`)
    t.notMatch(String(r.headers.get('keep-alive') ?? ''), /max=77/, `${label}: the upstream's Keep-Alive does not reach the client`)
    t.notMatch([...r.headers.values()].flat().join('\n'), /internal-secret|internal-2|realm="internal"/, `${label}: no value of a hop-by-hop response header`)
  }
  check(await rawRequest(port, head('GET /r1', ['Host: app.example']), 'a request whose answer carries hop-by-hop headers'), 'HTTP/1.1')
  check(await rawRequest(port, 'GET /r2 HTTP/1.0\r\n\r\n', 'an HTTP/1.0 request'), 'HTTP/1.0')
})

t.test('a Trailer response header on a Content-Length answer neither reaches the client nor breaks the answer', async (t) => {
  const body = 'ok'
  const response = [
    'HTTP/1.1 200 OK',
    'Content-Type: text/plain',
    `Content-Length: ${body.length}`,
    'Trailer: X-Checksum',
    'X-End-To-End: kept',
    '',
    body
  ].join('\r\n')
  const blue = await rawUpstream(t, 'blue', response)
  const sy = await startTestSwitchyard(t, testConfig([blue]))
  const port = portOf(sy.proxyUrl)
  const check = (r: RawResponse, label: string): void => {
    t.equal(r.status, 200, `${label}: 200 (got ${r.statusLine} ${r.body.toString().slice(0, 200)})`)
    t.equal(r.body.toString(), body, `${label}: the body`)
    t.equal(header(r, 'x-end-to-end'), 'kept', `${label}: an end-to-end header passes`)
    for (const name of ['x-internal-hop', 'x-other-hop', 'proxy-connection', 'proxy-authenticate', 'trailer', 'te', 'upgrade']) {
      t.notOk(r.headers.has(name), `${label}: ${name} does not reach the client (got ${String(r.headers.get(name))})`)
    }
    // Node writes its own Connection/Keep-Alive for the client connection; none of the upstream's values may show.
    t.notMatch(String(r.headers.get('connection') ?? ''), /x-internal-hop|x-other-hop/i, `${label}: the upstream's Connection list does not reach the client`)
    t.notMatch(String(r.headers.get('keep-alive') ?? ''), /max=77/, `${label}: the upstream's Keep-Alive does not reach the client`)
    t.notMatch([...r.headers.values()].flat().join('\n'), /internal-secret|internal-2|realm="internal"/, `${label}: no value of a hop-by-hop response header`)
  }
  check(await rawRequest(port, head('GET /r1', ['Host: app.example']), 'a request whose answer carries hop-by-hop headers'), 'HTTP/1.1')
  check(await rawRequest(port, 'GET /r2 HTTP/1.0\r\n\r\n', 'an HTTP/1.0 request'), 'HTTP/1.0')
})

t.test('a WebSocket upgrade forwards no client-chosen forwarding, credential or override header either', async (t) => {
  const blue = await startUpstream(t, 'blue')
  const sy = await startTestSwitchyard(t, testConfig([blue], { overrides: { enabled: true } }))
  const ws = new WebSocket(sy.proxyUrl.replace(/^http/, 'ws') + '/ws', {
    headers: {
      Forwarded: 'for=6.6.6.6',
      'X-Forwarded-For': '6.6.6.6',
      'X-Forwarded-Host': 'evil.example',
      'X-Forwarded-Proto': 'https',
      'X-Real-IP': '6.6.6.6',
      'True-Client-IP': '6.6.6.6',
      'Proxy-Authorization': 'Basic YWRtaW46YWRtaW4=',
      'X-Switchyard-Color': 'blue',
      Cookie: 'a=b'
    }
  })
  t.teardown(() => ws.terminate())
  await new Promise<void>((resolve, reject) => { ws.once('open', () => resolve()); ws.once('error', reject) })
  // The proxy accepts the client's upgrade before it opens its own to the upstream, so the
  // client's 'open' can come first: wait for the upstream to have seen the handshake.
  await until('the upstream to see the WebSocket handshake', () => blue.seen.some((h) => h.upgrade !== undefined))
  const got = blue.seen.findLast((h) => h.upgrade !== undefined) ?? {}
  t.equal(got['x-forwarded-for'], '127.0.0.1', 'x-forwarded-for is the proxy\'s own')
  t.equal(got['x-forwarded-proto'], 'http')
  t.not(got['x-forwarded-host'], 'evil.example', 'x-forwarded-host is not the client\'s')
  for (const name of ['forwarded', 'x-real-ip', 'true-client-ip', 'proxy-authorization', 'x-switchyard-color']) {
    t.equal(got[name], undefined, `${name} does not reach the upstream on an upgrade (got ${String(got[name])})`)
  }
})
