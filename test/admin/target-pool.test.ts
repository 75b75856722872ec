import t from 'tap'
import { pino } from 'pino'
import { gate, until } from '../helpers/harness.js'
import { adminCall, send, startTestSwitchyard, startUpstream, testConfig, type Answer, type Upstream } from '../helpers/services.js'

interface StateJson { version: number, pool?: Readonly<Record<string, ReadonlyArray<{ id: string, url: string }>>> | undefined, weights: Record<string, number> }
interface TargetJson { color: string, id: string, url: string, mode: string, source: string, inFlight: number }
interface HistoryJson { version: number, kind: string, changedBy: string, reason: string, before: { pool?: StateJson['pool'] } | null, after: { pool?: StateJson['pool'] } }

const code = (a: Answer): string => (a.json as { error?: string }).error ?? `(${a.status})`
const ids = (s: StateJson, color: string): string[] => (s.pool?.[color] ?? []).map((x) => x.id)

async function targetsOf (adminUrl: string): Promise<TargetJson[]> {
  return ((await adminCall(adminUrl, 'GET', '/targets')).json as { targets: TargetJson[] }).targets
}

/**
 * Four client loops sending as new clients; every answer must be a 200 from blue. Counts
 * what each loop saw (the test waits on these counts, never on time).
 */
function blueLoad (proxyUrl: string): { sent: () => number, failures: string[], stop: () => Promise<void> } {
  let running = true
  let sent = 0
  const failures: string[] = []
  const loops = Array.from({ length: 4 }, async () => {
    while (running) {
      try {
        const r = await send(proxyUrl + '/')
        if (r.status !== 200 || r.body !== 'blue') failures.push(`${r.status} ${r.body}`)
      } catch (e) { failures.push(String(e)) }
      sent++
    }
  })
  return { sent: () => sent, failures, stop: async () => { running = false; await Promise.all(loops) } }
}

t.test('rolling upgrade onto three new addresses under 4 client loops: add new, remove old (drained), one by one, 0 failed requests, every step in the history', async (t) => {
  const olds: Upstream[] = [await startUpstream(t, 'blue'), await startUpstream(t, 'blue'), await startUpstream(t, 'blue')]
  const news: Upstream[] = [await startUpstream(t, 'blue'), await startUpstream(t, 'blue'), await startUpstream(t, 'blue')]
  const green = await startUpstream(t, 'green')
  const sy = await startTestSwitchyard(t, testConfig([...olds, green]))
  const load = blueLoad(sy.proxyUrl)
  t.teardown(load.stop)
  const more = async (n: number, what: string): Promise<void> => {
    const target = load.sent() + n
    await until(what, () => load.sent() >= target, { detail: () => `${load.sent()} sent` })
  }
  await more(20, 'steady traffic to start')
  const start = ((await adminCall(sy.adminUrl, 'GET', '/state')).json as StateJson).version
  for (let i = 0; i < 3; i++) {
    const old = olds[i] as Upstream
    const fresh = news[i] as Upstream
    const added = await adminCall(sy.adminUrl, 'POST', '/targets/blue?wait=5000', { url: fresh.url, reason: `upgrade: new instance ${i + 1}` })
    t.equal(added.status, 201, `new ${i + 1} added`)
    const id = `blue-127.0.0.1:${fresh.port}`
    t.same((added.json as { target: unknown }).target, { color: 'blue', id, url: fresh.url, mode: 'enabled' }, 'the default id is color and host:port')
    await until(`new ${i + 1} to take traffic`, () => fresh.seen.length > 0)
    const removed = await adminCall(sy.adminUrl, 'DELETE', `/targets/blue/${encodeURIComponent(`127.0.0.1:${old.port}`)}?wait=10000&reason=${encodeURIComponent(`upgrade: old instance ${i + 1} out`)}`)
    t.equal(removed.status, 200, `old ${i + 1} removed and drained`)
    t.match((removed.json as { target: unknown }).target, { color: 'blue', id: `127.0.0.1:${old.port}`, removed: true, inFlight: 0, drained: true })
    // Drained: it leaves at the pool's next sweep (every 25 ms while a target is retiring).
    await until(`old ${i + 1} to leave GET /targets`, async () => !(await targetsOf(sy.adminUrl)).some((x) => x.id === `127.0.0.1:${old.port}`))
    const before = old.seen.length
    await more(20, `20 more requests after old ${i + 1} left`)
    t.equal(old.seen.length, before, `old ${i + 1} gets no request after its removal`)
    await old.close()
  }
  await more(20, 'traffic on the new pool')
  await load.stop()
  t.equal(load.failures.length, 0, `0 failed requests out of ${load.sent()}: ${load.failures.slice(0, 3).join('; ')}`)
  const targets = await targetsOf(sy.adminUrl)
  t.same(targets.filter((x) => x.color === 'blue').map((x) => [x.id, x.url, x.source]), news.map((n) => [`blue-127.0.0.1:${n.port}`, n.url, 'api']), 'blue is the three new addresses, from the API')
  const state = (await adminCall(sy.adminUrl, 'GET', '/state')).json as StateJson
  t.equal(state.version, start + 6, 'six versioned writes')
  t.same(ids(state, 'blue'), news.map((n) => `blue-127.0.0.1:${n.port}`))
  const history = ((await adminCall(sy.adminUrl, 'GET', '/history?limit=6')).json as { entries: HistoryJson[] }).entries.reverse()
  t.same(history.map((e) => [e.kind, e.reason]), [0, 1, 2].flatMap((i) => [['target', `upgrade: new instance ${i + 1}`], ['target', `upgrade: old instance ${i + 1} out`]]), 'every step is in the history, in order')
  t.same(history.map((e) => ids({ version: 0, weights: {}, ...e.after }, 'blue').length), [4, 3, 4, 3, 4, 3], 'each entry records the pool after it')
})

