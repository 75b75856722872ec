/**
 * Client-caused failures never eject (issue 9 item 2, DATAPATH-SPEC §2): abandoned uploads,
 * malformed chunked bodies, oversized bodies, timed-out requests, refused headers and
 * clients leaving mid-response, each many more times than
 * `health.passive.consecutiveFailures`: the target stays healthy, other clients keep
 * getting 200 from it, and `switchyard_upstream_errors_total` stays 0. A real upstream
 * failure (5xx) still counts, so the counters are shown to be live.
 */
import t from 'tap'
import { startTestSwitchyard, testConfig } from '../helpers/services.js'
import { allBytes, head, portOf, RawClient, rawRequest, samples, scrape, startRecorder, targets, until, upstreamErrors, waitQuiet, type Recorder } from './helpers.js'

const FAILURES = 2
const REPEAT = FAILURES * 3
const LIMIT = 65_536

/** One client misbehaviour; resolves once the client is done with it. */
type Misbehaviour = (port: number, blue: Recorder, i: number) => Promise<void>

const misbehaviours: ReadonlyArray<readonly [string, Misbehaviour]> = [
  ['an upload abandoned halfway (Content-Length)', async (port, blue, i) => {
    const c = new RawClient(port)
    await c.connected
    c.write(head(`POST /abandon-cl/${i}`, ['Host: app.example', 'Content-Type: application/octet-stream', 'Content-Length: 50000']))
    c.write(allBytes(20_000))
    await until('the upstream receiving part of the abandoned upload', () => blue.received.some((r) => r.url === `/abandon-cl/${i}` && r.body.length > 0))
    c.destroy()
    await until('the upstream seeing the abandoned upload end', () => blue.received.every((r) => r.url !== `/abandon-cl/${i}` || r.aborted || r.complete))
  }],
  ['an upload abandoned halfway (chunked)', async (port, blue, i) => {
    const c = new RawClient(port)
    await c.connected
    c.write(head(`POST /abandon-chunked/${i}`, ['Host: app.example', 'Content-Type: application/json', 'Transfer-Encoding: chunked']))
    c.write('10\r\n{"a":"bbbbbbbbb"\r\n')
    await until('the upstream receiving the first chunk', () => blue.received.some((r) => r.url === `/abandon-chunked/${i}` && r.body.length > 0))
    c.destroy()
    await until('the upstream seeing the abandoned upload end', () => blue.received.every((r) => r.url !== `/abandon-chunked/${i}` || r.aborted || r.complete))
  }],
  ['a malformed chunked body after a good chunk', async (port, blue, i) => {
    const c = new RawClient(port)
    await c.connected
    c.write(head(`POST /bad-chunk/${i}`, ['Host: app.example', 'Content-Type: application/octet-stream', 'Transfer-Encoding: chunked']))
    c.write('5\r\nhello\r\n')
    await until('the upstream receiving the good chunk', () => blue.received.some((r) => r.url === `/bad-chunk/${i}` && r.body.length > 0))
    c.write('3\r\nabcdef\r\nzz\r\n\r\n')
    await c.waitFor('an answer or a close after the bad chunk', () => c.responses.length > 0 || c.closed)
    c.destroy()
    await until('the upstream seeing the malformed request end', () => blue.received.every((r) => r.url !== `/bad-chunk/${i}` || r.aborted || r.complete))
  }],
  ['a malformed chunk size at once', async (port) => {
    const r = await rawRequest(port, head('POST /bad-size', ['Host: app.example', 'Transfer-Encoding: chunked']) + 'xyz\r\nabc\r\n0\r\n\r\n', 'a bad chunk size')
    if (r.status !== 400) throw new Error(`a bad chunk size: expected 400, got ${r.statusLine}`)
  }],
  ['a Content-Length over the limit', async (port) => {
    const r = await rawRequest(port, head('POST /big', ['Host: app.example', 'Content-Type: application/octet-stream', `Content-Length: ${LIMIT * 2}`]), 'an oversized Content-Length')
    if (r.status !== 413) throw new Error(`an oversized Content-Length: expected 413, got ${r.statusLine}`)
  }],
  ['a chunked body over the limit', async (port, blue, i) => {
    const c = new RawClient(port)
    await c.connected
    c.write(head(`POST /big-chunked/${i}`, ['Host: app.example', 'Transfer-Encoding: chunked']))
    for (let k = 0; k < 3; k++) c.write(Buffer.concat([Buffer.from(`${LIMIT.toString(16)}\r\n`, 'latin1'), allBytes(LIMIT), Buffer.from('\r\n', 'latin1')]))
    await c.waitFor('413 or a close for the oversized chunked body', () => c.responses.length > 0 || c.closed)
    c.destroy()
    await until('the upstream seeing the oversized request end', () => blue.received.every((r) => r.url !== `/big-chunked/${i}` || r.aborted || r.complete))
  }],
  ['a body that stops arriving (request timeout)', async (port) => {
    const c = new RawClient(port)
    await c.connected
    c.write(head('POST /stalled', ['Host: app.example', 'Content-Type: application/octet-stream', 'Content-Length: 1000']))
    c.write(allBytes(10))
    await c.waitFor('408 or a close for the stalled body (proxy.requestTimeoutMs)', () => c.responses.length > 0 || c.closed)
    c.destroy()
  }],
  ['a refused expectation (Expect: x-other)', async (port) => {
    const r = await rawRequest(port, head('POST /expect', ['Host: app.example', 'Expect: x-other', 'Content-Length: 1']) + 'a', 'a refused expectation')
    if (r.status !== 417) throw new Error(`Expect: x-other: expected 417, got ${r.statusLine}`)
  }],
  ['hop-by-hop headers undici would refuse', async (port) => {
    const r = await rawRequest(port, head('GET /hop', ['Host: app.example', 'Upgrade: foo', 'Keep-Alive: 1', 'TE: trailers', 'Connection: x-y', 'X-Y: 1']), 'hop-by-hop headers')
    if (r.status >= 500) throw new Error(`hop-by-hop headers: answered ${r.statusLine}`)
  }],
  ['a client leaving while the upstream answers slowly', async (port, blue, i) => {
    const c = new RawClient(port)
    await c.connected
    c.write(head(`GET /hold/leave/${i}`, ['Host: app.example']))
    await until('the upstream holding the slow request', () => blue.received.some((r) => r.url === `/hold/leave/${i}`))
    c.destroy()
    // The held answer is released so the pool slot comes back whether or not the proxy
    // cancels the upstream request (that is checked in slow-clients.test.ts).
    blue.release()
    await until('the upstream request ending after the client left', () => blue.received.every((r) => r.url !== `/hold/leave/${i}` || r.aborted || r.answered))
  }]
]

