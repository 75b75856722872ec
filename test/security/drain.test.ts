/**
 * drain?wait (issue 9 item 3, DATAPATH-SPEC §3): answers "drained" only once the requests
 * to the target really ended, also after abandoned, malformed, timed-out and over-limit
 * requests that used to make the in-flight count drift, and when the client left.
 */
import t from 'tap'
import { send, startTestSwitchyard, testConfig } from '../helpers/services.js'
import { head, portOf, RawClient, startRecorder, targets, until, waitQuiet } from './helpers.js'
import { abandoned, CONFIG, leaves, malformed, overLimit, stalled } from './misbehave.js'

t.test('drain?wait answers drained only once a slow request really ended, even after abandoned and malformed requests', async (t) => {
  const blue = await startRecorder(t, 'blue')
  const green = await startRecorder(t, 'green')
  const sy = await startTestSwitchyard(t, testConfig([blue, green], CONFIG))
  const port = portOf(sy.proxyUrl)
  // Requests that made the count drift before: abandoned, malformed, timed out, over the limit.
  for (let i = 0; i < 3; i++) {
    await abandoned(port, blue, `/d/abandoned/${i}`)
    await malformed(port, blue, `/d/malformed/${i}`)
  }
  await stalled(port, '/d/stalled')
  await overLimit(port, '/d/over')
  const id = (await targets(sy.adminUrl)).find((x) => x.color === 'blue')?.id as string

  const slow = new RawClient(port)
  t.teardown(() => slow.destroy())
  await slow.connected
  slow.write(head('GET /hold/slow', ['Host: app.example']))
  await until('the slow request reaching the upstream', () => blue.received.some((r) => r.url === '/hold/slow'))
  const early = await send(`${sy.adminUrl}/targets/blue/${encodeURIComponent(id)}/drain?wait=300`, { method: 'POST' })
  const earlyTarget = (early.json as { target?: { drained?: boolean, inFlight?: number } }).target
  t.equal(early.status, 202, `while the slow request runs, drain?wait answers 202 (got ${early.status} ${early.body})`)
  t.equal(earlyTarget?.drained, false, 'not drained while the slow request runs')
  t.equal(earlyTarget?.inFlight, 1, 'exactly the slow request is in flight')

  const waiting = send(`${sy.adminUrl}/targets/blue/${encodeURIComponent(id)}/drain?wait=30000`, { method: 'POST' })
  let answeredBeforeRelease = false
  void waiting.then(() => { answeredBeforeRelease = !released })
  let released = false
  // Give the waiting drain every chance to answer early (it must not): wait until the
  // slow request has been pending upstream while the drain call is open, then release.
  await until('the drain call being open while the request is held', () => blue.pending() === 1)
  released = true
  blue.release()
  const done = await waiting
  const doneTarget = (done.json as { target?: { drained?: boolean, inFlight?: number } }).target
  t.notOk(answeredBeforeRelease, 'drain did not answer before the slow request was released')
  t.equal(done.status, 200, `drained once it ended (got ${done.status} ${done.body})`)
  t.equal(doneTarget?.drained, true)
  t.equal(doneTarget?.inFlight, 0)
  t.ok(blue.received.find((r) => r.url === '/hold/slow')?.answered, 'the upstream had answered the slow request when drain said drained')
  const r = await slow.response('the slow request')
  t.equal(r.status, 200, 'the slow request got its answer')
  await waitQuiet(sy.adminUrl)
})

t.test('drain?wait answers drained once a slow request whose client left has ended', async (t) => {
  const blue = await startRecorder(t, 'blue')
  const green = await startRecorder(t, 'green')
  const sy = await startTestSwitchyard(t, testConfig([blue, green], CONFIG))
  const port = portOf(sy.proxyUrl)
  const id = (await targets(sy.adminUrl)).find((x) => x.color === 'blue')?.id as string
  await leaves(port, blue, '/hold/gone')
  blue.release()
  const done = await send(`${sy.adminUrl}/targets/blue/${encodeURIComponent(id)}/drain?wait=15000`, { method: 'POST' })
  t.equal(done.status, 200, `drained (got ${done.status} ${done.body})`)
  t.equal((done.json as { target?: { inFlight?: number } }).target?.inFlight, 0)
  await waitQuiet(sy.adminUrl)
})
