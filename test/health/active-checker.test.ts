import { createServer } from 'node:http'
import t from 'tap'
import { ActiveChecker, type ActiveCheckPolicy } from '../../src/health/active-checker.js'
import { type Teardown, until } from '../helpers/services.js'

const POLICY: ActiveCheckPolicy = { path: '/healthz', intervalMs: 50, timeoutMs: 5000, healthyThreshold: 1, unhealthyThreshold: 1 }

/** A real upstream whose health answer the test sets; counts the probes it received. */
async function healthServer (t: Teardown): Promise<{ origin: string, status: { code: number }, probes: () => number }> {
  const status = { code: 503 }
  let probes = 0
  const server = createServer((req, res) => {
    probes++
    res.statusCode = req.url === POLICY.path ? status.code : 404
    res.end()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(async () => {
    server.closeAllConnections()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  })
  const address = server.address()
  const port = typeof address === 'object' && address !== null ? address.port : 0
  return { origin: `http://127.0.0.1:${port}`, status, probes: () => probes }
}

t.test('a verdict callback that throws is reported, never an unhandled rejection, and the checks go on', async (t) => {
  const up = await healthServer(t)
  const verdicts: boolean[] = []
  const errors: Array<{ origin: string, error: unknown }> = []
  const checker = new ActiveChecker(POLICY, [{
    origin: up.origin,
    verdict: (healthy) => {
      verdicts.push(healthy)
      if (!healthy) throw new Error('verdict sink failed')
    }
  }], (origin, error) => { errors.push({ origin, error }) })
  t.teardown(() => checker.stop())

  await until('the unhealthy verdict', () => verdicts.length === 1, { detail: () => `${up.probes()} probes` })
  t.same(verdicts, [false], 'a 503 is unhealthy')
  await until('the thrown error to be reported', () => errors.length === 1)
  t.equal(errors[0]?.origin, up.origin, 'the report names the target')
  t.match(errors[0]?.error, { message: 'verdict sink failed' })

  const probesBefore = up.probes()
  up.status.code = 200
  await until('the healthy verdict after the failed one', () => verdicts.length === 2, { detail: () => `${up.probes() - probesBefore} probes since` })
  t.same(verdicts, [false, true], 'the checker kept probing and saw the target recover')
  t.equal(errors.length, 1, 'nothing else was reported')
})

t.test('without an error listener a throwing verdict is still contained, and a throwing listener too', async (t) => {
  const up = await healthServer(t)
  const thrown: boolean[] = []
  const quiet = new ActiveChecker(POLICY, [{ origin: up.origin, verdict: (healthy) => { thrown.push(healthy); throw new Error('quiet sink failed') } }])
  t.teardown(() => quiet.stop())
  const loud = new ActiveChecker(POLICY, [{ origin: up.origin, verdict: (healthy) => { thrown.push(healthy); throw new Error('loud sink failed') } }],
    () => { throw new Error('the reporter failed too') })
  t.teardown(() => loud.stop())

  await until('both checkers to give their unhealthy verdict', () => thrown.length === 2)
  up.status.code = 200
  await until('both checkers to give their healthy verdict', () => thrown.length === 4, { detail: () => JSON.stringify(thrown) })
  t.same(thrown.sort(), [false, false, true, true], 'both went on probing; the process is still here')
})

t.test('a target added at run time is probed at once; a removed one is probed no more', async (t) => {
  const a = await healthServer(t)
  const b = await healthServer(t)
  a.status.code = 200
  b.status.code = 200
  const checker = new ActiveChecker({ ...POLICY, intervalMs: 20 }, [])
  t.teardown(async () => { await checker.stop() })
  let confirmedA = 0
  const probedA = { origin: a.origin, verdict: () => {}, confirmed: () => { confirmedA++ } }
  checker.add(probedA)
  checker.add(probedA)
  await until('the added target to be probed', () => confirmedA === 1)
  checker.remove(probedA)
  const probesA = a.probes()
  checker.add({ origin: b.origin, verdict: () => {} })
  // While b gets 6 probes on the same interval, a gets at most the one already sent.
  await until('the second added target to be probed 6 times', () => b.probes() >= 6)
  t.ok(a.probes() <= probesA + 1, `a removed target was probed on (${a.probes()} after ${probesA})`)
  t.equal(confirmedA, 1, 'added twice, watched once')
})
