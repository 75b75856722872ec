/**
 * Slow and greedy clients (issue 9 item 5, DATAPATH-SPEC §5): headers trickled byte by byte
 * (slowloris) and bodies trickled byte by byte get 408 SWY_ERR_PROXY_REQUEST_TIMEOUT and a
 * closed connection, and the upstream pool slot a trickled body held is freed (with one
 * upstream connection, a normal request succeeds afterwards); proxy.maxConnections holds;
 * a WebSocket message over websocketMaxPayload closes that socket with 1009, others unaffected.
 */
import t from 'tap'
import WebSocket from 'ws'
import { startTestSwitchyard, startUpstream, testConfig } from '../helpers/services.js'
import { errorCode, head, pause, portOf, RawClient, rawRequest, startRecorder, targets, until, upstreamErrors, waitQuiet } from './helpers.js'

const TIMEOUTS = { requestTimeoutMs: 1000, headersTimeoutMs: 500 }

/** Writes `data` one byte at a time, pacing with `gapMs`, until the server answers or closes (bounded). */
async function trickle (c: RawClient, data: string, gapMs: number, what: string): Promise<void> {
  const end = Date.now() + 20_000
  for (let i = 0; i < data.length && !c.closed && c.responses.length === 0; i++) {
    c.write(data[i] as string)
    await pause(gapMs)
  }
  // Keep writing a byte now and then (never finishing) until the server gives up.
  while (!c.closed && c.responses.length === 0) {
    if (Date.now() > end) throw new Error(`${what}: the server neither answered nor closed within 20 s of trickling`)
    c.write('a')
    await pause(gapMs)
  }
}

t.test('headers trickled byte by byte (slowloris): 408 SWY_ERR_PROXY_REQUEST_TIMEOUT, connection closed, upstream untouched', async (t) => {
  const blue = await startRecorder(t, 'blue')
  const sy = await startTestSwitchyard(t, testConfig([blue], { upstream: { connections: 1 }, proxy: TIMEOUTS }))
  const port = portOf(sy.proxyUrl)
  const clients = [0, 1, 2].map(() => new RawClient(port))
  for (const c of clients) { t.teardown(() => c.destroy()); await c.connected }
  // Never-ending header lines, a byte every 50 ms.
  const headers = 'GET /slowloris HTTP/1.1\r\nHost: app.example\r\n' + 'X-Pad: ' + 'a'.repeat(10_000)
  await Promise.all(clients.map((c, i) => trickle(c, headers, 50, `slowloris client ${i}`)))
  for (const [i, c] of clients.entries()) {
    await c.waitClosed(`slowloris client ${i}`)
    const r = c.responses[0]
    t.ok(r !== undefined, `slowloris client ${i}: answered before the close`)
    if (r !== undefined) {
      t.equal(r.status, 408, `slowloris client ${i}: 408 (got ${r.statusLine} ${r.body.toString().slice(0, 160)})`)
      t.equal(errorCode(r), 'SWY_ERR_PROXY_REQUEST_TIMEOUT', `slowloris client ${i}: the error code`)
    }
  }
  t.equal(blue.received.length, 0, 'the upstream never saw a slowloris request')
  const ok = await rawRequest(port, head('GET /after', ['Host: app.example']), 'a normal request after the slowloris clients')
  t.equal(ok.status, 200)
})

t.test('a body trickled byte by byte: 408, connection closed, and the one upstream pool slot it held is freed', async (t) => {
  const blue = await startRecorder(t, 'blue')
  const sy = await startTestSwitchyard(t, testConfig([blue], { upstream: { connections: 1 }, proxy: TIMEOUTS }))
  const port = portOf(sy.proxyUrl)
  for (const framing of ['length', 'chunked'] as const) {
    const clients = [0, 1, 2].map(() => new RawClient(port))
    for (const c of clients) { t.teardown(() => c.destroy()); await c.connected }
    for (const [i, c] of clients.entries()) {
      c.write(head(`POST /trickle/${framing}/${i}`, ['Host: app.example', 'Content-Type: application/octet-stream',
        framing === 'length' ? 'Content-Length: 100000' : 'Transfer-Encoding: chunked']))
    }
    await Promise.all(clients.map((c, i) => trickle(c, framing === 'length' ? 'x'.repeat(100_000) : '1\r\nx\r\n'.repeat(100_000), 50, `${framing} body trickler ${i}`)))
    for (const [i, c] of clients.entries()) {
      await c.waitClosed(`${framing} body trickler ${i}`)
      const r = c.responses[0]
      t.ok(r !== undefined, `${framing} trickler ${i}: answered before the close`)
      if (r !== undefined) {
        t.equal(r.status, 408, `${framing} trickler ${i}: 408 (got ${r.statusLine} ${r.body.toString().slice(0, 160)})`)
        t.equal(errorCode(r), 'SWY_ERR_PROXY_REQUEST_TIMEOUT', `${framing} trickler ${i}: the error code`)
      }
    }
    // The only pool slot must be free again: a normal request is answered by the upstream.
    const ok = await rawRequest(port, head(`GET /after/${framing}`, ['Host: app.example']), `a normal request after the ${framing} tricklers (a hang here: the pool slot is still held)`)
    t.equal(ok.status, 200, `${framing}: a normal request succeeds after the timeout`)
    const cut = blue.received.filter((r) => r.url.startsWith(`/trickle/${framing}/`))
    await until(`the upstream copies of the ${framing} trickled requests ending`, () => cut.every((r) => r.aborted || r.complete))
    for (const r of cut) t.notOk(r.complete, `${r.url}: the upstream never got a complete trickled request`)
  }
  t.same((await targets(sy.adminUrl)).map((x) => x.health), ['healthy'], 'the target is not penalised')
  t.equal(await upstreamErrors(sy.adminUrl), 0, 'no upstream error counted')
  await waitQuiet(sy.adminUrl)
})

