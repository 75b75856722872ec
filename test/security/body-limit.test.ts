/**
 * proxy.bodyLimit for every content type and framing (issue 9 item 4, DATAPATH-SPEC §4):
 * a Content-Length over the limit is answered 413 before any upstream is contacted; a
 * streamed (chunked) body is counted as it flows, the upstream never receives more than
 * bodyLimit bytes nor a complete request, and the client gets 413 or a closed socket; a
 * body at the limit passes byte for byte; the target is never penalised.
 */
import t from 'tap'
import { startTestSwitchyard, testConfig } from '../helpers/services.js'
import { allBytes, chunked, errorCode, head, portOf, RawClient, rawRequest, startRecorder, targets, until, upstreamErrors, waitQuiet } from './helpers.js'

const LIMIT = 65_536
const TYPES: ReadonlyArray<string | undefined> = [
  undefined,
  'text/plain; charset=utf-8',
  'application/json',
  'multipart/form-data; boundary=xyz',
  'application/octet-stream',
  'application/x-www-form-urlencoded',
  'image/png'
]
const label = (type: string | undefined): string => type ?? '(no content type)'

t.test('Content-Length over bodyLimit: 413 SWY_ERR_PROXY_BODY_TOO_LARGE for every content type, upstream never contacted', async (t) => {
  const blue = await startRecorder(t, 'blue')
  const sy = await startTestSwitchyard(t, testConfig([blue], { proxy: { bodyLimit: LIMIT }, health: { passive: { consecutiveFailures: 1 } } }))
  const port = portOf(sy.proxyUrl)
  for (const type of TYPES) {
    for (const method of ['POST', 'PUT']) {
      const headers = ['Host: app.example', ...(type === undefined ? [] : [`Content-Type: ${type}`]), `Content-Length: ${LIMIT + 1}`]
      // Only the head: the answer must not wait for a body the proxy will refuse anyway.
      const r1 = await rawRequest(port, head(`${method} /cl-head`, headers), `${label(type)} ${method}: Content-Length ${LIMIT + 1}, no body sent yet`)
      t.equal(r1.status, 413, `${label(type)} ${method}, head only: 413 (got ${r1.statusLine} ${r1.body.toString().slice(0, 200)})`)
      t.equal(errorCode(r1), 'SWY_ERR_PROXY_BODY_TOO_LARGE', `${label(type)} ${method}, head only: the error code`)
      const r2 = await rawRequest(port, Buffer.concat([Buffer.from(head(`${method} /cl-full`, headers), 'latin1'), allBytes(LIMIT + 1)]), `${label(type)} ${method}: Content-Length ${LIMIT + 1} with its body`)
      t.equal(r2.status, 413, `${label(type)} ${method}, with body: 413 (got ${r2.statusLine})`)
      t.equal(errorCode(r2), 'SWY_ERR_PROXY_BODY_TOO_LARGE', `${label(type)} ${method}, with body: the error code`)
    }
  }
  // A far larger declared length (no body follows).
  const huge = await rawRequest(port, head('POST /cl-huge', ['Host: app.example', 'Content-Type: application/octet-stream', 'Content-Length: 99999999999']), 'a 100 GB Content-Length')
  t.equal(huge.status, 413, `a 100 GB Content-Length: 413 (got ${huge.statusLine})`)
  t.equal(blue.received.length, 0, `the upstream was never contacted (got ${blue.received.map((r) => r.url).join(', ')})`)
  t.same((await targets(sy.adminUrl)).map((x) => x.health), ['unknown'], 'the target is not penalised (never contacted: unknown, not ejected)')
  t.equal(await upstreamErrors(sy.adminUrl), 0, 'no upstream error counted')
  const ok = await rawRequest(port, head('GET /after', ['Host: app.example']), 'a normal request afterwards')
  t.equal(ok.status, 200)
  await waitQuiet(sy.adminUrl)
})

