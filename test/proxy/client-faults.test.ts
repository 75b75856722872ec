/**
 * What the client causes never counts against a target (DATAPATH-SPEC §2), every request's
 * in-flight slot is given back exactly once (§3), and client-side time limits hold (§5).
 */
import { Writable } from 'node:stream'
import { pino } from 'pino'
import t from 'tap'
import WebSocket from 'ws'
import { adminCall, send, startTestSwitchyard, startUpstream, testConfig, until } from '../helpers/services.js'
import { head, portOf, RawClient, rawRequest, startRecorder } from '../helpers/raw-http.js'

interface TargetView { readonly health: string, readonly inFlight: number }

async function targetList (adminUrl: string): Promise<TargetView[]> {
  return ((await adminCall(adminUrl, 'GET', '/targets')).json as { targets: TargetView[] }).targets
}

async function upstreamErrors (adminUrl: string): Promise<number> {
  const text = (await adminCall(adminUrl, 'GET', '/metrics')).body
  let sum = 0
  for (const m of text.matchAll(/^switchyard_upstream_errors_total\{[^}]*\} (\d+)/gm)) sum += Number(m[1])
  return sum
}

async function inFlightGauge (adminUrl: string): Promise<number> {
  const text = (await adminCall(adminUrl, 'GET', '/metrics')).body
  let sum = 0
  for (const m of text.matchAll(/^switchyard_in_flight_requests\{[^}]*\} (-?\d+)/gm)) sum += Number(m[1])
  return sum
}

/** Waits until every target has nothing in flight and the gauge says 0; fails naming what is left. */
async function settled (adminUrl: string): Promise<void> {
  let last = ''
  try {
    await until('every in-flight count back to 0', async () => {
      const list = await targetList(adminUrl)
      const gauge = await inFlightGauge(adminUrl)
      last = `targets ${list.map((x) => x.inFlight).join(', ')}, gauge ${gauge}`
      return list.every((x) => x.inFlight === 0) && gauge === 0
    })
  } catch (e) {
    throw new Error(`${(e as Error).message} (last seen: ${last})`)
  }
}

t.test('abandoned uploads, malformed chunked bodies and aborted responses never eject a target nor count as upstream errors', async (t) => {
  const blue = await startRecorder(t, 'blue', (_r, res) => {
    // A response the client abandons halfway: head and part of the body, the rest later.
    res.writeHead(200, { 'content-type': 'text/plain' })
    res.write('part')
    setTimeout(() => res.end('rest'), 200)
  })
  const sy = await startTestSwitchyard(t, testConfig([blue], { health: { passive: { consecutiveFailures: 2 } } }))
  const port = portOf(sy.proxyUrl)
  for (let i = 0; i < 5; i++) {
    // An upload abandoned halfway, once the upstream has started receiving it.
    const c = await RawClient.open(port)
    const before = blue.received.length
    c.write(head('POST /upload', ['Host: a', 'Content-Type: application/octet-stream', 'Content-Length: 100000']) + 'x'.repeat(100))
    await until(`upload #${i + 1} reaching the upstream`, async () => blue.received.length > before)
    c.destroy()

    // A malformed chunked body.
    const bad = await RawClient.open(port)
    bad.write(head('POST /chunked', ['Host: a', 'Transfer-Encoding: chunked']) + '3\r\nabc\r\nZZ\r\n')
    const r = await bad.response(`malformed chunked #${i + 1}`)
    t.equal(r.status, 400, 'a malformed body is a bad request')
    t.match(r.json, { error: 'SWY_ERR_PROXY_BAD_REQUEST' })
    bad.destroy()

    // A response the client abandons after its first bytes.
    const mid = await RawClient.open(port)
    mid.write(head('GET /mid', ['Host: a']))
    await new Promise<void>((resolve) => { mid.socket.once('data', () => resolve()) })
    mid.destroy()
  }
  await settled(sy.adminUrl)
  // Not ejected; and no request reached it in full, so its health is still unknown (issue 12; was healthy).
  t.match(await targetList(sy.adminUrl), [{ health: 'unknown', inFlight: 0 }], 'the target was never ejected')
  t.equal(await upstreamErrors(sy.adminUrl), 0, 'no upstream error counted')
  const ok = await rawRequest(port, head('GET /after', ['Host: a']), 'a normal request afterwards')
  t.equal(ok.status, 200)
})

