import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { Redis } from 'ioredis'
import { startSwitchyard } from '../../src/app.js'
import { freePort, spawnCli, waitForReady } from '../helpers/process.js'
import { startRedis } from '../helpers/redis.js'
import { adminCall, send, startTestSwitchyard, startUpstream, stickyCookie, type Teardown, testConfig, testLogger, until, type Upstream } from '../helpers/services.js'

async function colors (t: Teardown): Promise<Upstream[]> {
  return [await startUpstream(t, 'blue'), await startUpstream(t, 'green')]
}

function redisStore (url: string, dir: string, name: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { store: { kind: 'redis', url, lastKnownPath: join(dir, `${name}-last-known.json`), resyncIntervalMs: 500, heartbeatMs: 100, instanceTtlMs: 5000, ...extra }, instance: { id: name } }
}

t.test('two instances race a compare-and-set: exactly one wins, the other gets 412, no lost update', async (t) => {
  const redis = await startRedis(t)
  const dir = t.testdir()
  const ups = await colors(t)
  const a = await startTestSwitchyard(t, testConfig(ups, redisStore(redis.url, dir, 'a')))
  const b = await startTestSwitchyard(t, testConfig(ups, redisStore(redis.url, dir, 'b')))
  const v = (await adminCall(a.adminUrl, 'GET', '/state')).headers.etag as string
  const [ra, rb] = await Promise.all([
    adminCall(a.adminUrl, 'PUT', '/weights', { weights: { blue: 90, green: 10 } }, { 'if-match': v }),
    adminCall(b.adminUrl, 'PUT', '/weights', { weights: { blue: 50, green: 50 } }, { 'if-match': v })
  ])
  t.same([ra.status, rb.status].sort(), [200, 412])
  const loser = ra.status === 412 ? ra : rb
  t.equal((loser.json as { error: string }).error, 'SWY_ERR_STATE_VERSION_CONFLICT')
  const winner = (ra.status === 200 ? ra : rb).json as { weights: unknown, version: number }
  const history = (await adminCall(b.adminUrl, 'GET', '/history')).json as { entries: Array<{ version: number }> }
  t.same(history.entries.map((e) => e.version), [winner.version, winner.version - 1], 'one new entry, nothing lost')
  await until('b applies the winner', async () => ((await adminCall(b.adminUrl, 'GET', '/state')).json as { version: number }).version === winner.version)
  t.same(((await adminCall(b.adminUrl, 'GET', '/state')).json as { weights: unknown }).weights, winner.weights)
})

t.test('a cookie minted by instance A is honoured by instance B', async (t) => {
  const redis = await startRedis(t)
  const dir = t.testdir()
  const ups = await colors(t)
  const a = await startTestSwitchyard(t, testConfig(ups, redisStore(redis.url, dir, 'a')))
  const b = await startTestSwitchyard(t, testConfig(ups, redisStore(redis.url, dir, 'b')))
  const put = await adminCall(a.adminUrl, 'PUT', '/weights?wait=5000', { weights: { blue: 50, green: 50 } })
  t.equal(put.status, 200, 'both instances applied 50/50')
  for (let i = 0; i < 20; i++) {
    const first = await send(a.proxyUrl + '/')
    const cookie = stickyCookie(first) as string
    const onB = await send(b.proxyUrl + '/', { headers: { cookie } })
    if (onB.body !== first.body || stickyCookie(onB) !== undefined) {
      t.fail(`B did not honour A's cookie: ${first.body} → ${onB.body}`)
      return
    }
  }
  t.pass('20 cookies from A kept their color on B without a new cookie')
})

