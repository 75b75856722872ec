/**
 * The wedge (issue 9 item 1, DATAPATH-SPEC §1): no request a client can send may leave an
 * upstream connection unusable. With `upstream.connections: 1`, each vector is sent more
 * times than there are pool slots; every one must be answered (no hang) and never with a
 * 5xx, what must be stripped never reaches the upstream, and afterwards normal requests are
 * still answered 200 by the target.
 */
import t from 'tap'
import { startTestSwitchyard, testConfig } from '../helpers/services.js'
import { allBytes, chunked, errorCode, head, portOf, RawClient, rawRequest, startRecorder, targets, upstreamErrors, type Received } from './helpers.js'

const CONNECTIONS = 1
const TIMES = CONNECTIONS + 2

/** A vector: the bytes to send, and what must hold if it was forwarded (200). */
interface Vector {
  readonly name: string
  readonly bytes: string | Buffer
  /** Statuses it may get: 200 (forwarded after the header policy) or a 4xx by the proxy/Node. */
  readonly allowed: readonly number[]
  /** Lower-case header names the upstream must not receive. */
  readonly stripped: readonly string[]
  /** The body the upstream must receive, byte for byte, when forwarded. */
  readonly body?: Buffer
  /** Headers that must still arrive, with their values. */
  readonly kept?: Readonly<Record<string, string>>
}

const bodyAbc = Buffer.from('abc', 'latin1')
const vectors: Vector[] = [
  { name: 'Keep-Alive', bytes: head('GET /v/keep-alive', ['Host: a.example', 'Connection: keep-alive', 'Keep-Alive: timeout=5, max=1000']), allowed: [200], stripped: ['keep-alive'] },
  { name: 'bare Upgrade: foo', bytes: head('GET /v/upgrade', ['Host: a.example', 'Upgrade: foo']), allowed: [200], stripped: ['upgrade'] },
  { name: 'Upgrade: foo/1 with a body', bytes: head('POST /v/upgrade-body', ['Host: a.example', 'Upgrade: foo/1', 'Content-Length: 3']) + 'abc', allowed: [200], stripped: ['upgrade'], body: bodyAbc },
  { name: 'Connection: foo, bar listing other headers', bytes: head('GET /v/conn-list', ['Host: a.example', 'Connection: x-foo, x-bar', 'X-Foo: 1', 'X-Bar: 2', 'X-Kept: yes']), allowed: [200], stripped: ['x-foo', 'x-bar'], kept: { 'x-kept': 'yes' } },
  { name: 'Keep-Alive without Connection', bytes: head('GET /v/keep-alive-bare', ['Host: a.example', 'Keep-Alive: timeout=5']), allowed: [200], stripped: ['keep-alive'] },
  { name: 'Connection listing hop-by-hop and custom names at once', bytes: head('GET /v/conn-many', ['Host: a.example', 'Connection: keep-alive, te, x-a, trailer', 'TE: trailers', 'X-A: 1', 'Trailer: X-B', 'Keep-Alive: 5', 'X-Kept: yes']), allowed: [200], stripped: ['te', 'x-a', 'trailer', 'keep-alive'], kept: { 'x-kept': 'yes' } },
  { name: 'Connection: upgrade with Upgrade: bar (not a WebSocket)', bytes: head('GET /v/conn-upgrade', ['Host: a.example', 'Connection: keep-alive, upgrade', 'Upgrade: bar']), allowed: [200, 400], stripped: ['upgrade'] },
  { name: 'Connection: content-length on a POST', bytes: head('POST /v/conn-cl', ['Host: a.example', 'Connection: content-length', 'Content-Length: 3']) + 'abc', allowed: [200], stripped: [], body: bodyAbc },
  { name: 'TE: trailers', bytes: head('GET /v/te', ['Host: a.example', 'TE: trailers']), allowed: [200], stripped: ['te'] },
  { name: 'TE: gzip, deflate;q=0.5', bytes: head('GET /v/te2', ['Host: a.example', 'TE: gzip, deflate;q=0.5']), allowed: [200], stripped: ['te'] },
  { name: 'Trailer with a chunked body and a trailer field', bytes: head('POST /v/trailer', ['Host: a.example', 'Transfer-Encoding: chunked', 'Trailer: X-Sum']) + '3\r\nabc\r\n0\r\nX-Sum: 900150983cd24fb0\r\n\r\n', allowed: [200], stripped: ['trailer', 'transfer-encoding', 'x-sum'], body: bodyAbc },
  { name: 'Proxy-Connection', bytes: head('GET /v/proxy-connection', ['Host: a.example', 'Proxy-Connection: keep-alive']), allowed: [200], stripped: ['proxy-connection'] },
  { name: 'Proxy-Authorization', bytes: head('GET /v/proxy-auth', ['Host: a.example', 'Proxy-Authorization: Basic dXNlcjpwYXNz']), allowed: [200], stripped: ['proxy-authorization'] },
  { name: 'HTTP2-Settings without an upgrade', bytes: head('GET /v/h2s', ['Host: a.example', 'HTTP2-Settings: AAMAAABkAAQAAP__']), allowed: [200], stripped: ['http2-settings'] },
  { name: 'Expect: 100-continue sent with its body at once', bytes: head('POST /v/expect', ['Host: a.example', 'Expect: 100-continue', 'Content-Length: 3']) + 'abc', allowed: [200], stripped: ['expect'], body: bodyAbc },
  { name: 'Expect: something else (417 by Node)', bytes: head('POST /v/expect-other', ['Host: a.example', 'Expect: x-other', 'Content-Length: 3']) + 'abc', allowed: [417], stripped: ['expect'] },
  { name: 'Connection: close', bytes: head('GET /v/close', ['Host: a.example', 'Connection: close']), allowed: [200], stripped: [] },
  { name: 'h2c upgrade request', bytes: head('GET /v/h2c', ['Host: a.example', 'Connection: Upgrade, HTTP2-Settings', 'Upgrade: h2c', 'HTTP2-Settings: AAMAAABkAAQAAP__']), allowed: [200, 400], stripped: ['upgrade', 'http2-settings'] },
  { name: 'Transfer-Encoding: gzip, chunked', bytes: head('POST /v/te-gzip', ['Host: a.example', 'Transfer-Encoding: gzip, chunked']) + '3\r\nabc\r\n0\r\n\r\n', allowed: [200, 400], stripped: ['transfer-encoding'] },
  { name: 'Transfer-Encoding: Chunked (case)', bytes: Buffer.concat([Buffer.from(head('POST /v/te-case', ['Host: a.example', 'Transfer-Encoding: Chunked']), 'latin1'), chunked(bodyAbc)]), allowed: [200], stripped: ['transfer-encoding'], body: bodyAbc },
  { name: 'Transfer-Encoding with Content-Length', bytes: head('POST /v/te-cl', ['Host: a.example', 'Transfer-Encoding: chunked', 'Content-Length: 3']) + '3\r\nabc\r\n0\r\n\r\n', allowed: [400], stripped: [] },
  { name: 'Transfer-Encoding twice', bytes: head('POST /v/te-twice', ['Host: a.example', 'Transfer-Encoding: chunked', 'Transfer-Encoding: chunked']) + '3\r\nabc\r\n0\r\n\r\n', allowed: [200, 400], stripped: [] },
  { name: 'Transfer-Encoding: identity', bytes: head('POST /v/te-identity', ['Host: a.example', 'Transfer-Encoding: identity', 'Content-Length: 3']) + 'abc', allowed: [400], stripped: [] },
  { name: 'Transfer-Encoding on a GET with an empty chunked body', bytes: head('GET /v/te-get', ['Host: a.example', 'Transfer-Encoding: chunked']) + '0\r\n\r\n', allowed: [200], stripped: ['transfer-encoding'], body: Buffer.alloc(0) }
]

