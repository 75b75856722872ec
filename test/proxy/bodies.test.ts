/**
 * Bodies at the edge (DATAPATH-SPEC §4 and §6): never parsed, forwarded byte for byte with
 * their content-type, and held to proxy.bodyLimit whatever their type or framing.
 */
import t from 'tap'
import { adminCall, startTestSwitchyard, testConfig } from '../helpers/services.js'
import { chunked, head, portOf, RawClient, rawRequest, startRecorder } from '../helpers/raw-http.js'

const LIMIT = 1024

t.test('every content type (and none) reaches the upstream with identical bytes, length and content-type', async (t) => {
  const blue = await startRecorder(t, 'blue')
  const sy = await startTestSwitchyard(t, testConfig([blue]))
  const port = portOf(sy.proxyUrl)
  const latin1 = Buffer.from('caf\u00e9 \u00fcber \u00a3', 'latin1')
  const cases: Array<[string | undefined, Buffer]> = [
    ['text/plain; charset=iso-8859-1', latin1],
    ['text/plain; charset=latin1', latin1],
    ['application/json', Buffer.from('{"a":1}')],
    ['application/json', Buffer.from('{not json')],
    ['multipart/form-data; boundary=xyz', Buffer.from('--xyz\r\nContent-Disposition: form-data; name="a"\r\n\r\n\u00ff\r\n--xyz--\r\n', 'latin1')],
    ['application/octet-stream', Buffer.from([0, 1, 2, 255, 254, 13, 10])],
    ['application/x-www-form-urlencoded', Buffer.from('a=%FF&b=\u00e9', 'latin1')],
    [undefined, Buffer.from([200, 201, 202])]
  ]
  for (const [type, body] of cases) {
    for (const framing of ['length', 'chunked'] as const) {
      const headers = ['Host: a', ...(type === undefined ? [] : [`Content-Type: ${type}`])]
      const bytes = framing === 'length'
        ? Buffer.concat([Buffer.from(head('POST /b', [...headers, `Content-Length: ${body.length}`]), 'latin1'), body])
        : Buffer.concat([Buffer.from(head('POST /b', [...headers, 'Transfer-Encoding: chunked']), 'latin1'), chunked(body)])
      const r = await rawRequest(port, bytes, `${type ?? 'no content-type'} (${framing})`)
      t.equal(r.status, 200, `${type ?? 'no content-type'} (${framing}) is forwarded`)
      const got = blue.received[blue.received.length - 1]
      t.same(got?.body, body, `${type ?? 'none'} (${framing}): the same bytes`)
      t.equal(got?.headers['content-type'], type, `${type ?? 'none'} (${framing}): the same content-type`)
      if (framing === 'length') t.equal(got?.headers['content-length'], String(body.length), `${type ?? 'none'}: the same length`)
    }
  }
})

t.test('a Content-Length over proxy.bodyLimit is answered 413 before any upstream is contacted, whatever the type', async (t) => {
  const blue = await startRecorder(t, 'blue')
  const sy = await startTestSwitchyard(t, testConfig([blue], { proxy: { bodyLimit: LIMIT } }))
  const port = portOf(sy.proxyUrl)
  for (const type of ['application/octet-stream', 'application/json', 'text/plain', 'multipart/form-data; boundary=x', undefined]) {
    const r = await rawRequest(port, head('POST /big', ['Host: a', ...(type === undefined ? [] : [`Content-Type: ${type}`]), `Content-Length: ${LIMIT + 1}`]), `${type ?? 'none'} over the limit`)
    t.equal(r.status, 413, `${type ?? 'none'}: 413`)
    t.match(r.json, { error: 'SWY_ERR_PROXY_BODY_TOO_LARGE' })
  }
  t.equal(blue.received.length, 0, 'the upstream never saw one of them')
})

t.test('a chunked body past proxy.bodyLimit is cut: 413, the upstream never gets more than the limit nor a complete request, the target stays healthy', async (t) => {
  const blue = await startRecorder(t, 'blue')
  const sy = await startTestSwitchyard(t, testConfig([blue], { proxy: { bodyLimit: LIMIT }, health: { passive: { consecutiveFailures: 2 } } }))
  const port = portOf(sy.proxyUrl)
  for (const type of ['application/octet-stream', 'application/json', 'text/plain', undefined]) {
    const c = await RawClient.open(port)
    c.write(head('POST /stream', ['Host: a', ...(type === undefined ? [] : [`Content-Type: ${type}`]), 'Transfer-Encoding: chunked']))
    // Chunks of 256 bytes until the proxy answers (it must, once the limit is passed).
    const chunk = Buffer.concat([Buffer.from('100\r\n'), Buffer.alloc(256, 97), Buffer.from('\r\n')])
    for (let i = 0; i < 8; i++) c.write(chunk)
    const r = await c.response(`${type ?? 'none'}: the answer to a body past the limit`)
    t.equal(r.status, 413, `${type ?? 'none'}: 413`)
    t.match(r.json, { error: 'SWY_ERR_PROXY_BODY_TOO_LARGE' })
    await c.waitClosed(`${type ?? 'none'}: the proxy closes the connection after the 413`)
  }
  for (const got of blue.received) {
    t.ok(got.body.length <= LIMIT, `the upstream got ${got.body.length} bytes, at most the limit`)
    t.notOk(got.complete, 'and never a complete request')
  }
  const at = await rawRequest(port, Buffer.concat([Buffer.from(head('POST /at', ['Host: a', 'Transfer-Encoding: chunked']), 'latin1'), chunked(Buffer.alloc(LIMIT, 98))]), 'a chunked body at the limit')
  t.equal(at.status, 200, 'a body at the limit passes')
  t.same(blue.received[blue.received.length - 1]?.body, Buffer.alloc(LIMIT, 98))
  const metrics = (await adminCall(sy.adminUrl, 'GET', '/metrics')).body
  t.notMatch(metrics, /switchyard_upstream_errors_total\{[^}]*\} [1-9]/, 'no upstream error was counted')
  t.match((await adminCall(sy.adminUrl, 'GET', '/targets')).json, { targets: [{ health: 'healthy', inFlight: 0 }] })
})

t.test('Expect: 100-continue with a 2 MB upload works end to end', async (t) => {
  const blue = await startRecorder(t, 'blue')
  const sy = await startTestSwitchyard(t, testConfig([blue]))
  const c = await RawClient.open(portOf(sy.proxyUrl))
  const body = Buffer.alloc(2 * 1024 * 1024, 7)
  c.write(head('PUT /upload', ['Host: a', 'Content-Type: application/octet-stream', `Content-Length: ${body.length}`, 'Expect: 100-continue']))
  // Like curl: the body follows the interim 100 Continue.
  await new Promise<void>((resolve) => { c.socket.once('data', () => resolve()) })
  c.write(body)
  const r = await c.response('the answer to the upload')
  c.destroy()
  t.equal(r.status, 200)
  t.equal(blue.received[0]?.body.length, body.length)
  t.notOk(blue.lastNames().has('expect'), 'Expect is not forwarded')
})
