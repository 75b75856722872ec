/**
 * Drains that wait for every live instance (src/admin/drain-wait.ts): two switchyards on one
 * real Redis, real upstreams holding requests open, drains issued on the other instance.
 */
import { join } from 'node:path'
import t, { type Test } from 'tap'
import type { Running } from '../../src/app.js'
import { validateConfig } from '../../src/config/load-config.js'
import { checkInstanceInfo } from '../../src/state/stored-state.js'
import { RedisStore, type RedisStoreConfig } from '../../src/state/redis-store.js'
import { gate } from '../helpers/harness.js'
import { runCli } from '../helpers/process.js'
import { startRedis } from '../helpers/redis.js'
import { adminCall, send, startTestSwitchyard, startUpstream, testConfig, until, type Answer, type Teardown, type Upstream } from '../helpers/services.js'

interface Pending { instance: string, inFlight: number | null, appliedVersion: number, waitingFor: string }
interface DrainTarget { inFlight: number, inFlightAll: number, drained: boolean, pending: Pending[], notReporting: string[] }
interface TargetRow { color: string, id: string, inFlight: number, inFlightAll?: number, inFlightByInstance?: Record<string, number> }

function redisStore (url: string, dir: string, name: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { store: { kind: 'redis', url, lastKnownPath: join(dir, `${name}-last-known.json`), resyncIntervalMs: 500, heartbeatMs: 100, instanceTtlMs: 5000, ...extra }, instance: { id: name } }
}

async function instance (t: Teardown, ups: readonly Upstream[], url: string, dir: string, name: string, extra: Record<string, unknown> = {}, top: Record<string, unknown> = {}): Promise<Running> {
  return await startTestSwitchyard(t, testConfig(ups, { ...redisStore(url, dir, name, extra), ...top }))
}

/**
 * Two instances on a fresh Redis in front of a blue target that holds every request until
 * `held` opens (and a green one): A (with `aExtra` store settings) and B. `id` is the blue
 * target's id.
 */
async function heldFleet (t: Test, aExtra: Record<string, unknown> = {}): Promise<{ held: ReturnType<typeof gate>, slow: Upstream, green: Upstream, a: Running, b: Running, id: string }> {
  const redis = await startRedis(t)
  const dir = t.testdir()
  const held = gate()
  t.teardown(held.open)
  const slow = await startUpstream(t, 'blue', { holdUntil: held.opened })
  const green = await startUpstream(t, 'green')
  const a = await instance(t, [slow, green], redis.url, dir, 'a', aExtra)
  const b = await instance(t, [slow, green], redis.url, dir, 'b')
  return { held, slow, green, a, b, id: `127.0.0.1:${slow.port}` }
}

async function row (adminUrl: string, color: string, id: string): Promise<TargetRow | undefined> {
  const a = await adminCall(adminUrl, 'GET', '/targets')
  return (a.json as { targets: TargetRow[] }).targets.find((r) => r.color === color && r.id === id)
}

function drainOf (a: Answer): DrainTarget {
  return (a.json as { target: DrainTarget }).target
}

const drainPath = (id: string, waitMs: number): string => `/targets/blue/${encodeURIComponent(id)}/drain?wait=${waitMs}`

