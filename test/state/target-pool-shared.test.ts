import { copyFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { Redis } from 'ioredis'
import { pino } from 'pino'
import { validateConfig, type LoadedConfig } from '../../src/config/load-config.js'
import { FileStore } from '../../src/state/file-store.js'
import { readState } from '../../src/state/stored-state.js'
import { RedisStore, type RedisStoreConfig } from '../../src/state/redis-store.js'
import { runCli } from '../helpers/process.js'
import { startRedis } from '../helpers/redis.js'
import { PREVIOUS_RELEASE, restorePreviousRelease } from '../helpers/store-fixtures.js'
import { adminCall, send, startTestSwitchyard, startUpstream, testConfig, until, type Upstream } from '../helpers/services.js'

// Two CLI children (node + tsx start each) in one test: seconds each on a machine whose cores are busy.
t.setTimeout(10 * 60_000)

interface TargetJson { color: string, id: string, url: string, mode: string, source: string }
interface StateJson { version: number, pool?: Readonly<Record<string, ReadonlyArray<{ id: string, url: string }>>> | undefined }

function redisStore (url: string, dir: string, name: string): Record<string, unknown> {
  return { store: { kind: 'redis', url, lastKnownPath: join(dir, `${name}-last-known.json`), resyncIntervalMs: 500, heartbeatMs: 100, instanceTtlMs: 5000 }, instance: { id: name } }
}

async function targetsOf (adminUrl: string): Promise<TargetJson[]> {
  return ((await adminCall(adminUrl, 'GET', '/targets')).json as { targets: TargetJson[] }).targets
}

function capture (): { logger: ReturnType<typeof pino<string>>, lines: Array<{ level: number, msg: string }> } {
  const lines: Array<{ level: number, msg: string }> = []
  const logger = pino<string>({ level: 'info' }, { write (chunk: string) { for (const l of chunk.split('\n')) if (l !== '') lines.push(JSON.parse(l) as { level: number, msg: string }) } })
  return { logger, lines }
}

t.test('two instances on Redis: a target added on one is used by the other (?wait), and a removal reaches both', async (t) => {
  const redis = await startRedis(t)
  const dir = t.testdir()
  const blue = await startUpstream(t, 'blue')
  const green = await startUpstream(t, 'green')
  const added = await startUpstream(t, 'blue')
  const a = await startTestSwitchyard(t, testConfig([blue, green], redisStore(redis.url, dir, 'a')))
  const b = await startTestSwitchyard(t, testConfig([blue, green], redisStore(redis.url, dir, 'b')))
  const add = await adminCall(a.adminUrl, 'POST', '/targets/blue?wait=10000', { url: added.url, id: 'blue-new', reason: 'scale out' })
  t.equal(add.status, 201, 'added and applied by both instances')
  t.match((add.json as { propagation: unknown }).propagation, { converged: true })
  t.match((await targetsOf(b.adminUrl)).find((x) => x.id === 'blue-new'), { color: 'blue', url: added.url, mode: 'enabled', source: 'api' }, 'B has it as soon as ?wait answered')
  await until('B to send a request to the added target', async () => { await send(b.proxyUrl + '/'); return added.seen.length > 0 }, { detail: () => `added saw ${added.seen.length}` })

  const remove = await adminCall(b.adminUrl, 'DELETE', `/targets/blue/${encodeURIComponent(blue.url)}?wait=10000`, { reason: 'old one out' })
  t.equal(remove.status, 200, 'removed through B, applied by both and drained')
  await until('A to drop it too (at its pool\'s next sweep once idle)', async () => !(await targetsOf(a.adminUrl)).some((x) => x.url === blue.url))
  const seen = blue.seen.length
  for (let i = 0; i < 10; i++) t.equal((await send(a.proxyUrl + '/')).body, 'blue')
  t.equal(blue.seen.length, seen, 'A sends it nothing more')
  const hist = ((await adminCall(a.adminUrl, 'GET', '/history?limit=2')).json as { entries: Array<{ kind: string, reason: string, changedBy: string }> }).entries
  t.same(hist.map((e) => [e.kind, e.reason]), [['target', 'old one out'], ['target', 'scale out']], 'one shared history')
})

t.test('the store\'s pool wins over a config that differs, and a warning names the difference', async (t) => {
  const redis = await startRedis(t)
  const dir = t.testdir()
  const x = await startUpstream(t, 'blue')
  const y = await startUpstream(t, 'blue')
  const green = await startUpstream(t, 'green')
  const a = await startTestSwitchyard(t, testConfig([x, green], redisStore(redis.url, dir, 'a')))
  t.equal((await adminCall(a.adminUrl, 'POST', '/targets/blue', { url: y.url, id: 'y', reason: 'new address' })).status, 201)
  t.equal((await adminCall(a.adminUrl, 'DELETE', `/targets/blue/${encodeURIComponent(x.url)}`, { reason: 'old address out' })).status, 200)
  const quiet = capture()
  const same = await startTestSwitchyard(t, testConfig([x, green], redisStore(redis.url, dir, 'b')), { logger: quiet.logger })
  t.same((await targetsOf(same.adminUrl)).filter((z) => z.color === 'blue').map((z) => [z.id, z.source]), [['y', 'api']], 'a new instance with the old config routes by the store\'s pool')
  const warning = quiet.lines.find((l) => l.level === 40 && l.msg.includes('target pool differs'))
  t.match(warning?.msg, `blue: the store's pool has y (${y.url}), which the config does not list; the config lists 127.0.0.1:${x.port} (${x.url}), which the store's pool does not have`)
  t.notOk(quiet.lines.some((l) => l.msg.includes('target pool differs') && l.msg.startsWith('green')), 'only the color that differs')
  const agreeing = capture()
  await startTestSwitchyard(t, validateConfig({
    listen: { host: '127.0.0.1', port: 0 },
    admin: { listen: { host: '127.0.0.1', port: 0 } },
    colors: { blue: { targets: [{ id: 'y', url: y.url }] }, green: { targets: [green.url] } },
    log: { level: 'silent' },
    ...redisStore(redis.url, dir, 'c')
  }, {}, 'agreeing config'), { logger: agreeing.logger })
  t.notOk(agreeing.lines.some((l) => l.msg.includes('target pool differs')), 'no warning when the config agrees')
})

/** The config the previous release's values were captured with: b1, b2 and g1, g2 (its state drains b1 and disables g2). */
function previousReleaseConfig (ups: readonly Upstream[], store: Record<string, unknown>): LoadedConfig {
  const [b1, b2, g1, g2] = ups as [Upstream, Upstream, Upstream, Upstream]
  return testConfig([], {
    colors: { blue: { targets: [{ id: 'b1', url: b1.url }, { id: 'b2', url: b2.url }] }, green: { targets: [{ id: 'g1', url: g1.url }, { id: 'g2', url: g2.url }] } },
    ...store
  })
}

for (const kind of ['redis', 'file'] as const) {
  t.test(`a ${kind} state of the previous release (no pool) means the config's targets; the first target write adds the pool to it`, async (t) => {
    const ups = [await startUpstream(t, 'blue'), await startUpstream(t, 'blue'), await startUpstream(t, 'green'), await startUpstream(t, 'green')]
    const extra = await startUpstream(t, 'blue')
    const dir = t.testdir()
    let load: () => Promise<StateJson | null>
    let store: Record<string, unknown>
    if (kind === 'redis') {
      const redis = await startRedis(t)
      const raw = new Redis(redis.url)
      t.teardown(() => raw.disconnect())
      await restorePreviousRelease(raw)
      store = redisStore(redis.url, dir, 'upgraded')
      load = async () => { const v = await raw.get('{swy}:state'); return v === null ? null : readState(v, 'redis state') }
    } else {
      const path = join(dir, 'state.json')
      await copyFile(join(PREVIOUS_RELEASE, 'state.json'), path)
      store = { store: { kind: 'file', path } }
      load = async () => { const s = new FileStore(path); try { return await s.load() } finally { await s.close() } }
    }
    const log = capture()
    const sy = await startTestSwitchyard(t, previousReleaseConfig(ups, store), { logger: log.logger })
    const state = (await adminCall(sy.adminUrl, 'GET', '/state')).json as StateJson
    t.equal(state.version, 7, 'the previous release\'s state')
    t.equal(state.pool, undefined, 'it has no pool')
    t.notOk(log.lines.some((l) => l.msg.includes('target pool differs')), 'no difference to warn about: no pool means the config\'s')
    t.same((await targetsOf(sy.adminUrl)).map((x) => [x.color, x.id, x.mode, x.source]), [
      ['blue', 'b1', 'draining', 'config'], ['blue', 'b2', 'enabled', 'config'], ['green', 'g1', 'enabled', 'config'], ['green', 'g2', 'disabled', 'config']
    ], 'the config\'s targets, with the stored modes')
    // The fixture's heartbeat of the previous release is live: the write is forced (the
    // SWY_ERR_FLEET_MIXED guard has its own test below).
    const add = await adminCall(sy.adminUrl, 'POST', '/targets/blue', { url: extra.url, id: 'b3', reason: 'after the upgrade', force: true })
    t.equal(add.status, 201)
    const stored = await load()
    t.equal(stored?.version, 8)
    t.same(stored?.pool, {
      blue: [{ id: 'b1', url: ups[0]?.url }, { id: 'b2', url: ups[1]?.url }, { id: 'b3', url: extra.url }],
      green: [{ id: 'g1', url: ups[2]?.url }, { id: 'g2', url: ups[3]?.url }]
    }, 'the whole pool is written, the config\'s targets included')
    t.same((await targetsOf(sy.adminUrl)).map((x) => [x.id, x.mode, x.source]), [['b1', 'draining', 'config'], ['b2', 'enabled', 'config'], ['b3', 'enabled', 'api'], ['g1', 'enabled', 'config'], ['g2', 'disabled', 'config']])
  })
}

t.test('rolling upgrade onto new addresses across two instances on Redis, two client loops on each: 0 failed requests', async (t) => {
  const redis = await startRedis(t)
  const dir = t.testdir()
  const olds = [await startUpstream(t, 'blue'), await startUpstream(t, 'blue'), await startUpstream(t, 'blue')]
  const news = [await startUpstream(t, 'blue'), await startUpstream(t, 'blue'), await startUpstream(t, 'blue')]
  const green = await startUpstream(t, 'green')
  const a = await startTestSwitchyard(t, testConfig([...olds, green], redisStore(redis.url, dir, 'a')))
  const b = await startTestSwitchyard(t, testConfig([...olds, green], redisStore(redis.url, dir, 'b')))
  let running = true
  let sent = 0
  const failures: string[] = []
  const loops = [a, a, b, b].map(async (sy) => {
    while (running) {
      try {
        const r = await send(sy.proxyUrl + '/')
        if (r.status !== 200 || r.body !== 'blue') failures.push(`${r.status} ${r.body}`)
      } catch (e) { failures.push(String(e)) }
      sent++
    }
  })
  const stop = async (): Promise<void> => { running = false; await Promise.all(loops) }
  t.teardown(stop)
  const more = async (n: number, what: string): Promise<void> => { const target = sent + n; await until(what, () => sent >= target, { detail: () => `${sent} sent` }) }
  await more(20, 'steady traffic on both instances')
  for (let i = 0; i < 3; i++) {
    const [old, fresh] = [olds[i] as Upstream, news[i] as Upstream]
    const [writer, other] = i % 2 === 0 ? [a, b] : [b, a]
    t.equal((await adminCall(writer.adminUrl, 'POST', '/targets/blue?wait=10000', { url: fresh.url, reason: `new ${i + 1}` })).status, 201, `new ${i + 1} added through ${writer === a ? 'A' : 'B'}, applied by both`)
    const gone = await adminCall(other.adminUrl, 'DELETE', `/targets/blue/${encodeURIComponent(old.url)}?wait=20000`, { reason: `old ${i + 1} out` })
    t.equal(gone.status, 200, `old ${i + 1} removed through the other instance, drained on both`)
    t.match((gone.json as { target: unknown }).target, { drained: true, inFlightAll: 0, pending: [] })
    const seen = old.seen.length
    await more(20, `20 more requests after old ${i + 1} left`)
    t.equal(old.seen.length, seen, `old ${i + 1} gets nothing more from either instance`)
    await old.close()
  }
  await more(20, 'traffic on the new pool')
  await stop()
  t.equal(failures.length, 0, `0 failed requests out of ${sent}: ${failures.slice(0, 3).join('; ')}`)
  t.ok(news.every((n) => n.seen.length > 0), 'every new address took traffic')
  for (const sy of [a, b]) await until('both instances to list only the three new addresses', async () => JSON.stringify((await targetsOf(sy.adminUrl)).filter((x) => x.color === 'blue').map((x) => x.url)) === JSON.stringify(news.map((n) => n.url)))
})

t.test('while an instance of a release without target pools is live, pool writes answer 409 SWY_ERR_FLEET_MIXED unless forced', async (t) => {
  const redis = await startRedis(t)
  const dir = t.testdir()
  const blue = await startUpstream(t, 'blue')
  const green = await startUpstream(t, 'green')
  const added = await startUpstream(t, 'blue')
  const a = await startTestSwitchyard(t, testConfig([blue, green], redisStore(redis.url, dir, 'a')))
  const config = validateConfig({ colors: { blue: { targets: [blue.url] } }, store: { kind: 'redis', url: redis.url, lastKnownPath: join(dir, 'old-lk.json') } }, {}).config.store as RedisStoreConfig
  const old = new RedisStore(config)
  t.teardown(() => old.close())
  await old.connect()
  // What the previous release heartbeats: no in-flight counts.
  await old.heartbeat({ id: 'old-release', appliedVersion: a.switchboard.state.version, appliedAt: Date.now(), at: Date.now() }, 600_000)
  const before = a.switchboard.state.version

  const refused = await adminCall(a.adminUrl, 'POST', '/targets/blue', { url: added.url, id: 'blue-new', reason: 'scale out' })
  t.equal(refused.status, 409, refused.body)
  t.match(refused.json, { error: 'SWY_ERR_FLEET_MIXED', message: /old-release/ })
  t.equal(a.switchboard.state.version, before, 'nothing was written')

  const env = { SWITCHYARD_ADMIN_URL: a.adminUrl }
  const cliRefused = await runCli(t, ['targets', 'add', 'blue', added.url, '--id', 'blue-new', '--reason', 'scale out'], env)
  t.equal(cliRefused.code, 1, 'the CLI exits 1 on the refusal')
  t.match(cliRefused.stderr, /SWY_ERR_FLEET_MIXED/)
  const forced = await runCli(t, ['targets', 'add', 'blue', added.url, '--id', 'blue-new', '--reason', 'scale out', '--force'], env)
  t.equal(forced.code, 0, `switchyard targets add --force writes anyway: ${forced.stderr}`)
  const refusedRemove = await adminCall(a.adminUrl, 'DELETE', `/targets/blue/${encodeURIComponent(blue.url)}?force=false`, { reason: 'old one out' })
  t.equal(refusedRemove.status, 409)
  t.match(refusedRemove.json, { error: 'SWY_ERR_FLEET_MIXED' })
  t.equal(a.switchboard.state.version, before + 1, 'only the forced write was written')
  // The older instance stops (its last heartbeat expires at once).
  await old.heartbeat({ id: 'old-release', appliedVersion: a.switchboard.state.version, appliedAt: Date.now(), at: Date.now() }, 1)
  await until('the older instance to leave GET /instances', async () => !JSON.stringify((await adminCall(a.adminUrl, 'GET', '/instances')).json).includes('old-release'))
  const removed = await adminCall(a.adminUrl, 'DELETE', '/targets/blue/blue-new', { reason: 'back' })
  t.equal(removed.status, 200, `once the older instance is gone, no force is needed: ${removed.body}`)
})
