import t from 'tap'
import { request } from 'undici'
import { gate, until } from '../helpers/harness.js'
import { send, startTestSwitchyard, startUpstream, testConfig } from '../helpers/services.js'

async function metric (adminUrl: string, line: RegExp): Promise<number> {
  const m = line.exec((await send(adminUrl + '/metrics')).body)
  return m === null ? Number.NaN : Number(m[1])
}

const IN_FLIGHT_BLUE = /switchyard_in_flight_requests\{color="blue"\} (\d+)/
const BLUE_4XX = /switchyard_requests_total\{color="blue",code_class="4xx",reason="weight"\} (\d+)/
const BLUE_2XX = /switchyard_requests_total\{color="blue",code_class="2xx",reason="weight"\} (\d+)/

/** Waits until the metric matched by `line` reads `value`; fails naming what it last read. */
async function metricReaches (adminUrl: string, line: RegExp, value: number, what: string): Promise<number> {
  let last = Number.NaN
  await until(what, async () => (last = await metric(adminUrl, line)) === value, { detail: () => `${line.source} reads ${last}` })
  return last
}

t.test('in-flight requests per color rise while a request is proxied and fall when it ends', async (t) => {
  const held = gate()
  const blue = await startUpstream(t, 'blue', { holdUntil: held.opened })
  const green = await startUpstream(t, 'green')
  const sy = await startTestSwitchyard(t, testConfig([blue, green]))
  t.equal(await metric(sy.adminUrl, IN_FLIGHT_BLUE), 0)
  const pending = send(sy.proxyUrl + '/')
  await until('the request to reach blue', () => blue.seen.length === 1)
  t.equal(await metric(sy.adminUrl, IN_FLIGHT_BLUE), 1, 'one request in flight to blue')
  held.open()
  t.equal((await pending).body, 'blue')
  t.equal(await metricReaches(sy.adminUrl, IN_FLIGHT_BLUE, 0, 'blue in-flight back to 0'), 0, 'back to 0')
  t.equal(await metric(sy.adminUrl, BLUE_2XX), 1)
})

t.test('a request the client abandons is counted (as 499, class 4xx) and leaves no in-flight leak', async (t) => {
  const held = gate()
  t.teardown(held.open)
  const blue = await startUpstream(t, 'blue', { holdUntil: held.opened })
  const green = await startUpstream(t, 'green')
  const sy = await startTestSwitchyard(t, testConfig([blue, green]))
  const ac = new AbortController()
  const pending = request(sy.proxyUrl + '/', { signal: ac.signal }).catch(() => 'aborted')
  await until('the request to reach blue', () => blue.seen.length === 1)
  t.equal(await metric(sy.adminUrl, IN_FLIGHT_BLUE), 1)
  ac.abort()
  t.equal(await pending, 'aborted')
  t.equal(await metricReaches(sy.adminUrl, IN_FLIGHT_BLUE, 0, 'the abandoned request to leave the in-flight gauge'), 0, 'the abandoned request is no longer in flight')
  t.equal(await metricReaches(sy.adminUrl, BLUE_4XX, 1, 'the abandoned request to be counted as 4xx'), 1, 'and it was counted')
})

t.test('metrics.enabled: false records nothing per request (and routing is unchanged)', async (t) => {
  const blue = await startUpstream(t, 'blue')
  const green = await startUpstream(t, 'green')
  const sy = await startTestSwitchyard(t, testConfig([blue, green], { metrics: { enabled: false } }))
  for (let i = 0; i < 5; i++) t.equal((await send(sy.proxyUrl + '/')).body, 'blue')
  t.equal(await metric(sy.adminUrl, BLUE_2XX), 0, 'no request counted')
  t.match((await send(sy.adminUrl + '/metrics')).body, /switchyard_weight\{color="blue"\} 100/, 'state metrics stay')
})