t.test('requests held open on A: a drain issued on B waits for them (202 naming A while they last, 200 once they end); GET /targets totals', async (t) => {
  // A beats (and re-reads the store, which beats too) once a minute: only the beat on a
  // change of a draining target's count can tell B in time that its requests ended.
  const { held, slow, a, b, id } = await heldFleet(t, { heartbeatMs: 60_000, instanceTtlMs: 120_000, resyncIntervalMs: 600_000 })
  const requests = [send(a.proxyUrl + '/'), send(a.proxyUrl + '/')]
  await until('two requests through A held at the slow target', () => slow.seen.length === 2)
  const onA = await row(a.adminUrl, 'blue', id)
  t.equal(onA?.inFlight, 2, 'A: 2 in flight here')
  t.equal(onA?.inFlightAll, 2, 'A: 2 over the fleet')

  const first = await adminCall(b.adminUrl, 'POST', drainPath(id, 300))
  t.equal(first.status, 202, 'a short drain on B: not drained')
  t.ok(drainOf(first).pending.some((p) => p.instance === 'a'), 'it names A')
  t.equal(drainOf(first).drained, false)
  // A publishes its count as soon as it applies the drain (at once, not at its next beat).
  await until('B to see A\'s 2 requests', async () => (await row(b.adminUrl, 'blue', id))?.inFlightByInstance?.a === 2)
  const onB = await row(b.adminUrl, 'blue', id)
  t.equal(onB?.inFlight, 0, 'B: none in flight here')
  t.equal(onB?.inFlightAll, 2, 'B: A\'s 2 in the total')
  const short = await adminCall(b.adminUrl, 'POST', drainPath(id, 200))
  t.equal(short.status, 202)
  t.same(drainOf(short), { color: 'blue', id, mode: 'draining', inFlight: 0, inFlightAll: 2, drained: false, pending: [{ instance: 'a', inFlight: 2, appliedVersion: b.switchboard.state.version, waitingFor: 'requests' }], notReporting: [] }, 'the short wait names A and its count')

  let settled = false
  const long = adminCall(b.adminUrl, 'POST', drainPath(id, 30_000)).finally(() => { settled = true })
  await until('B to still see A\'s requests', async () => (await row(b.adminUrl, 'blue', id))?.inFlightAll === 2)
  t.equal(settled, false, 'the drain on B waits while A has requests in flight')
  held.open()
  const done = await long
  t.equal(done.status, 200, 'drained once A\'s requests ended')
  t.same(drainOf(done), { color: 'blue', id, mode: 'draining', inFlight: 0, inFlightAll: 0, drained: true, pending: [], notReporting: [] })
  t.equal(a.dataPath.pools.find(0, id)?.inFlight, 0, 'A has nothing in flight to it')
  t.same((await Promise.all(requests)).map((r) => r.body), ['blue', 'blue'], 'the held requests finished normally')
})

t.test('GET /targets: this instance\'s count and the total over live instances', async (t) => {
  const { held, slow, green, a, b, id } = await heldFleet(t)
  const requests = [send(a.proxyUrl + '/'), send(a.proxyUrl + '/'), send(b.proxyUrl + '/')]
  await until('three requests held at the slow target', () => slow.seen.length === 3)
  // An enabled target's count is published with each heartbeat (every 100 ms here).
  const seen = async (adminUrl: string): Promise<TargetRow | undefined> => {
    let last: TargetRow | undefined
    await until(`${adminUrl} to count 3 over the fleet`, async () => { last = await row(adminUrl, 'blue', id); return last?.inFlightAll === 3 }, { detail: () => JSON.stringify(last) })
    return last
  }
  t.match(await seen(a.adminUrl), { inFlight: 2, inFlightAll: 3, inFlightByInstance: { a: 2, b: 1 } }, 'on A')
  t.match(await seen(b.adminUrl), { inFlight: 1, inFlightAll: 3, inFlightByInstance: { a: 2, b: 1 } }, 'on B')
  const greenRow = await row(a.adminUrl, 'green', `127.0.0.1:${green.port}`)
  t.same([greenRow?.inFlight, greenRow?.inFlightAll, greenRow?.inFlightByInstance], [0, 0, {}], 'an idle target')
  held.open()
  await Promise.all(requests)
})

t.test('switchyard drain --wait counts the requests in flight on every live instance', async (t) => {
  const { held, a, b, id } = await heldFleet(t)
  const request = send(a.proxyUrl + '/')
  await until('B to see A\'s request', async () => (await row(b.adminUrl, 'blue', id))?.inFlightAll === 1)
  const env = { SWITCHYARD_ADMIN_URL: b.adminUrl }
  const short = await runCli(t, ['drain', 'blue', id, '--wait=300'], env)
  t.equal(short.code, 4, `the wait runs out while A holds a request (${short.stderr})`)
  t.match(short.stderr, 'still has 1 request in flight')
  held.open()
  t.equal((await request).body, 'blue')
  const long = await runCli(t, ['drain', 'blue', id, '--wait=30s'], env)
  t.equal(long.code, 0, long.stderr)
  t.match(long.stdout, `blue/${id}: no requests in flight`)
})