t.test('DELETE ?wait waits for the requests in flight to the removed target, which finish normally', async (t) => {
  const held = gate()
  t.teardown(held.open)
  const slow = await startUpstream(t, 'blue', { holdUntil: held.opened })
  const other = await startUpstream(t, 'blue')
  const green = await startUpstream(t, 'green')
  const sy = await startTestSwitchyard(t, testConfig([slow, other, green]))
  const pending = send(sy.proxyUrl + '/')
  await until('a request held at the slow target', () => slow.seen.length === 1, { detail: () => `slow ${slow.seen.length}, other ${other.seen.length}` })
  const id = encodeURIComponent(`127.0.0.1:${slow.port}`)
  const short = await adminCall(sy.adminUrl, 'DELETE', `/targets/blue/${id}?wait=50`)
  t.equal(short.status, 202, 'removed, but a request is still in flight when the wait ends')
  t.match((short.json as { target: unknown }).target, { removed: true, inFlight: 1, drained: false })
  t.same((await targetsOf(sy.adminUrl)).filter((x) => x.color === 'blue').map((x) => [x.id, x.mode]), [[`127.0.0.1:${slow.port}`, 'draining'], [`127.0.0.1:${other.port}`, 'enabled']], 'still listed, draining, while its request is in flight')
  for (let i = 0; i < 5; i++) t.equal((await send(sy.proxyUrl + '/')).body, 'blue')
  t.equal(slow.seen.length, 1, 'no new request goes to it')
  held.open()
  t.equal((await pending).body, 'blue', 'the request in flight finished normally')
  await until('the removed target to leave once idle', async () => !(await targetsOf(sy.adminUrl)).some((x) => x.id === `127.0.0.1:${slow.port}`))
})