for (const v of vectors) {
  t.test(`wedge vector "${v.name}": answered every time it is sent (more times than pool slots), then the target still answers 200`, async (t) => {
    const blue = await startRecorder(t, 'blue')
    const sy = await startTestSwitchyard(t, testConfig([blue], { upstream: { connections: CONNECTIONS }, health: { passive: { consecutiveFailures: 2 } } }))
    const port = portOf(sy.proxyUrl)
    for (let i = 0; i < TIMES; i++) {
      const before = blue.received.length
      const r = await rawRequest(port, v.bytes, `${v.name} (#${i + 1}): the proxy must answer it (a hang here is the wedge)`)
      t.ok(v.allowed.includes(r.status), `#${i + 1}: answered ${r.statusLine} ${r.body.toString('latin1').slice(0, 160)}; expected one of ${v.allowed.join(', ')}`)
      t.ok(r.status < 500, `#${i + 1}: never a 5xx (the client caused nothing upstream)`)
      if (r.status === 200) {
        t.equal(r.body.toString('latin1'), 'blue', `#${i + 1}: the upstream's answer`)
        t.equal(blue.received.length, before + 1, `#${i + 1}: forwarded once`)
        const got = blue.received[blue.received.length - 1] as Received
        const names = new Set<string>()
        for (let k = 0; k < got.rawHeaders.length; k += 2) names.add((got.rawHeaders[k] as string).toLowerCase())
        for (const s of v.stripped) t.notOk(names.has(s), `#${i + 1}: the upstream never received ${s} (got ${got.rawHeaders.join('|')})`)
        const conn = got.headers.connection
        t.ok(conn === undefined || /^(keep-alive|close)$/i.test(conn), `#${i + 1}: no client-chosen Connection value reaches the upstream (got ${String(conn)})`)
        if (v.body !== undefined) t.same(got.body, v.body, `#${i + 1}: the body arrived byte for byte`)
        t.ok(got.complete, `#${i + 1}: a complete request upstream`)
        if (v.kept !== undefined) for (const [k, val] of Object.entries(v.kept)) t.equal(got.headers[k], val, `#${i + 1}: ${k}, not listed in Connection, still arrives`)
      } else {
        t.equal(blue.received.length, before, `#${i + 1}: refused before any upstream was touched`)
      }
    }
    for (let i = 0; i < 3; i++) {
      const r = await rawRequest(port, head('GET /after', ['Host: a.example']), `normal request #${i + 1} after "${v.name}" x${TIMES}: a hang here means the upstream pool is wedged`)
      t.equal(r.status, 200, `normal request #${i + 1} afterwards: 200 (got ${r.statusLine} ${r.body.toString().slice(0, 160)})`)
      t.equal(r.body.toString(), 'blue', `normal request #${i + 1} afterwards: served by the target`)
    }
    const list = await targets(sy.adminUrl)
    t.same(list.map((x) => x.health), ['healthy'], 'the target stays healthy')
    t.equal(await upstreamErrors(sy.adminUrl), 0, 'no upstream error counted for what clients sent')
  })
}

