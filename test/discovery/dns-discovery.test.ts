/**
 * DNS discovery end to end: a real switchyard whose blue color is the A records of a name
 * served by the test's own DNS server, and real upstreams on 127.0.0.2, .3 and .4, one port
 * (Linux routes all of 127.0.0.0/8 to loopback): what a DNS answer names is what takes traffic.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import type { Running } from '../../src/app.js'
import { startDnsServer, type TestDns } from '../helpers/dns-server.js'
import { gate } from '../helpers/harness.js'
import { familiesWithPrefix, promtool } from '../helpers/prometheus.js'
import { trafficLoop } from '../helpers/rollouts.js'
import { adminCall, send, startTestSwitchyard, startUpstream, testConfig, until, type Upstream, type UpstreamOptions } from '../helpers/services.js'

const HOSTS = ['127.0.0.2', '127.0.0.3', '127.0.0.4'] as const

/** Upstreams answering their own address, one on each of `hosts`, all on one port (retried if another process holds it on one of them). */
async function upstreamsOnOnePort (t: Test, opts: ReadonlyArray<UpstreamOptions> = []): Promise<Upstream[]> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const first = await startUpstream(t, HOSTS[0], { ...opts[0], host: HOSTS[0] })
    const all = [first]
    try {
      for (let i = 1; i < HOSTS.length; i++) all.push(await startUpstream(t, HOSTS[i] as string, { ...opts[i], host: HOSTS[i] as string, port: first.port }))
      return all
    } catch {
      for (const u of all) await u.close()
    }
  }
  throw new Error(`no port free on all of ${HOSTS.join(', ')}`)
}

interface TargetJson { readonly color: string, readonly id: string, readonly url: string, readonly source: string, readonly mode: string, readonly inFlight: number }

async function targets (sy: Running): Promise<TargetJson[]> {
  return ((await adminCall(sy.adminUrl, 'GET', '/targets')).json as { targets: TargetJson[] }).targets
}

/** The blue targets as `id source mode` lines, sorted. */
async function ids (sy: Running): Promise<string[]> {
  return (await targets(sy)).filter((x) => x.color === 'blue').map((x) => `${x.id} ${x.source} ${x.mode}`).sort()
}

async function discoveryErrors (sy: Running): Promise<number> {
  const m = /^switchyard_discovery_errors_total\{color="blue"\} (\d+)$/m.exec((await send(`${sy.adminUrl}/metrics`)).body)
  return m === null ? -1 : Number(m[1])
}

async function start (t: Test, dns: TestDns, port: number, extra: Record<string, unknown> = {}, blue: Record<string, unknown> = {}, others: Record<string, unknown> = {}): Promise<Running> {
  return await startTestSwitchyard(t, testConfig([], {
    colors: { blue: { discovery: { dns: 'blue.test', port, intervalMs: 100, timeoutMs: 100, resolver: dns.resolver }, ...blue }, ...others },
    ...extra
  }))
}

const idOf = (u: Upstream): string => `blue-dns-${u.color}:${u.port}`