t.test('in-flight counts return to 0 after normal, abandoned, malformed, pipelined, timed-out and over-limit requests', async (t) => {
  const blue = await startRecorder(t, 'blue', (r, res) => {
    if (r.url === '/slow') setTimeout(() => { if (!res.destroyed) res.end('slow') }, 300)
    else res.end('blue')
  })
  const sy = await startTestSwitchyard(t, testConfig([blue], { proxy: { bodyLimit: 1000, requestTimeoutMs: 1000, headersTimeoutMs: 500 } }))
  const port = portOf(sy.proxyUrl)
  const clients: RawClient[] = []
  const open = async (): Promise<RawClient> => { const c = await RawClient.open(port); clients.push(c); return c }
  for (let i = 0; i < 3; i++) {
    (await open()).write(head('GET /', ['Host: a']))
    const abandoned = await open()
    abandoned.write(head('GET /slow', ['Host: a']))
    const piped = await open()
    piped.write(head('GET /p1', ['Host: a']) + head('GET /slow', ['Host: a']) + head('POST /p3', ['Host: a', 'Content-Length: 2']) + 'ab' + head('GET /p4', ['Host: a']))
    const trickle = await open()
    trickle.write(head('POST /trickle', ['Host: a', 'Content-Length: 10']) + 'a')
    const over = await open()
    over.write(head('POST /over', ['Host: a', 'Transfer-Encoding: chunked']) + `7d0\r\n${'x'.repeat(2000)}\r\n`)
    const malformed = await open()
    malformed.write(head('POST /m', ['Host: a', 'Transfer-Encoding: chunked']) + '2\r\nab\r\nQQ\r\n')
  }
  await until('the slow requests reaching the upstream', async () => blue.received.filter((r) => r.url === '/slow').length >= 3)
  for (const c of clients) if (clients.indexOf(c) % 6 === 1 || clients.indexOf(c) % 6 === 2) c.destroy()
  await until('the trickled requests timing out', async () => clients.filter((c, i) => i % 6 === 3 && c.closed).length === 3)
  for (const c of clients) c.destroy()
  await settled(sy.adminUrl)
  t.match(await targetList(sy.adminUrl), [{ inFlight: 0 }])
  t.equal(await inFlightGauge(sy.adminUrl), 0)
})

t.test('a body trickled past proxy.requestTimeoutMs gets 408 and gives its upstream connection back', async (t) => {
  const blue = await startRecorder(t, 'blue')
  const sy = await startTestSwitchyard(t, testConfig([blue], { upstream: { connections: 2 }, proxy: { requestTimeoutMs: 1000, headersTimeoutMs: 500 } }))
  const port = portOf(sy.proxyUrl)
  const trickles: RawClient[] = []
  for (let i = 0; i < 2; i++) {
    const c = await RawClient.open(port)
    c.write(head('POST /trickle', ['Host: a', 'Content-Length: 100']) + 'a')
    trickles.push(c)
  }
  await until('both trickled requests holding an upstream connection', async () => blue.received.length === 2)
  for (const [i, c] of trickles.entries()) {
    const r = await c.response(`trickled request #${i + 1}: a 408 (no answer means no request timeout)`)
    t.equal(r.status, 408)
    t.match(r.json, { error: 'SWY_ERR_PROXY_REQUEST_TIMEOUT' })
    await c.waitClosed(`trickled request #${i + 1}: the connection closes`)
  }
  const ok = await rawRequest(port, head('GET /after', ['Host: a']), 'a request after the timeouts (a hang: the pool slots were not given back)')
  t.equal(ok.status, 200)
  await settled(sy.adminUrl)
  t.equal(await upstreamErrors(sy.adminUrl), 0, 'a client-side timeout is not an upstream error')
})

t.test('headers trickled past proxy.headersTimeoutMs get 408 (slowloris)', async (t) => {
  const blue = await startRecorder(t, 'blue')
  const sy = await startTestSwitchyard(t, testConfig([blue], { proxy: { requestTimeoutMs: 2000, headersTimeoutMs: 500 } }))
  const c = await RawClient.open(portOf(sy.proxyUrl))
  c.write('GET / HTTP/1.1\r\nHost: a\r\nX-Slow: ')
  const r = await c.response('a 408 for headers that never end')
  t.equal(r.status, 408)
  t.match(r.json, { error: 'SWY_ERR_PROXY_REQUEST_TIMEOUT' })
  await c.waitClosed('the slowloris connection closes')
  t.equal(blue.received.length, 0)
})