t.test('writes: If-Match, validation, conflicts, unknown color and target, last usable target and force', async (t) => {
  const b1 = await startUpstream(t, 'blue')
  const b2 = await startUpstream(t, 'blue')
  const g = await startUpstream(t, 'green')
  const spare = await startUpstream(t, 'green')
  const sy = await startTestSwitchyard(t, testConfig([b1, b2, g]))
  const v = ((await adminCall(sy.adminUrl, 'GET', '/state')).json as StateJson).version

  const stale = await adminCall(sy.adminUrl, 'POST', '/targets/green', { url: spare.url, reason: 'r' }, { 'if-match': `"${v + 7}"` })
  t.equal(stale.status, 412)
  t.equal(code(stale), 'SWY_ERR_STATE_VERSION_CONFLICT')
  const ok = await adminCall(sy.adminUrl, 'POST', '/targets/green', { url: spare.url, id: 'green-spare', mode: 'disabled', reason: 'standby' }, { 'if-match': `"${v}"` })
  t.equal(ok.status, 201, 'If-Match of the current version')
  t.equal(ok.headers.etag, `"${v + 1}"`)
  t.same((await targetsOf(sy.adminUrl)).find((x) => x.id === 'green-spare'), { ...(await targetsOf(sy.adminUrl)).find((x) => x.id === 'green-spare'), mode: 'disabled', source: 'api' }, 'added disabled')
  const staleDelete = await adminCall(sy.adminUrl, 'DELETE', '/targets/green/green-spare', undefined, { 'if-match': `"${v}"` })
  t.equal(staleDelete.status, 412, 'DELETE honours If-Match too')

  const sameId = await adminCall(sy.adminUrl, 'POST', '/targets/green', { url: 'http://127.0.0.1:1', id: 'green-spare', reason: 'r' })
  t.equal(sameId.status, 409)
  t.equal(code(sameId), 'SWY_ERR_TARGET_EXISTS')
  t.match((sameId.json as { message: string }).message, /green-spare/)
  const sameOrigin = await adminCall(sy.adminUrl, 'POST', '/targets/blue', { url: `${b1.url}/`, reason: 'r' })
  t.equal(code(sameOrigin), 'SWY_ERR_TARGET_EXISTS', 'the same origin, however spelled')
  for (const url of ['ftp://127.0.0.1:21', 'http://127.0.0.1:1/app', 'http://127.0.0.1:1?x=1', 'http://user:pw@127.0.0.1:1', 'nope']) {
    const bad = await adminCall(sy.adminUrl, 'POST', '/targets/blue', { url, reason: 'r' })
    t.equal(bad.status, 400, url)
    t.equal(code(bad), 'SWY_ERR_TARGET_INVALID_URL', url)
    t.notMatch(bad.body, /pw/, 'credentials are not echoed')
  }
  const noColor = await adminCall(sy.adminUrl, 'POST', '/targets/red', { url: spare.url, reason: 'r' })
  t.equal(noColor.status, 404)
  t.equal(code(noColor), 'SWY_ERR_COLOR_NOT_FOUND')
  t.equal(code(await adminCall(sy.adminUrl, 'DELETE', '/targets/red/x')), 'SWY_ERR_COLOR_NOT_FOUND')
  const noTarget = await adminCall(sy.adminUrl, 'DELETE', '/targets/blue/nope')
  t.equal(noTarget.status, 404)
  t.equal(code(noTarget), 'SWY_ERR_UNKNOWN_TARGET')

  const schema = await adminCall(sy.adminUrl, 'POST', '/targets/blue', { url: 5, id: 'has space', mode: 'sideways', extra: true })
  t.equal(schema.status, 400)
  t.equal(code(schema), 'SWY_ERR_ADMIN_INVALID_BODY')
  for (const word of ['url', 'id', 'mode', 'reason', 'extra']) t.match((schema.json as { message: string }).message, word, `the schema error names ${word}`)
  const badQuery = await adminCall(sy.adminUrl, 'DELETE', '/targets/blue/x?force=yes&wait=-1')
  t.equal(code(badQuery), 'SWY_ERR_ADMIN_INVALID_QUERY')
  t.match((badQuery.json as { message: string }).message, /force/)
  t.match((badQuery.json as { message: string }).message, /wait/)

  // Blue has all the traffic: removing its targets stops at the last usable one.
  t.equal((await adminCall(sy.adminUrl, 'DELETE', `/targets/blue/127.0.0.1:${b1.port}`)).status, 200, 'one of two goes')
  const last = await adminCall(sy.adminUrl, 'DELETE', `/targets/blue/127.0.0.1:${b2.port}`)
  t.equal(last.status, 409)
  t.equal(code(last), 'SWY_ERR_TARGET_LAST_USABLE')
  t.match((last.json as { message: string }).message, /last usable target of "blue".*100 %.*force/)
  t.equal((await send(sy.proxyUrl + '/')).body, 'blue', 'still served')
  // Green has no traffic: its last target may go (and come back).
  t.equal((await adminCall(sy.adminUrl, 'DELETE', `/targets/green/127.0.0.1:${g.port}`)).status, 200, 'the last target of a color without traffic may go')
  const forced = await adminCall(sy.adminUrl, 'DELETE', `/targets/blue/127.0.0.1:${b2.port}?force=true`, { reason: 'decommission' })
  t.equal(forced.status, 200, 'force (query) removes the last one')
  const gone = await send(sy.proxyUrl + '/')
  t.equal(gone.status, 503, 'blue has no target left: 503')
  t.equal((await adminCall(sy.adminUrl, 'POST', '/targets/blue', { url: b2.url, reason: 'back' })).status, 201)
  await until('blue served again', async () => (await send(sy.proxyUrl + '/')).body === 'blue')
  const forcedBody = await adminCall(sy.adminUrl, 'DELETE', `/targets/blue/blue-127.0.0.1:${b2.port}`, { force: true, reason: 'body force' })
  t.equal(forcedBody.status, 200, 'force in the body too')
  const hist = ((await adminCall(sy.adminUrl, 'GET', '/history?limit=1')).json as { entries: HistoryJson[] }).entries[0]
  t.equal(hist?.reason, 'body force', 'the DELETE body\'s reason is recorded')
})

