/**
 * Pipelining (issue 9 item 3): several requests in one write are answered in order and a
 * request inside a body stays a body; a bad request in a bundle ends the connection,
 * nothing after it is forwarded, the proxy never crashes, and in-flight returns to 0.
 */
import t from 'tap'
import { startTestSwitchyard, testConfig } from '../helpers/services.js'
import { errorCode, head, header, portOf, RawClient, rawRequest, startRecorder, waitQuiet } from './helpers.js'
import { CONFIG } from './misbehave.js'

t.test('pipelined requests are answered in order and a request inside a body stays a body', async (t) => {
  const blue = await startRecorder(t, 'blue')
  const sy = await startTestSwitchyard(t, testConfig([blue], CONFIG))
  const port = portOf(sy.proxyUrl)
  const smuggled = head('GET /smuggled', ['Host: app.example'])
  const c = new RawClient(port)
  t.teardown(() => c.destroy())
  await c.connected
  c.write(head('GET /p/1', ['Host: app.example']) +
    head('POST /p/2', ['Host: app.example', 'Content-Type: text/plain', `Content-Length: ${smuggled.length}`]) + smuggled +
    head('GET /p/3', ['Host: app.example', 'Upgrade: foo', 'Keep-Alive: 1']) +
    head('POST /p/4', ['Host: app.example', 'Transfer-Encoding: chunked']) + '5\r\nhello\r\n0\r\n\r\n')
  await c.response('the fourth pipelined answer', 4)
  t.same(c.responses.map((r) => r.status), [200, 200, 200, 200], 'four answers, 200, in order')
  t.equal(header(c.responses[1] as never, 'x-body-bytes'), String(smuggled.length), 'the second answer is the second request\'s')
  t.same(blue.received.map((r) => r.url), ['/p/1', '/p/2', '/p/3', '/p/4'], 'the upstream got them in order, nothing smuggled')
  t.equal(blue.received[1]?.body.toString('latin1'), smuggled, 'a request inside a body stayed a body')
  t.equal(blue.received[3]?.body.toString('latin1'), 'hello', 'the chunked body arrived')
  c.destroy()
  await waitQuiet(sy.adminUrl)
})

t.test('a bad chunked request pipelined behind good ones: the connection ends, nothing after it is forwarded, the proxy does not crash, in-flight returns to 0', async (t) => {
  const blue = await startRecorder(t, 'blue')
  const sy = await startTestSwitchyard(t, testConfig([blue], CONFIG))
  const port = portOf(sy.proxyUrl)
  // Ten times: an error event nobody listens to would be an uncaughtException (tap fails the test on it).
  for (let i = 0; i < 10; i++) {
    const c = new RawClient(port)
    t.teardown(() => c.destroy())
    await c.connected
    c.write(head(`GET /q/${i}/1`, ['Host: app.example']) + head(`POST /q/${i}/2`, ['Host: app.example', 'Content-Length: 5']) + 'hello' +
      head(`POST /q/${i}/3`, ['Host: app.example', 'Transfer-Encoding: chunked']) + 'zz\r\n\r\n' + head(`GET /q/${i}/4`, ['Host: app.example']))
    await c.waitClosed(`bundle ${i}: the connection closing after its bad request`)
    t.ok(c.responses.every((r) => r.status === 200 || r.status === 400), `bundle ${i}: only 200s and a 400 (got ${c.responses.map((r) => r.status).join(', ')})`)
    const last = c.responses[c.responses.length - 1]
    if (last !== undefined && last.status === 400) t.equal(errorCode(last), 'SWY_ERR_PROXY_BAD_REQUEST', `bundle ${i}: the 400's code`)
  }
  t.notOk(blue.received.some((r) => r.url.endsWith('/4')), 'nothing after a bad pipelined request reached the upstream')
  t.notOk(blue.received.some((r) => r.url.endsWith('/3') && r.complete), 'the bad request never arrived complete upstream')
  const ok = await rawRequest(port, head('GET /after', ['Host: app.example']), 'a normal request after the bundles')
  t.equal(ok.status, 200)
  await waitQuiet(sy.adminUrl)
})
