import { createServer } from 'node:net'
import t from 'tap'
import { send, startTestSwitchyard, startUpstream, testConfig, type Upstream } from '../helpers/services.js'
import { startRecorder } from '../helpers/raw-http.js'

t.test('a refused connection answers 502 SWY_ERR_UPSTREAM_UNREACHABLE and counts a connect error', async (t) => {
  const blue = await startUpstream(t, 'blue')
  const green = await startUpstream(t, 'green')
  const sy = await startTestSwitchyard(t, testConfig([blue, green]))
  await blue.close()
  const r = await send(sy.proxyUrl + '/')
  t.equal(r.status, 502)
  t.equal((r.json as { error: string }).error, 'SWY_ERR_UPSTREAM_UNREACHABLE')
  const metrics = (await send(sy.adminUrl + '/metrics')).body
  t.match(metrics, /switchyard_upstream_errors_total\{color="blue",kind="connect"\} 1\n/)
  t.match(metrics, /switchyard_requests_total\{color="blue",code_class="5xx",reason="weight"\} 1\n/)
})

t.test('an upstream slower than responseTimeoutMs answers 504 SWY_ERR_UPSTREAM_TIMEOUT', async (t) => {
  // An upstream that never answers: the timeout is certain whatever the machine's speed.
  const blue = await startRecorder(t, 'blue', () => {})
  const green = await startUpstream(t, 'green')
  const sy = await startTestSwitchyard(t, testConfig([blue, green], { upstream: { responseTimeoutMs: 200 } }))
  const r = await send(sy.proxyUrl + '/')
  t.equal(r.status, 504)
  t.equal((r.json as { error: string }).error, 'SWY_ERR_UPSTREAM_TIMEOUT')
})

t.test('an upstream that resets the connection answers 502 SWY_ERR_UPSTREAM_RESET', async (t) => {
  const server = createServer((socket) => { socket.once('data', () => socket.resetAndDestroy()) })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  const address = server.address()
  const port = typeof address === 'object' && address !== null ? address.port : 0
  const fake: Upstream = { color: 'blue', url: `http://127.0.0.1:${port}`, port, seen: [], close: async () => {} }
  const green = await startUpstream(t, 'green')
  const sy = await startTestSwitchyard(t, testConfig([fake, green]))
  const r = await send(sy.proxyUrl + '/')
  t.equal(r.status, 502)
  t.equal((r.json as { error: string }).error, 'SWY_ERR_UPSTREAM_RESET')
})