t.test('three proxy processes: a flip through one reaches all; ?wait returns after all three applied', async (t) => {
  const redis = await startRedis(t)
  const dir = t.testdir()
  const [blue, green] = await colors(t)
  const procs: Array<{ proxy: string, admin: string }> = []
  for (const name of ['p1', 'p2', 'p3']) {
    const proxyPort = await freePort()
    const adminPort = await freePort()
    const file = join(dir, `${name}.json`)
    await writeFile(file, JSON.stringify({
      listen: { host: '127.0.0.1', port: proxyPort },
      admin: { listen: { host: '127.0.0.1', port: adminPort } },
      colors: { blue: { targets: [blue?.url] }, green: { targets: [green?.url] } },
      log: { level: 'warn' },
      ...redisStore(redis.url, dir, name)
    }))
    const p = spawnCli(t, ['serve', '--config', file])
    procs.push({ proxy: `http://127.0.0.1:${proxyPort}`, admin: `http://127.0.0.1:${adminPort}` })
    await waitForReady(p, `http://127.0.0.1:${adminPort}`)
  }
  const [p1, p2, p3] = procs as [typeof procs[0], typeof procs[0], typeof procs[0]]
  await until('three live instances', async () => ((await adminCall(p1.admin, 'GET', '/instances')).json as { instances: unknown[] }).instances.length === 3)
  const flip = await adminCall(p2.admin, 'POST', '/flip?wait=5000', { to: 'green', reason: 'release' })
  t.equal(flip.status, 200)
  const prop = flip.json as { propagation: { converged: boolean, applied: Array<{ id: string, appliedVersion: number }>, lagging: unknown[] }, version: number }
  t.equal(prop.propagation.converged, true)
  t.same(prop.propagation.applied.map((i) => i.id).sort(), ['p1', 'p2', 'p3'], 'all three applied before the answer')
  t.ok(prop.propagation.applied.every((i) => i.appliedVersion >= prop.version))
  for (const p of [p1, p2, p3]) {
    for (let i = 0; i < 20; i++) {
      const r = await send(p.proxy + '/')
      if (r.body !== 'green') { t.fail(`${p.proxy} answered ${r.body} after the flip`); return }
    }
  }
  const state = (await adminCall(p3.admin, 'GET', '/state')).json as { instances: { applied: number, total: number } }
  t.same(state.instances, { applied: 3, total: 3 }, 'GET /state says version N applied on 3 of 3')
})

