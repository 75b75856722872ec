/**
 * In-flight never drifts (issue 9 item 3, DATAPATH-SPEC §3): after a mix of normal,
 * abandoned, malformed, pipelined, timed-out, over-limit and left requests, every target's
 * inFlight (GET /targets) is back to 0 and was never negative while sampled, and
 * switchyard_in_flight_requests is 0.
 */
import t from 'tap'
import { startTestSwitchyard, testConfig } from '../helpers/services.js'
import { head, portOf, RawClient, rawRequest, startRecorder, until, waitQuiet } from './helpers.js'
import { abandoned, CONFIG, leaves, malformed, overLimit, pipelinedMix, sampler, stalled } from './misbehave.js'

t.test('after a mix of normal, abandoned, malformed, pipelined, timed-out, over-limit and left requests, in-flight is 0 and was never negative', async (t) => {
  const blue = await startRecorder(t, 'blue')
  const sy = await startTestSwitchyard(t, testConfig([blue], CONFIG))
  const port = portOf(sy.proxyUrl)
  const watch = sampler(sy.adminUrl)
  const normal = async (i: number): Promise<void> => {
    const r = await rawRequest(port, head(`GET /normal/${i}`, ['Host: app.example']), `normal request ${i}`)
    if (r.status !== 200) throw new Error(`normal request ${i}: ${r.statusLine}`)
  }
  const tasks: Array<Promise<void>> = []
  for (let round = 0; round < 3; round++) {
    tasks.push(normal(round * 10), abandoned(port, blue, `/abandoned/${round}`), malformed(port, blue, `/malformed/${round}`),
      pipelinedMix(port, String(round)), stalled(port, `/stalled/${round}`), overLimit(port, `/over/${round}`),
      leaves(port, blue, `/hold/left/${round}`), normal(round * 10 + 1))
  }
  const held = new RawClient(port)
  t.teardown(() => held.destroy())
  await held.connected
  held.write(head('GET /hold/kept', ['Host: app.example']))
  await Promise.all(tasks)
  await until('the kept slow request reaching the upstream', () => blue.received.some((r) => r.url === '/hold/kept'))
  blue.release()
  const kept = await held.response('the kept slow request')
  t.equal(kept.status, 200, 'a slow request still completes')
  await waitQuiet(sy.adminUrl)
  const seen = await watch.stop()
  t.ok(seen.samples > 0, 'in-flight was sampled during the mix')
  t.equal(seen.minTarget, 0, `GET /targets inFlight was never negative (lowest ${seen.minTarget})`)
  t.equal(seen.minGauge, 0, `switchyard_in_flight_requests was never negative (lowest ${seen.minGauge})`)
  t.notOk(blue.received.some((r) => /^\/pipe\/\d\/4$/.test(r.url)), 'nothing after a bad pipelined request was forwarded')
  const ok = await rawRequest(port, head('GET /after', ['Host: app.example']), 'a normal request after the mix')
  t.equal(ok.status, 200)
})