t.test('a chunked body over bodyLimit, any content type: 413 or a closed socket, the upstream never gets more than bodyLimit bytes nor a complete request', async (t) => {
  const blue = await startRecorder(t, 'blue')
  const sy = await startTestSwitchyard(t, testConfig([blue], { proxy: { bodyLimit: LIMIT }, health: { passive: { consecutiveFailures: 1 } } }))
  const port = portOf(sy.proxyUrl)
  for (const type of TYPES) {
    for (const [shape, body] of [
      ['small chunks', chunked(allBytes(LIMIT * 3), 1000)],
      ['one huge chunk', chunked(allBytes(LIMIT * 3), LIMIT * 3)],
      // A chunk size announcing 4 GiB, followed by more than the limit.
      ['a 4 GiB chunk size', Buffer.concat([Buffer.from('100000000\r\n', 'latin1'), allBytes(LIMIT * 2)])]
    ] as const) {
      const path = `/chunked/${shape.replaceAll(' ', '-')}/${label(type).replaceAll(/\W/g, '')}`
      const c = new RawClient(port)
      t.teardown(() => c.destroy())
      await c.connected
      c.write(head(`POST ${path}`, ['Host: app.example', ...(type === undefined ? [] : [`Content-Type: ${type}`]), 'Transfer-Encoding: chunked']))
      c.write(body)
      await c.waitFor(`${label(type)}, ${shape}: an answer or a closed socket`, () => c.responses.length > 0 || c.closed)
      const r = c.responses[0]
      if (r !== undefined) {
        t.equal(r.status, 413, `${label(type)}, ${shape}: 413 (got ${r.statusLine} ${r.body.toString().slice(0, 200)})`)
        t.equal(errorCode(r), 'SWY_ERR_PROXY_BODY_TOO_LARGE', `${label(type)}, ${shape}: the error code`)
      } else {
        t.pass(`${label(type)}, ${shape}: the socket was closed`)
      }
      c.destroy()
      const got = blue.received.filter((x) => x.url === path)
      await until(`${label(type)}, ${shape}: the upstream's copy of the request (if any) ended`, () => got.every((x) => x.aborted || x.complete))
      for (const g of got) {
        t.notOk(g.complete, `${label(type)}, ${shape}: the upstream never got a complete request`)
        t.ok(g.body.length <= LIMIT, `${label(type)}, ${shape}: the upstream got ${g.body.length} body bytes, at most ${LIMIT}`)
      }
    }
  }
  t.same((await targets(sy.adminUrl)).map((x) => x.health), ['unknown'], 'the target is not penalised (never contacted: unknown, not ejected)')
  t.equal(await upstreamErrors(sy.adminUrl), 0, 'no upstream error counted')
  const ok = await rawRequest(port, head('GET /after', ['Host: app.example']), 'a normal request afterwards')
  t.equal(ok.status, 200)
  await waitQuiet(sy.adminUrl)
})

t.test('a body of exactly bodyLimit bytes passes byte for byte, whatever its content type and framing', async (t) => {
  const blue = await startRecorder(t, 'blue')
  const sy = await startTestSwitchyard(t, testConfig([blue], { proxy: { bodyLimit: LIMIT } }))
  const port = portOf(sy.proxyUrl)
  const body = allBytes(LIMIT)
  let n = 0
  for (const type of TYPES) {
    for (const framing of ['length', 'chunked'] as const) {
      const path = `/at-limit/${n++}`
      const headers = ['Host: app.example', ...(type === undefined ? [] : [`Content-Type: ${type}`])]
      const bytes = framing === 'length'
        ? Buffer.concat([Buffer.from(head(`POST ${path}`, [...headers, `Content-Length: ${LIMIT}`]), 'latin1'), body])
        : Buffer.concat([Buffer.from(head(`POST ${path}`, [...headers, 'Transfer-Encoding: chunked']), 'latin1'), chunked(body, 4096)])
      const r = await rawRequest(port, bytes, `${label(type)}, ${framing}, ${LIMIT} bytes`)
      t.equal(r.status, 200, `${label(type)}, ${framing}: 200 at the limit (got ${r.statusLine} ${r.body.toString().slice(0, 200)})`)
      const got = blue.received.find((x) => x.url === path)
      t.ok(got?.complete === true && got.body.equals(body), `${label(type)}, ${framing}: the upstream got the ${LIMIT} bytes exactly`)
    }
  }
})

t.test('Expect: 100-continue with a Content-Length over bodyLimit: 413 without the body, upstream never contacted', async (t) => {
  const blue = await startRecorder(t, 'blue')
  const sy = await startTestSwitchyard(t, testConfig([blue], { proxy: { bodyLimit: LIMIT } }))
  const c = new RawClient(portOf(sy.proxyUrl))
  t.teardown(() => c.destroy())
  await c.connected
  c.write(head('PUT /upload', ['Host: app.example', 'User-Agent: curl/8.5.0', 'Content-Type: application/octet-stream', `Content-Length: ${LIMIT * 16}`, 'Expect: 100-continue']))
  const r = await c.response('the answer to an oversized upload announced with Expect: 100-continue (the body is never sent)')
  t.equal(r.status, 413, `413 (got ${r.statusLine} ${r.body.toString().slice(0, 160)})`)
  t.equal(errorCode(r), 'SWY_ERR_PROXY_BODY_TOO_LARGE')
  t.equal(blue.received.length, 0, 'the upstream was never contacted')
})