t.test('Redis killed under steady traffic: no failed request, writes 503, then re-seeded at the last version', async (t) => {
  const redis = await startRedis(t)
  const dir = t.testdir()
  const ups = await colors(t)
  const a = await startTestSwitchyard(t, testConfig(ups, redisStore(redis.url, dir, 'a')))
  const b = await startTestSwitchyard(t, testConfig(ups, redisStore(redis.url, dir, 'b')))
  t.equal((await adminCall(a.adminUrl, 'PUT', '/weights?wait=5000', { weights: { blue: 30, green: 70 } })).status, 200)
  const last = ((await adminCall(a.adminUrl, 'GET', '/state')).json as { version: number }).version

  let sent = 0
  let failed = 0
  let running = true
  const load = async (url: string): Promise<void> => {
    while (running) {
      sent++
      try {
        const r = await send(url + '/')
        if (r.status !== 200 || (r.body !== 'blue' && r.body !== 'green')) failed++
      } catch { failed++ }
    }
  }
  const traffic = Promise.all([load(a.proxyUrl), load(b.proxyUrl), load(a.proxyUrl), load(b.proxyUrl)])

  await until('steady traffic to start', () => sent >= 20, { detail: () => `${sent} sent` })
  await redis.kill()
  await until('a sees the store down', async () => ((await adminCall(a.adminUrl, 'GET', '/readyz')).json as { status: string }).status === 'degraded')
  const readyz = await adminCall(b.adminUrl, 'GET', '/readyz')
  await until('b sees the store down', async () => ((await adminCall(b.adminUrl, 'GET', '/readyz')).json as { status: string }).status === 'degraded')
  t.equal(readyz.status, 200, '/readyz stays 200 (fail static) while degraded')
  const write = await adminCall(a.adminUrl, 'POST', '/flip', { to: 'green' })
  t.equal(write.status, 503)
  t.equal((write.json as { error: string }).error, 'SWY_ERR_STORE_UNAVAILABLE')
  t.match((await send(a.adminUrl + '/metrics')).body, /switchyard_store_up\{kind="redis"\} 0/)
  t.equal(((await adminCall(b.adminUrl, 'GET', '/state')).json as { version: number }).version, last, 'still routing by the last version')
  const at = sent
  await until('traffic to go on while Redis is down', () => sent >= at + 50, { detail: () => `${sent - at} sent since` })

  await redis.start()
  await until('both instances ready again', async () => {
    const ra = (await adminCall(a.adminUrl, 'GET', '/readyz')).json as { status: string }
    const rb = (await adminCall(b.adminUrl, 'GET', '/readyz')).json as { status: string }
    return ra.status === 'ready' && rb.status === 'ready'
  })
  const raw = new Redis(redis.url)
  t.teardown(() => raw.disconnect())
  await until('the state is back in Redis', async () => (await raw.get('{swy}:state')) !== null)
  const reseeded = JSON.parse(await raw.get('{swy}:state') as string) as { version: number, weights: unknown }
  t.equal(reseeded.version, last, 'Redis re-seeded at the last version, not reset to the initial weights')
  t.same(reseeded.weights, { blue: 3000, green: 7000 }, 'with the last weights (basis points)')
  const wa = await adminCall(a.adminUrl, 'PUT', '/weights?wait=5000', { weights: { blue: 20, green: 80 } })
  t.equal(wa.status, 200, 'a write works on A')
  t.equal((wa.json as { version: number }).version, last + 1, 'the version goes on from the last one')
  const wb = await adminCall(b.adminUrl, 'PUT', '/weights?wait=5000', { weights: { blue: 10, green: 90 } })
  t.equal(wb.status, 200, 'a write works on B')
  t.match((await send(a.adminUrl + '/metrics')).body, /switchyard_store_up\{kind="redis"\} 1/)

  await until('over 100 requests in all', () => sent > 100, { detail: () => `${sent} sent` })
  running = false
  await traffic
  t.ok(sent > 100, `steady traffic was sent (${sent} requests)`)
  t.equal(failed, 0, `0 failed proxied requests out of ${sent}`)
})

t.test('an instance started with Redis down routes by its last-known-state file; without one it refuses', async (t) => {
  const redis = await startRedis(t)
  const dir = t.testdir()
  const ups = await colors(t)
  const first = await startSwitchyard(testConfig(ups, redisStore(redis.url, dir, 'a')), { logger: testLogger(), proxyPort: 0, adminPort: 0 })
  t.equal((await adminCall(first.adminUrl, 'POST', '/flip', { to: 'green' })).status, 200)
  const version = ((await adminCall(first.adminUrl, 'GET', '/state')).json as { version: number }).version
  await first.close()
  await redis.kill()

  const again = await startTestSwitchyard(t, testConfig(ups, redisStore(redis.url, dir, 'a', { connectTimeoutMs: 200 })))
  const state = (await adminCall(again.adminUrl, 'GET', '/state')).json as { version: number, weights: unknown }
  t.equal(state.version, version)
  t.same(state.weights, { blue: 0, green: 100 })
  for (let i = 0; i < 10; i++) t.equal((await send(again.proxyUrl + '/')).body, 'green')
  t.equal(((await adminCall(again.adminUrl, 'GET', '/readyz')).json as { status: string }).status, 'degraded')
  t.equal((await adminCall(again.adminUrl, 'POST', '/rollback')).status, 503)

  await t.rejects(startSwitchyard(testConfig(ups, redisStore(redis.url, dir, 'never-ran', { connectTimeoutMs: 200 })), { logger: testLogger(), proxyPort: 0, adminPort: 0 }),
    { code: 'SWY_ERR_STORE_UNAVAILABLE', message: /no last-known-state file/ })
})