t.test('the DNS answer goes from {A, B} to {B, C} under 4 client loops: C takes traffic, A drains and leaves, 0 failed; a DNS server that fails keeps the pool and is counted; nothing discovered is stored', async (t) => {
  const [a, b, c] = await upstreamsOnOnePort(t) as [Upstream, Upstream, Upstream]
  const dns = await startDnsServer(t, { 'blue.test': { a: [a.color, b.color] } })
  const stateFile = join(t.testdir({}), 'state.json')
  const green = await startUpstream(t, 'green')
  const sy = await start(t, dns, a.port, { store: { kind: 'file', path: stateFile } }, {}, { green: { targets: [green.url] } })
  t.same(await ids(sy), [`${idOf(a)} dns enabled`, `${idOf(b)} dns enabled`], 'the first answer is the pool once switchyard has started')
  t.equal((await targets(sy)).find((x) => x.id === idOf(a))?.url, `http://${a.color}:${a.port}`)

  const loop = trafficLoop(t, sy.proxyUrl, 4)
  await until('A and B to take traffic', () => a.seen.length > 0 && b.seen.length > 0)
  dns.zone.set('blue.test', { a: [b.color, c.color] })
  await until('C to take traffic', () => c.seen.length > 0)
  await until('A to leave GET /targets', async () => !(await ids(sy)).some((l) => l.startsWith(idOf(a))), { detail: () => `${a.seen.length} requests on A` })
  t.same(await ids(sy), [`${idOf(b)} dns enabled`, `${idOf(c)} dns enabled`])
  const onA = a.seen.length
  const sent = loop.sent()
  await until('40 more requests', () => loop.sent() >= sent + 40)
  t.equal(a.seen.length, onA, 'A gets no request once it left')

  const pool = await ids(sy)
  for (const behaviour of ['silent', 'servfail', 'empty'] as const) {
    const before = await discoveryErrors(sy)
    dns.behaviour = behaviour
    await until(`the error counter to rise twice with the DNS server ${behaviour}`, async () => await discoveryErrors(sy) >= before + 2)
    t.same(await ids(sy), pool, `DNS ${behaviour}: the pool stays`)
  }
  const onC = c.seen.length
  await until('C to go on taking traffic while DNS fails', () => c.seen.length > onC)
  await loop.stop()
  t.same(loop.failures(), [], `0 failed requests out of ${loop.sent()}`)

  // A write while discovered targets are in the pool: the stored state still names none.
  t.equal((await adminCall(sy.adminUrl, 'PUT', '/weights', { weights: { blue: 90, green: 10 }, reason: 'a write after discovery' })).status, 200)
  const stored = readFileSync(stateFile, 'utf8')
  t.match(stored, /a write after discovery/, 'the store holds the write')
  t.notMatch(stored, /127\.0\.0\.[234]|-dns-/, 'no discovered target is in the store')
  t.notMatch((await adminCall(sy.adminUrl, 'GET', '/state')).body, /127\.0\.0\.[234]|-dns-/, 'nor in GET /state')

  const scrape = (await send(`${sy.adminUrl}/metrics`)).body
  t.match(scrape, /^# TYPE switchyard_discovery_errors_total counter$/m)
  const lint = await promtool(['check', 'metrics'], { stdin: familiesWithPrefix(scrape, 'switchyard_') })
  t.equal(lint.stdout + lint.stderr, '', 'promtool check metrics reports nothing')
  t.equal(lint.code, 0)
})

t.test('a request in flight on a target that leaves DNS finishes; the target shows draining until then', async (t) => {
  const held = gate()
  t.teardown(held.open) // a failed assertion must not leave the request held
  const [a, b, c] = await upstreamsOnOnePort(t, [{ holdUntil: held.opened }]) as [Upstream, Upstream, Upstream]
  const dns = await startDnsServer(t, { 'blue.test': { a: [a.color, b.color] } })
  const sy = await start(t, dns, a.port)
  const answers: Array<Promise<{ status: number, body: string }>> = []
  await until('a request held on A', async () => {
    const reached = a.seen.length + b.seen.length
    answers.push(send(`${sy.proxyUrl}/`))
    await until('the request to reach an upstream', () => a.seen.length + b.seen.length > reached)
    return a.seen.length === 1
  })
  dns.zone.set('blue.test', { a: [b.color, c.color] })
  await until('A to show draining with its request in flight', async () => (await targets(sy)).some((x) => x.id === idOf(a) && x.mode === 'draining' && x.inFlight === 1))
  t.ok((await ids(sy)).includes(`${idOf(c)} dns enabled`), 'C joined')
  held.open()
  const done = await Promise.all(answers)
  t.same(done.filter((r) => r.status !== 200), [], 'every request answered 200, the one held on A too')
  t.ok(done.some((r) => r.body === a.color), 'A answered its request')
  await until('A to leave once idle', async () => !(await ids(sy)).some((l) => l.startsWith(idOf(a))))
})

t.test('an operator drains a discovered target by id; it stays drained when DNS drops it and names it again', async (t) => {
  const [a, b] = await upstreamsOnOnePort(t) as [Upstream, Upstream, Upstream]
  const dns = await startDnsServer(t, { 'blue.test': { a: [a.color, b.color] } })
  const sy = await start(t, dns, a.port)
  const drain = await adminCall(sy.adminUrl, 'POST', `/targets/blue/${encodeURIComponent(idOf(b))}/drain`, { reason: 'bad instance' })
  t.equal(drain.status, 200, `drained by id: ${drain.status === 200 ? 'ok' : drain.body}`)
  const onB = b.seen.length
  for (let i = 0; i < 20; i++) t.equal((await send(`${sy.proxyUrl}/`)).body, a.color)
  t.equal(b.seen.length, onB, 'B drained: no new request')
  dns.zone.set('blue.test', { a: [a.color] })
  await until('B to leave', async () => (await ids(sy)).length === 1)
  dns.zone.set('blue.test', { a: [a.color, b.color] })
  await until('B to come back', async () => (await ids(sy)).length === 2)
  t.same(await ids(sy), [`${idOf(a)} dns enabled`, `${idOf(b)} dns draining`], 'back, and still drained (the routing state names it by id)')
  for (let i = 0; i < 20; i++) t.equal((await send(`${sy.proxyUrl}/`)).body, a.color)
  t.equal(b.seen.length, onB)
  t.equal((await adminCall(sy.adminUrl, 'POST', `/targets/blue/${encodeURIComponent(idOf(b))}/enable`, { reason: 'fixed' })).status, 200)
  await until('B to take traffic again', async () => { await send(`${sy.proxyUrl}/`); return b.seen.length > onB })
})

t.test('a color with config targets and discovery uses both', async (t) => {
  const [a] = await upstreamsOnOnePort(t) as [Upstream, Upstream, Upstream]
  const configured = await startUpstream(t, 'configured')
  const dns = await startDnsServer(t, { 'blue.test': { a: [a.color] } })
  const sy = await start(t, dns, a.port, {}, { targets: [configured.url] })
  t.same(await ids(sy), [`127.0.0.1:${configured.port} config enabled`, `${idOf(a)} dns enabled`])
  await until('both to take traffic', async () => { await send(`${sy.proxyUrl}/`); return a.seen.length > 0 && configured.seen.length > 0 })
})

t.test('an AAAA record: the target\'s URL has the address in brackets, and it takes traffic', async (t) => {
  const v6 = await startUpstream(t, 'v6', { host: '::1' })
  const dns = await startDnsServer(t, { 'blue.test': { aaaa: ['::1'] } })
  const sy = await start(t, dns, v6.port)
  const found = (await targets(sy)).filter((x) => x.color === 'blue')
  t.same(found.map((x) => [x.id, x.url, x.source]), [[`blue-dns-[::1]:${v6.port}`, `http://[::1]:${v6.port}`, 'dns']])
  const r = await send(`${sy.proxyUrl}/`)
  t.equal(r.status, 200)
  t.equal(r.body, 'v6', 'the IPv6 upstream answered')
})

t.test('a reload that points discovery at another name: the new answer takes over, the old targets drain and leave', async (t) => {
  const [a, b] = await upstreamsOnOnePort(t) as [Upstream, Upstream, Upstream]
  const dns = await startDnsServer(t, { 'old.test': { a: [a.color] }, 'new.test': { a: [b.color] } })
  const green = await startUpstream(t, 'green')
  const configFor = (name: string): ReturnType<typeof testConfig> => testConfig([], {
    colors: { blue: { discovery: { dns: name, port: a.port, intervalMs: 100, timeoutMs: 100, resolver: dns.resolver } }, green: { targets: [green.url] } }
  })
  let next = configFor('old.test')
  const sy = await startTestSwitchyard(t, next, { reloadFrom: async () => next })
  t.same(await ids(sy), [`${idOf(a)} dns enabled`])
  next = configFor('new.test')
  const answer = await adminCall(sy.adminUrl, 'POST', '/reload', { reason: 'move discovery' })
  t.equal(answer.status, 200, answer.body)
  t.same((answer.json as { changed: string[] }).changed, ['colors.blue.discovery.dns'])
  let pool: string[] = []
  await until('the reloaded name to be the pool', async () => { pool = await ids(sy); return pool.join() === `${idOf(b)} dns enabled` }, { detail: () => pool.join(', ') })
  const r = await send(`${sy.proxyUrl}/`)
  t.equal(r.status, 200)
  t.equal(b.seen.length > 0, true, 'the new target serves')
})
