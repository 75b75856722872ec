/**
 * Targets joining and leaving at run time reach every worker: the primary's pools (what the
 * admin targets API and DNS discovery drive) forward add, retire and remove. A primary with
 * two real worker processes, started in this process (startInstance).
 */
import { createServer } from 'node:http'
import t from 'tap'
import { startInstance, type RunningCluster } from '../../src/app.js'
import { listenLoopback, until } from '../helpers/harness.js'
import { fresh, startUpstream, testConfig, testLogger } from '../helpers/services.js'

t.setTimeout(5 * 60_000)

t.test('a target added to the primary\'s pools serves from every worker; retired, it leaves every worker', async (t) => {
  const blue = await startUpstream(t, 'blue')
  const green = await startUpstream(t, 'green')
  // The joining target answers "blue2" and records which connections (proxy-side ports) it served.
  const ports = new Set<number>()
  const server = createServer((req, res) => { ports.add(req.socket.remotePort ?? 0); req.resume(); res.end('blue2') })
  const { port, close } = await listenLoopback(server)
  t.teardown(close)

  const running = await startInstance(testConfig([blue, green], { workers: 2 }), { logger: testLogger(), proxyPort: 0, adminPort: 0 })
  t.teardown(() => running.close())
  t.ok('workers' in running, 'workers: 2 starts a primary with workers')
  const { workers } = running as RunningCluster
  t.equal(workers.pids.length, 2)

  const added = workers.pools.add(0, { id: 'blue2', url: `http://127.0.0.1:${port}` }, 'api')
  // Fresh connections alternate between the workers; blue2 must answer from both.
  const bodies: string[] = []
  await until('blue2 to serve requests from both workers', async () => {
    for (let i = 0; i < 4; i++) bodies.push((await fresh(running.proxyUrl + '/')).body)
    return ports.size >= 2 && bodies.includes('blue2')
  })
  t.ok(bodies.includes('blue2'), 'the added target serves')

  workers.pools.retire(added)
  await until('the retired target to leave the primary\'s pool', () => added.removed)
  const after: string[] = []
  for (let i = 0; i < 20; i++) after.push((await fresh(running.proxyUrl + '/')).body)
  t.strictSame([...new Set(after)], ['blue'], 'no worker sends to the removed target')
  t.equal(workers.pools.byColor[0]?.length, 1)
})