t.test('a rollback does not touch the pool; the audit line names the target', async (t) => {
  const b = await startUpstream(t, 'blue')
  const g = await startUpstream(t, 'green')
  const g2 = await startUpstream(t, 'green')
  const lines: string[] = []
  const logger = pino<string>({ level: 'info' }, { write (chunk: string) { lines.push(...chunk.split('\n').filter((l) => l !== '')) } })
  const sy = await startTestSwitchyard(t, testConfig([b, g]), { logger })
  t.equal((await adminCall(sy.adminUrl, 'PUT', '/weights', { weights: { blue: 50, green: 50 }, reason: 'canary' })).status, 200)
  const add = await adminCall(sy.adminUrl, 'POST', '/targets/green', { url: g2.url, reason: 'more green' })
  t.equal(add.status, 201)
  const back = await adminCall(sy.adminUrl, 'POST', '/rollback', { reason: 'undo the canary' })
  t.equal(back.status, 200)
  const state = back.json as StateJson
  t.same(state.weights, { blue: 100, green: 0 }, 'the canary is rolled back')
  t.same(ids(state, 'green'), [`127.0.0.1:${g.port}`, `green-127.0.0.1:${g2.port}`], 'the added target stays')
  t.ok((await targetsOf(sy.adminUrl)).some((x) => x.id === `green-127.0.0.1:${g2.port}`), 'and stays in the data path')
  const audit = lines.map((l) => JSON.parse(l) as { msg: string, audit?: { pool?: unknown } }).find((l) => l.audit?.pool !== undefined)
  t.match(audit?.msg, `green target green-127.0.0.1:${g2.port} (${g2.url}) added`)
  t.same(audit?.audit?.pool, [{ color: 'green', id: `green-127.0.0.1:${g2.port}`, url: g2.url, change: 'added' }])
})