t.test('proxy.maxConnections: connections beyond it are closed on accept, the others are served', async (t) => {
  const blue = await startRecorder(t, 'blue')
  const sy = await startTestSwitchyard(t, testConfig([blue], { proxy: { maxConnections: 2 } }))
  const port = portOf(sy.proxyUrl)
  const held = [await RawClient.open(port), await RawClient.open(port)]
  for (const [i, c] of held.entries()) {
    c.write(head('GET /held', ['Host: a']))
    t.equal((await c.response(`held connection #${i + 1}`)).status, 200)
  }
  const extra = await RawClient.open(port)
  extra.write(head('GET /extra', ['Host: a']))
  await extra.waitClosed('the connection beyond maxConnections is closed')
  held[0]?.write(head('GET /again', ['Host: a']))
  t.equal((await held[0]?.response('a held connection is still served'))?.status, 200)
  for (const c of held) c.destroy()
})

t.test('a WebSocket message over proxy.websocketMaxPayload closes that socket with 1009; other clients are unaffected', async (t) => {
  const blue = await startUpstream(t, 'blue')
  const sy = await startTestSwitchyard(t, testConfig([blue], { proxy: { websocketMaxPayload: 1024 } }))
  const wsUrl = sy.proxyUrl.replace('http', 'ws') + '/ws'
  const open = async (): Promise<WebSocket> => {
    const ws = new WebSocket(wsUrl)
    await new Promise<void>((resolve, reject) => { ws.once('open', () => resolve()); ws.once('error', reject) })
    return ws
  }
  const big = await open()
  const small = await open()
  const closed = new Promise<number>((resolve) => big.once('close', (code) => resolve(code)))
  big.on('error', () => {})
  big.send('x'.repeat(2048))
  t.equal(await closed, 1009, 'closed with 1009 (message too big)')
  const echo = new Promise<string>((resolve) => small.once('message', (d) => resolve(String(d))))
  small.send('hello')
  t.equal(await echo, 'blue: hello')
  small.close()
})

t.test('logs: a client abort logs nothing above debug; an upstream failure logs one warn line with its code, rate-limited per target', async (t) => {
  const lines: Array<Record<string, unknown>> = []
  const sink = new Writable({ write (chunk: Buffer, _e, cb) { for (const l of chunk.toString().split('\n')) if (l !== '') lines.push(JSON.parse(l) as Record<string, unknown>); cb() } })
  const blue = await startRecorder(t, 'blue', (_r, res) => { setTimeout(() => { if (!res.destroyed) res.end('late') }, 200) })
  const sy = await startTestSwitchyard(t, testConfig([blue], { health: { passive: { enabled: false } } }), { logger: pino({ level: 'debug' }, sink) })
  const port = portOf(sy.proxyUrl)
  const mark = lines.length
  for (let i = 0; i < 3; i++) {
    const c = await RawClient.open(port)
    const before = blue.received.length
    c.write(head('POST /abort', ['Host: a', 'Content-Length: 1000']) + 'x')
    await until('the upload reaching the upstream', async () => blue.received.length > before)
    c.destroy()
  }
  await settled(sy.adminUrl)
  const loud = lines.slice(mark).filter((l) => (l.level as number) > 20)
  t.same(loud, [], 'nothing above debug for client aborts')

  await blue.close()
  for (let i = 0; i < 4; i++) t.equal((await send(sy.proxyUrl + '/down')).status, 502)
  const warns = lines.filter((l) => l.msg !== undefined && String(l.msg).startsWith('upstream failure'))
  t.equal(warns.length, 1, 'one line for four failures within the interval')
  t.match(warns[0], { level: 40, code: 'SWY_ERR_UPSTREAM_UNREACHABLE', color: 'blue', kind: 'connect' })
  t.ok(typeof warns[0]?.target === 'string')
  t.notOk(lines.some((l) => l.level === 40 && l.msg === 'response errored'), 'no library warn line per failure')
})

t.test('a POST with a body to a target that refuses connections gets 502, the instance stays up, in-flight returns to 0', async (t) => {
  const dead = await startRecorder(t, 'blue')
  const sy = await startTestSwitchyard(t, testConfig([dead]))
  await dead.close()
  const port = portOf(sy.proxyUrl)
  for (let i = 0; i < 3; i++) {
    const body = 'x'.repeat(1024)
    const r = await rawRequest(port, head('POST /', ['Host: a', 'Content-Type: application/octet-stream', `Content-Length: ${body.length}`]) + body, `POST #${i + 1} to a refused target`)
    t.equal(r.status, 502)
    t.match(r.json, { error: 'SWY_ERR_UPSTREAM_UNREACHABLE' })
  }
  const chunkedPost = await rawRequest(port, head('POST /', ['Host: a', 'Transfer-Encoding: chunked']) + '3\r\nabc\r\n0\r\n\r\n', 'a chunked POST to a refused target')
  t.equal(chunkedPost.status, 502)
  await settled(sy.adminUrl)
  t.ok((await adminCall(sy.adminUrl, 'GET', '/healthz')).status === 200, 'the instance is still up')
})