for (const [name, misbehave] of misbehaviours) {
  t.test(`${name}, ${REPEAT} times with consecutiveFailures ${FAILURES}: no ejection, no upstream error, others get 200`, async (t) => {
    const blue = await startRecorder(t, 'blue')
    const sy = await startTestSwitchyard(t, testConfig([blue], {
      upstream: { connections: 2 },
      proxy: { bodyLimit: LIMIT, requestTimeoutMs: 1000, headersTimeoutMs: 500 },
      health: { passive: { consecutiveFailures: FAILURES } }
    }))
    const port = portOf(sy.proxyUrl)
    for (let i = 0; i < REPEAT; i++) {
      await misbehave(port, blue, i)
      const r = await rawRequest(port, head(`GET /other/${i}`, ['Host: app.example']), `another client after "${name}" #${i + 1}`)
      t.equal(r.status, 200, `another client after #${i + 1}: 200 (got ${r.statusLine} ${r.body.toString().slice(0, 160)})`)
      t.equal(r.body.toString(), 'blue', `another client after #${i + 1}: served by the target`)
    }
    blue.release()
    const list = await targets(sy.adminUrl)
    t.same(list.map((x) => x.health), ['healthy'], 'the target stays healthy (never ejected)')
    t.equal(await upstreamErrors(sy.adminUrl), 0, 'switchyard_upstream_errors_total stays 0')
    const healthy = samples(await scrape(sy.adminUrl), 'switchyard_target_healthy')
    t.same([...healthy.values()], [1], 'switchyard_target_healthy stays 1')
    await waitQuiet(sy.adminUrl)
  })
}

t.test('the counters are live: upstream 5xx answers still count and eject', async (t) => {
  const blue = await startRecorder(t, 'blue', { respond: (_r, res) => { res.statusCode = 503; res.end('down') } })
  const sy = await startTestSwitchyard(t, testConfig([blue], { health: { passive: { consecutiveFailures: FAILURES } } }))
  const port = portOf(sy.proxyUrl)
  for (let i = 0; i < FAILURES; i++) await rawRequest(port, head('GET /fail', ['Host: app.example']), `a request the upstream fails (#${i + 1})`)
  await until('the target ejected after upstream 5xx answers', async () => (await targets(sy.adminUrl))[0]?.health === 'ejected')
  t.ok(await upstreamErrors(sy.adminUrl) >= FAILURES, 'upstream 5xx answers are counted')
})