t.test('Expect: 100-continue with a body over 1 MB, as curl sends it, works end to end (several times over one pool slot)', async (t) => {
  const blue = await startRecorder(t, 'blue')
  const sy = await startTestSwitchyard(t, testConfig([blue], { upstream: { connections: CONNECTIONS } }))
  const port = portOf(sy.proxyUrl)
  const body = allBytes(1_500_000)
  for (let i = 0; i < TIMES; i++) {
    const c = new RawClient(port)
    t.teardown(() => c.destroy())
    await c.connected
    c.write(head('POST /upload', ['Host: a.example', 'User-Agent: curl/8.5.0', 'Accept: */*', 'Content-Type: application/octet-stream', `Content-Length: ${body.length}`, 'Expect: 100-continue']))
    // curl waits for 100 Continue (up to a second) before sending the body.
    await c.waitFor(`upload #${i + 1}: 100 Continue (or a final answer)`, () => c.interim.includes(100) || c.responses.length > 0 || c.closed)
    t.same(c.interim, [100], `upload #${i + 1}: 100 Continue before the body`)
    c.write(body)
    const r = await c.response(`upload #${i + 1}: the final answer`)
    c.destroy()
    t.equal(r.status, 200, `upload #${i + 1}: 200 (got ${r.statusLine} ${r.body.toString().slice(0, 200)})`)
    const got = blue.received[blue.received.length - 1]
    t.ok(got?.complete, `upload #${i + 1}: the upstream got the whole request`)
    t.equal(got?.body.length, body.length, `upload #${i + 1}: every byte`)
    t.ok(got?.body.equals(body), `upload #${i + 1}: byte for byte`)
    t.equal(got?.headers.expect, undefined, 'Expect is not forwarded')
    t.equal(got?.headers['content-type'], 'application/octet-stream')
  }
  const r = await rawRequest(port, head('GET /after', ['Host: a.example']), 'a normal request after the uploads')
  t.equal(r.status, 200)
  t.equal(await upstreamErrors(sy.adminUrl), 0)
})

t.test('a 400 from the data path is a switchyard error body (SWY_ERR_PROXY_BAD_REQUEST), not the framework default', async (t) => {
  const blue = await startRecorder(t, 'blue')
  const sy = await startTestSwitchyard(t, testConfig([blue], { upstream: { connections: CONNECTIONS } }))
  const port = portOf(sy.proxyUrl)
  const bad = [
    head('POST /bad', ['Host: a.example', 'Transfer-Encoding: chunked', 'Content-Length: 3']) + '3\r\nabc\r\n0\r\n\r\n',
    head('POST /bad', ['Host: a.example', 'Transfer-Encoding: chunked']) + 'zz\r\nabc\r\n0\r\n\r\n'
  ]
  for (const bytes of bad) {
    const r = await rawRequest(port, bytes, 'a malformed request')
    t.equal(r.status, 400)
    t.equal(errorCode(r), 'SWY_ERR_PROXY_BAD_REQUEST', `the error code (got ${r.body.toString().slice(0, 200)})`)
  }
  t.equal(blue.received.length, 0, 'nothing reached the upstream')
})