t.test('bad chunked requests pipelined behind good ones crash nothing and leave nothing in flight', async (t) => {
  const blue = await startRecorder(t, 'blue')
  const sy = await startTestSwitchyard(t, testConfig([blue]))
  const port = portOf(sy.proxyUrl)
  const bundle = head('GET /q/1', ['Host: a']) + head('POST /q/2', ['Host: a', 'Content-Length: 5']) + 'hello' +
    head('POST /q/3', ['Host: a', 'Transfer-Encoding: chunked']) + 'zz\r\n\r\n' + head('GET /q/4', ['Host: a'])
  for (let i = 0; i < 10; i++) {
    const c = await RawClient.open(port)
    c.write(bundle)
    await c.waitClosed(`bundle #${i + 1}: the connection closes after the bad request`)
  }
  await settled(sy.adminUrl)
  t.equal((await rawRequest(port, head('GET /after', ['Host: a']), 'a request after the bundles')).status, 200, 'the instance still serves')
})

t.test('a refused connection is retried on another target for any method, with its body intact', async (t) => {
  const dead = await startRecorder(t, 'blue')
  const alive = await startRecorder(t, 'blue')
  const sy = await startTestSwitchyard(t, testConfig([dead, alive]))
  await dead.close()
  const port = portOf(sy.proxyUrl)
  // Round robin among equally loaded targets: four requests pick the dead one at least once.
  for (let i = 0; i < 4; i++) {
    for (const method of ['POST', 'DELETE']) {
      const r = await rawRequest(port, head(`${method} /no-body`, ['Host: a', 'Content-Length: 0']), `${method} #${i + 1}`)
      t.equal(r.status, 200, `${method} #${i + 1}: answered by the live target`)
    }
    const body = `body-${i}-${'x'.repeat(1000)}`
    const withLength = await rawRequest(port, head('POST /with-body', ['Host: a', 'Content-Type: text/plain', `Content-Length: ${body.length}`]) + body, `POST with a body #${i + 1}`)
    t.equal(withLength.status, 200, `POST with a body #${i + 1}: answered by the live target`)
    t.equal(alive.received[alive.received.length - 1]?.body.toString(), body, 'the whole body arrived once')
    const chunkedBody = await rawRequest(port, head('PUT /chunked', ['Host: a', 'Transfer-Encoding: chunked']) + '5\r\nhello\r\n0\r\n\r\n', `chunked PUT #${i + 1}`)
    t.equal(chunkedBody.status, 200, `chunked PUT #${i + 1}: answered by the live target`)
    t.equal(alive.received[alive.received.length - 1]?.body.toString(), 'hello')
  }
  await settled(sy.adminUrl)
})

t.test('a client that leaves while the upstream is slow cancels its upstream call and frees the pool connection', async (t) => {
  const blue = await startRecorder(t, 'blue', (r, res) => {
    if (r.url !== '/slow') res.end('blue')
    // /slow is never answered: only a cancelled call frees its connection.
  })
  const sy = await startTestSwitchyard(t, testConfig([blue], { upstream: { connections: 1 } }))
  const port = portOf(sy.proxyUrl)
  for (let i = 0; i < 2; i++) {
    const c = await RawClient.open(port)
    const before = blue.received.length
    c.write(head('GET /slow', ['Host: a']))
    await until(`slow request #${i + 1} reaching the upstream`, async () => blue.received.length > before)
    c.destroy()
  }
  const r = await rawRequest(port, head('GET /after', ['Host: a']), 'a request after two abandoned slow ones (a hang: the pool connection is still held)')
  t.equal(r.status, 200)
  await settled(sy.adminUrl)
  t.equal(await upstreamErrors(sy.adminUrl), 0, 'a client leaving is not an upstream error')
})

t.test('a request an override forced onto a color is retried only within that color', async (t) => {
  const blue = await startRecorder(t, 'blue')
  const green = await startRecorder(t, 'green')
  const sy = await startTestSwitchyard(t, testConfig([blue, green], { overrides: { enabled: true } }))
  await green.close()
  const r = await rawRequest(portOf(sy.proxyUrl), head('POST /forced', ['Host: a', 'X-Switchyard-Color: green', 'Content-Length: 1']) + 'x', 'a forced POST to a dead color')
  t.equal(r.status, 502, 'the forced color cannot answer: 502, not another color\'s answer')
  t.equal(blue.received.length, 0, 'blue never got it')
})