t.test('an instance that stops heartbeating stops counting', async (t) => {
  const { held, slow, a, b, id } = await heldFleet(t, { instanceTtlMs: 500 })
  const request = send(a.proxyUrl + '/')
  await until('a request through A held at the slow target', () => slow.seen.length === 1)
  await until('B to see A\'s request', async () => (await row(b.adminUrl, 'blue', id))?.inFlightByInstance?.a === 1)
  const short = await adminCall(b.adminUrl, 'POST', drainPath(id, 100))
  t.equal(short.status, 202, 'A counts while it beats')
  // A stops beating (a hung or cut-off instance): its heartbeat expires after 500 ms.
  await a.switchboard.stop()
  const drained = await adminCall(b.adminUrl, 'POST', drainPath(id, 30_000))
  t.equal(drained.status, 200, 'drained once A is no longer live')
  t.same(drainOf(drained).pending, [])
  t.equal(a.dataPath.pools.find(0, id)?.inFlight, 1, 'A still holds its request: it was not counted, not finished')
  const instances = (await adminCall(b.adminUrl, 'GET', '/instances')).json as { instances: Array<{ id: string }> }
  t.same(instances.instances.map((i) => i.id), ['b'], 'A is not live')
  held.open()
  t.equal((await request).body, 'blue')
})

t.test('an older release\'s heartbeat (no counts): waited on until it applies the drain, then counted as 0 and named not reporting', async (t) => {
  const redis = await startRedis(t)
  const dir = t.testdir()
  const blue = await startUpstream(t, 'blue')
  const green = await startUpstream(t, 'green')
  const b = await instance(t, [blue, green], redis.url, dir, 'b')
  const id = `127.0.0.1:${blue.port}`
  const config = validateConfig({ colors: { blue: { targets: [blue.url] } }, store: { kind: 'redis', url: redis.url, lastKnownPath: join(dir, 'old-lk.json') } }, {}).config.store as RedisStoreConfig
  const old = new RedisStore(config)
  t.teardown(() => old.close())
  await old.connect()
  // What the previous release writes: no inFlight field.
  const version = b.switchboard.state.version
  await old.heartbeat({ id: 'old', appliedVersion: version, appliedAt: Date.now(), at: Date.now() }, 600_000)
  const lagging = await adminCall(b.adminUrl, 'POST', drainPath(id, 200))
  t.equal(lagging.status, 202, 'the old instance has not applied the drain: it may still send new requests')
  t.same(drainOf(lagging).pending, [{ instance: 'old', inFlight: null, appliedVersion: version, waitingFor: 'version' }])
  t.same(drainOf(lagging).notReporting, ['old'])
  await old.heartbeat({ id: 'old', appliedVersion: b.switchboard.state.version, appliedAt: Date.now(), at: Date.now() }, 600_000)
  const drained = await adminCall(b.adminUrl, 'POST', drainPath(id, 5000))
  t.equal(drained.status, 200, 'at the drain\'s version it counts as 0')
  t.same(drainOf(drained), { color: 'blue', id, mode: 'draining', inFlight: 0, inFlightAll: 0, drained: true, pending: [], notReporting: ['old'] })
  const targets = await row(b.adminUrl, 'blue', id)
  t.equal(targets?.inFlightAll, 0, 'GET /targets reads the old heartbeat too')
})

