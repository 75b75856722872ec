/**
 * With workers, the admin API's run-time targets and a reload reach every worker: a target
 * added through POST /targets serves from both workers and leaves both after DELETE; a
 * reloaded upstream timeout holds on both workers (and a worker started later).
 * A primary with two real worker processes, started in this process (startInstance).
 */
import { createServer } from 'node:http'
import t from 'tap'
import { startInstance, type RunningCluster } from '../../src/app.js'
import type { LoadedConfig } from '../../src/config/load-config.js'
import { gate, listenLoopback, until } from '../helpers/harness.js'
import { adminCall, fresh, startUpstream, testConfig, testLogger } from '../helpers/services.js'

t.setTimeout(5 * 60_000)

t.test('POST /targets and DELETE /targets reach both workers', async (t) => {
  const blue = await startUpstream(t, 'blue')
  const green = await startUpstream(t, 'green')
  const ports = new Set<number>()
  let removedServed = false
  let deleted = false
  const server = createServer((req, res) => {
    ports.add(req.socket.remotePort ?? 0)
    if (deleted) removedServed = true
    req.resume()
    res.end('blue2')
  })
  const { port, close } = await listenLoopback(server)
  t.teardown(close)
  const running = await startInstance(testConfig([blue, green], { workers: 2 }), { logger: testLogger(), proxyPort: 0, adminPort: 0 }) as RunningCluster
  t.teardown(() => running.close())
  t.equal(running.workers.pids.length, 2)

  const added = await adminCall(running.adminUrl, 'POST', '/targets/blue?wait=10000', { url: `http://127.0.0.1:${port}`, id: 'blue2', reason: 'new instance' })
  t.equal(added.status, 201, added.body)
  // blue has two targets now; requests on fresh connections reach blue2 through both workers
  // (each worker opens its own upstream connections).
  await until('blue2 to serve through both workers', async () => {
    for (let i = 0; i < 4; i++) await fresh(running.proxyUrl + '/')
    return ports.size >= 2
  }, { detail: () => `${ports.size} upstream connections to blue2` })

  const removed = await adminCall(running.adminUrl, 'DELETE', '/targets/blue/blue2?wait=10000', { reason: 'old instance out' })
  t.equal(removed.status, 200, removed.body)
  deleted = true
  const bodies = new Set<string>()
  for (let i = 0; i < 20; i++) bodies.add((await fresh(running.proxyUrl + '/')).body)
  t.strictSame([...bodies], ['blue'], 'no worker routes to the removed target')
  t.notOk(removedServed, 'the removed target got no request after the DELETE answered')
  const listed = (await adminCall(running.adminUrl, 'GET', '/targets')).json as { targets: Array<{ id: string }> }
  t.notOk(listed.targets.some((x) => x.id === 'blue2'), 'GET /targets no longer lists it')
  t.equal(running.workers.pools.byColor[0]?.length, 1)
})

t.test('a reloaded upstream timeout holds on every worker, and on a worker started after the reload', async (t) => {
  const held = gate()
  t.teardown(() => { held.open() })
  const blue = await startUpstream(t, 'blue', { holdUntil: held.opened })
  const green = await startUpstream(t, 'green')
  // Timeouts are upstream failures: passive ejection off, so every answer is the timeout's.
  const base = testConfig([blue, green], { workers: 2, health: { passive: { enabled: false } } })
  let next: LoadedConfig = base
  const running = await startInstance(base, { logger: testLogger(), proxyPort: 0, adminPort: 0, reloadFrom: async () => next }) as RunningCluster
  t.teardown(() => running.close())
  next = { ...base, config: { ...base.config, upstream: { ...base.config.upstream, responseTimeoutMs: 100 } } }
  const reloaded = await adminCall(running.adminUrl, 'POST', '/reload', { reason: 'shorter timeout' })
  t.equal(reloaded.status, 200, reloaded.body)
  t.strictSame((reloaded.json as { changed: string[] }).changed, ['upstream.responseTimeoutMs'])
  // The reconfigure message is numbered like a state: the next ?wait write is acknowledged
  // by both workers only after it, so both have the new timeout once this answers.
  const flip = await adminCall(running.adminUrl, 'PUT', '/weights?wait=10000', { weights: { blue: 100, green: 0 }, reason: 'all blue' })
  t.equal(flip.status, 200, flip.body)
  const statuses = new Set<number>()
  for (let i = 0; i < 8; i++) statuses.add((await fresh(running.proxyUrl + '/')).status)
  t.strictSame([...statuses], [504], 'every worker times out after the reloaded 100 ms')

  // A replacement worker starts with the reloaded settings, not the start's.
  const [victim] = running.workers.pids
  process.kill(victim as number, 'SIGKILL')
  await until('the killed worker to be replaced', () => running.workers.pids.length === 2 && !running.workers.pids.includes(victim as number))
  const after = new Set<number>()
  for (let i = 0; i < 8; i++) after.add((await fresh(running.proxyUrl + '/')).status)
  t.strictSame([...after], [504], 'the replacement times out after the reloaded 100 ms too')
})