t.test('a client that leaves while the upstream is slow frees its upstream pool slot', async (t) => {
  const blue = await startRecorder(t, 'blue')
  const sy = await startTestSwitchyard(t, testConfig([blue], { upstream: { connections: 1, responseTimeoutMs: 30_000 } }))
  const port = portOf(sy.proxyUrl)
  // Held answers are released however this test ends, so shutdown does not wait for them.
  t.teardown(() => blue.release())
  for (let i = 0; i < 3; i++) {
    const c = new RawClient(port)
    await c.connected
    c.write(head(`GET /hold/leave/${i}`, ['Host: app.example']))
    await until(`the upstream holding request ${i}`, () => blue.received.some((r) => r.url === `/hold/leave/${i}`))
    c.destroy()
    await until(`the upstream seeing request ${i} cancelled after its client left (else it holds the only pool slot)`, () => blue.received.find((r) => r.url === `/hold/leave/${i}`)?.aborted === true)
  }
  const ok = await rawRequest(port, head('GET /after', ['Host: app.example']), 'a normal request while the left requests are still held upstream')
  t.equal(ok.status, 200, 'served: the left requests hold no pool slot')
  blue.release()
  await waitQuiet(sy.adminUrl)
})

t.test('proxy.maxConnections: connections beyond it are closed on accept, the others are served', async (t) => {
  const blue = await startRecorder(t, 'blue')
  const sy = await startTestSwitchyard(t, testConfig([blue], { proxy: { maxConnections: 3 } }))
  const port = portOf(sy.proxyUrl)
  const held = [0, 1, 2].map(() => new RawClient(port))
  for (const [i, c] of held.entries()) {
    t.teardown(() => c.destroy())
    await c.connected
    c.write(head(`GET /held/${i}`, ['Host: app.example']))
    t.equal((await c.response(`held connection ${i}`)).status, 200, `connection ${i} of 3 is served`)
  }
  for (let k = 0; k < 3; k++) {
    const extra = new RawClient(port)
    t.teardown(() => extra.destroy())
    await extra.connected.catch(() => {})
    extra.write(head(`GET /extra/${k}`, ['Host: app.example']))
    await extra.waitClosed(`connection ${4 + k} (beyond maxConnections 3)`)
    t.equal(extra.responses.length, 0, `connection ${4 + k} is closed without an answer`)
  }
  t.notOk(blue.received.some((r) => r.url.startsWith('/extra/')), 'nothing from the extra connections reached the upstream')
  for (const [i, c] of held.entries()) {
    c.write(head(`GET /held/${i}/again`, ['Host: app.example']))
    t.equal((await c.response(`held connection ${i}, second request`, 2)).status, 200, `connection ${i} is still served`)
  }
  held[0]?.destroy()
  await until('a new connection being served once one of the three closed', async () => {
    const c = new RawClient(port)
    try {
      await c.connected
      c.write(head('GET /later', ['Host: app.example']))
      await c.waitFor('an answer or a close', () => c.responses.length > 0 || c.closed)
      return c.responses[0]?.status === 200
    } catch { return false } finally { c.destroy() }
  })
  t.pass('a new connection is served after one closed')
})

t.test('a WebSocket message over websocketMaxPayload closes that socket with 1009; other clients are unaffected', async (t) => {
  const blue = await startUpstream(t, 'blue')
  const sy = await startTestSwitchyard(t, testConfig([blue], { proxy: { websocketMaxPayload: 1024 } }))
  const url = sy.proxyUrl.replace(/^http/, 'ws') + '/ws'
  const open = async (): Promise<WebSocket> => {
    const ws = new WebSocket(url)
    t.teardown(() => ws.terminate())
    await new Promise<void>((resolve, reject) => { ws.once('open', () => resolve()); ws.once('error', reject) })
    return ws
  }
  const echo = async (ws: WebSocket, msg: string): Promise<string> => {
    const p = new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no echo of "${msg.slice(0, 20)}" within 15 s`)), 15_000)
      ws.once('message', (d) => { clearTimeout(timer); resolve(String(d)) })
    })
    ws.send(msg)
    return await p
  }
  const good = await open()
  const bad = await open()
  t.equal(await echo(good, 'hello'), 'blue: hello', 'a normal message is echoed')
  t.equal(await echo(bad, 'x'.repeat(1024)), `blue: ${'x'.repeat(1024)}`, 'a message of exactly websocketMaxPayload passes')
  const closed = new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the oversized sender was not closed within 15 s')), 15_000)
    bad.once('close', (code) => { clearTimeout(timer); resolve(code) })
  })
  let echoedBig = false
  bad.on('message', (d) => { if (String(d).length > 1024) echoedBig = true })
  bad.send('y'.repeat(4096))
  t.equal(await closed, 1009, 'the oversized message closes that socket with 1009 (message too big)')
  t.notOk(echoedBig, 'the oversized message was never echoed back')
  t.equal(await echo(good, 'still here'), 'blue: still here', 'the other client is unaffected')
  const again = await open()
  t.equal(await echo(again, 'new'), 'blue: new', 'new clients are served')
})