t.test('heartbeats: old ones (no counts) still read, counts checked', async (t) => {
  const beat = { id: 'i', appliedVersion: 3, appliedAt: 1, at: 2 }
  t.same(checkInstanceInfo(beat), [], 'a previous release\'s heartbeat')
  t.same(checkInstanceInfo({ ...beat, inFlight: { blue: { 'blue-1': 3 } } }), [], 'with counts')
  t.same(checkInstanceInfo({ ...beat, inFlight: {} }), [], 'with nothing in flight')
  t.not(checkInstanceInfo({ ...beat, inFlight: { blue: { 'blue-1': -1 } } }).length, 0, 'a negative count')
  t.not(checkInstanceInfo({ ...beat, inFlight: { blue: 3 } }).length, 0, 'a count not per target')
})

t.test('a rolling replacement of three targets under load through both instances: 0 failed requests', async (t) => {
  const redis = await startRedis(t)
  const dir = t.testdir()
  // Every answer takes a little while, so both instances have requests in flight to the
  // target being drained when the drain is asked for.
  const blues: Upstream[] = [await startUpstream(t, 'blue', { delayMs: 50 }), await startUpstream(t, 'blue', { delayMs: 50 }), await startUpstream(t, 'blue', { delayMs: 50 })]
  const green = await startUpstream(t, 'green')
  // No retries: a request cut off by a target stopped too early fails instead of being
  // replayed on another target, so only the drain keeps the count at 0.
  const noRetry = { retry: { methods: [] } }
  const a = await instance(t, [...blues, green], redis.url, dir, 'a', {}, noRetry)
  const b = await instance(t, [...blues, green], redis.url, dir, 'b', {}, noRetry)
  // C takes no traffic: the admin endpoint a deploy script talks to, which has nothing in
  // flight itself.
  const c = await instance(t, [...blues, green], redis.url, dir, 'c', {}, noRetry)
  let sent = 0
  let failed = 0
  const failures: string[] = []
  let running = true
  const load = async (proxyUrl: string): Promise<void> => {
    while (running) {
      sent++
      try {
        const r = await send(proxyUrl + '/')
        if (r.status !== 200 || r.body !== 'blue') { failed++; failures.push(`${r.status} ${r.body}`) }
      } catch (e) { failed++; failures.push(String(e)) }
    }
  }
  const traffic = Promise.all([load(a.proxyUrl), load(a.proxyUrl), load(a.proxyUrl), load(b.proxyUrl), load(b.proxyUrl), load(b.proxyUrl)])
  t.teardown(async () => { running = false; await traffic })
  const sentReaches = async (n: number, what: string): Promise<void> => { await until(what, () => sent >= n, { detail: () => `${sent} sent` }) }
  await sentReaches(30, 'steady traffic to start')
  const replacements: Upstream[] = []
  for (const [i, old] of blues.entries()) {
    const id = `127.0.0.1:${old.port}`
    // Drains go through each instance in turn: each must wait for the others' requests.
    const via = [c, a, b][i] as Running
    const drain = await adminCall(via.adminUrl, 'POST', drainPath(id, 30_000), { reason: 'rolling' })
    t.equal(drain.status, 200, `${id} drained on every instance`)
    t.same(drainOf(drain).pending, [])
    // Stopped on the answer, as a deploy script does: a request still in flight to it on
    // either instance, or a new one sent to it, would fail.
    await old.close()
    const fresh = await startUpstream(t, 'blue', { port: old.port, delayMs: 50 })
    replacements.push(fresh)
    const enable = await adminCall(via.adminUrl, 'POST', `/targets/blue/${encodeURIComponent(id)}/enable?wait=30000`, { reason: 'rolling: new version up' })
    t.equal(enable.status, 200, `${id} enabled again`)
    await until(`the replacement of ${id} to take traffic`, () => fresh.seen.length > 0)
  }
  await sentReaches(sent + 30, 'traffic on the replacements')
  running = false
  await traffic
  t.equal(failed, 0, `0 failed requests out of ${sent}${failures.length > 0 ? `: ${failures.slice(0, 3).join('; ')}` : ''}`)
  t.ok(replacements.every((r) => r.seen.length > 0), 'every replacement took traffic')
})
