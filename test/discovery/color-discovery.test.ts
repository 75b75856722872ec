/**
 * Discovery against a real DNS server (test/helpers/dns-server.ts) and real pools. Rounds
 * are driven by a manual clock: the test fires the scheduled resolution and waits for its
 * report, so what a round did is asserted, never how long it took.
 */
import { Registry } from 'prom-client'
import t, { type Test } from 'tap'
import type { DiscoveryConfig } from '../../src/config/config-types.js'
import { LOG_EVERY_MS, type RoundReport } from '../../src/discovery/color-discovery.js'
import { Discovery, type ColorsConfig } from '../../src/discovery/discovery.js'
import { DnsQuery } from '../../src/discovery/dns-query.js'
import type { OutlierPolicy } from '../../src/health/outlier.js'
import { TargetPools, type PoolClock, type Target } from '../../src/proxy/target-pool.js'
import type { TargetMode } from '../../src/routing/routing-state.js'
import { startDnsServer, type TestDns, type ZoneEntry } from '../helpers/dns-server.js'
import { until } from '../helpers/harness.js'

const policy: OutlierPolicy = { enabled: true, consecutiveFailures: 3, baseEjectionMs: 1000, maxEjectionMs: 8000 }

/** Timers that fire only when the test says, and a settable now (for the log rate limit). */
class ManualClock implements PoolClock {
  nowMs = 1_000_000
  readonly #pending = new Set<{ fn: () => void, ms: number }>()
  /** Every delay a resolution was scheduled with, in order. */
  readonly delays: number[] = []
  now (): number { return this.nowMs }
  setTimeout (fn: () => void, ms: number): { unref (): unknown } {
    const entry = { fn, ms, unref: () => entry }
    this.#pending.add(entry)
    this.delays.push(ms)
    return entry
  }

  clearTimeout (timer: unknown): void { this.#pending.delete(timer as { fn: () => void, ms: number }) }
  get pending (): number { return this.#pending.size }
  /** Runs every pending timer once. */
  fire (): void {
    const due = [...this.#pending]
    this.#pending.clear()
    for (const e of due) e.fn()
  }
}

interface LogLine { readonly level: string, readonly msg: string, readonly obj: Record<string, unknown> }

interface Rig {
  readonly dns: TestDns
  readonly pools: TargetPools
  readonly clock: ManualClock
  readonly discovery: Discovery
  readonly logs: LogLine[]
  readonly modes: Map<string, TargetMode>
  /** Fires the scheduled resolution and resolves with its report. */
  round (): Promise<RoundReport>
  /** The blue targets as `id source mode` lines, sorted. */
  blue (): string[]
  byId (id: string): Target
  errors (): Promise<number>
  settings (over?: Partial<DiscoveryConfig>): DiscoveryConfig
}

async function rig (t: Test, zone: Record<string, ZoneEntry>, opts: { config?: string[], discovery?: Partial<DiscoveryConfig> } = {}): Promise<Rig> {
  const dns = await startDnsServer(t, zone)
  const pools = new TargetPools(['blue', 'green'], [(opts.config ?? []).map((url, i) => ({ id: `b${i + 1}`, url })), []], policy)
  t.teardown(() => { pools.close() })
  const clock = new ManualClock()
  const registry = new Registry()
  const logs: LogLine[] = []
  const modes = new Map<string, TargetMode>()
  const reports: RoundReport[] = []
  const log = (level: string) => (obj: object, msg: string) => { logs.push({ level, msg, obj: obj as Record<string, unknown> }) }
  const discovery = new Discovery({
    colors: ['blue', 'green'],
    pools,
    registry,
    modeOf: (_color, id) => modes.get(id) ?? 'enabled',
    log: { info: log('info'), warn: log('warn'), error: log('error') },
    clock,
    onRound: (r) => { reports.push(r) }
  })
  t.teardown(() => { discovery.stop() })
  const settings = (over: Partial<DiscoveryConfig> = {}): DiscoveryConfig => ({ dns: 'blue.test', port: 3000, scheme: 'http', intervalMs: 5000, timeoutMs: 100, resolver: dns.resolver, ...opts.discovery, ...over })
  await discovery.start({ blue: { discovery: settings() } })
  return {
    dns,
    pools,
    clock,
    discovery,
    logs,
    modes,
    async round () {
      const seen = reports.length
      t.equal(clock.pending, 1, 'one resolution is scheduled')
      clock.fire()
      await until('the resolution to end', () => reports.length > seen)
      return reports[reports.length - 1] as RoundReport
    },
    blue: () => (pools.byColor[0] ?? []).map((x) => `${x.id} ${x.source} ${x.retiring ? 'draining' : x.mode}`).sort(),
    byId (id) {
      const found = pools.byColor.flat().find((x) => x.id === id)
      if (found === undefined) throw new Error(`no target ${id}`)
      return found
    },
    async errors () {
      const m = await registry.getSingleMetric('switchyard_discovery_errors_total')?.get()
      return m?.values.find((v) => v.labels.color === 'blue')?.value ?? -1
    },
    settings
  }
}

t.test('DnsQuery reads the real server: records with TTLs, none, and the failures', async (t) => {
  const dns = await startDnsServer(t, { 'both.test': { a: ['10.0.0.1', '10.0.0.2'], aaaa: ['fd00::5'], ttl: 7 }, 'v4.test': { a: ['10.0.0.1'], ttl: 0 } })
  const q = new DnsQuery(dns.resolver, 100)
  t.teardown(() => { q.cancel() })
  t.same(await q.resolve('both.test'), [{ kind: 'records', addresses: ['10.0.0.1', '10.0.0.2'], ttlSeconds: 7 }, { kind: 'records', addresses: ['fd00::5'], ttlSeconds: 7 }])
  t.same(await q.resolve('v4.test'), [{ kind: 'records', addresses: ['10.0.0.1'], ttlSeconds: 0 }, { kind: 'none' }], 'no AAAA record is "none"')
  t.same(await q.resolve('missing.test'), [{ kind: 'none' }, { kind: 'none' }], 'NXDOMAIN is "none"')
  dns.behaviour = 'empty'
  t.same(await q.resolve('both.test'), [{ kind: 'none' }, { kind: 'none' }])
  dns.behaviour = 'servfail'
  t.same(await q.resolve('both.test'), [{ kind: 'failed', reason: 'ESERVFAIL' }, { kind: 'failed', reason: 'ESERVFAIL' }])
  dns.behaviour = 'silent'
  t.same(await q.resolve('both.test'), [{ kind: 'failed', reason: 'ETIMEOUT' }, { kind: 'failed', reason: 'ETIMEOUT' }])
  t.same(dns.queries.slice(0, 2).map((x) => x.type).sort(), ['A', 'AAAA'], 'A and AAAA are both asked')
})

t.test('the first resolution fills the pool before start resolves: readable ids, IPv6 in brackets, source dns', async (t) => {
  const r = await rig(t, { 'blue.test': { a: ['10.0.0.2', '10.0.0.1'], aaaa: ['fd00::5'] } })
  t.same(r.blue(), ['blue-dns-10.0.0.1:3000 dns enabled', 'blue-dns-10.0.0.2:3000 dns enabled', 'blue-dns-[fd00::5]:3000 dns enabled'])
  t.equal(r.byId('blue-dns-[fd00::5]:3000').origin, 'http://[fd00::5]:3000')
  t.same(r.pools.byColor[1], [], 'a color without discovery is left alone')
  t.equal(await r.errors(), 0, 'the error series exists at 0 from the start')
})

t.test('{A, B} → {B, C}: C joins, A drains (no new request, leaves once idle), B is the same target', async (t) => {
  const r = await rig(t, { 'blue.test': { a: ['10.0.0.1', '10.0.0.2'] } })
  const a = r.byId('blue-dns-10.0.0.1:3000')
  const b = r.byId('blue-dns-10.0.0.2:3000')
  a.inFlight = 1 // a request still running on A
  r.dns.zone.set('blue.test', { a: ['10.0.0.2', '10.0.0.3'] })
  const report = await r.round()
  t.same(report.addresses, ['10.0.0.2', '10.0.0.3'])
  t.same(r.blue(), ['blue-dns-10.0.0.1:3000 dns draining', 'blue-dns-10.0.0.2:3000 dns enabled', 'blue-dns-10.0.0.3:3000 dns enabled'], 'A is draining while its request runs')
  t.equal(a.usable, false, 'A takes no new request')
  t.equal(r.byId('blue-dns-10.0.0.2:3000'), b, 'B was not replaced')
  a.inFlight = 0
  await until('A to leave the pool once idle', () => a.removed)
  t.same(r.blue(), ['blue-dns-10.0.0.2:3000 dns enabled', 'blue-dns-10.0.0.3:3000 dns enabled'])
})

t.test('fail static: SERVFAIL, no answer, an empty answer and NXDOMAIN keep the pool; each is counted; one log line a minute', async (t) => {
  const r = await rig(t, { 'blue.test': { a: ['10.0.0.1', '10.0.0.2'] } })
  const before = r.blue()
  const steps: Array<[string, () => void, RegExp]> = [
    ['SERVFAIL', () => { r.dns.behaviour = 'servfail' }, /A: ESERVFAIL; AAAA: ESERVFAIL/],
    ['no answer', () => { r.dns.behaviour = 'silent' }, /A: ETIMEOUT; AAAA: ETIMEOUT/],
    ['an empty answer', () => { r.dns.behaviour = 'empty' }, /no A or AAAA record/],
    ['NXDOMAIN', () => { r.dns.behaviour = 'answer'; r.dns.zone.delete('blue.test') }, /no A or AAAA record/]
  ]
  let n = 0
  for (const [what, make, reason] of steps) {
    make()
    const report = await r.round()
    n++
    t.equal(report.ok, false, `${what} is a failure`)
    t.match(report.reason, reason)
    t.equal(report.delayMs, 5000, 'a failure is retried after intervalMs')
    t.same(r.blue(), before, `${what}: the pool is kept`)
    t.equal(await r.errors(), n, `${what} is counted`)
  }
  const warns = (): LogLine[] => r.logs.filter((l) => l.msg.startsWith('dns discovery failed'))
  t.equal(warns().length, 1, 'four failures in a minute: one log line')
  t.match(warns()[0]?.obj, { color: 'blue', dns: 'blue.test', reason: 'A: ESERVFAIL; AAAA: ESERVFAIL', failuresInARow: 1, targets: 2 })
  r.clock.nowMs += LOG_EVERY_MS
  await r.round()
  t.equal(warns().length, 2, 'a minute later, the next failure is logged')
  t.match(warns()[1]?.obj, { failuresInARow: 5, notLogged: 3 }, 'saying how many were left out')
  r.dns.zone.set('blue.test', { a: ['10.0.0.2'] })
  const back = await r.round()
  t.equal(back.ok, true)
  t.same(r.blue(), ['blue-dns-10.0.0.2:3000 dns enabled'], 'the answer applies again (A, idle, leaves at once)')
  t.match(r.logs.find((l) => l.msg === 'dns discovery resolves again')?.obj, { failuresInARow: 5 }, 'the recovery is logged')
  t.equal(await r.errors(), 5, 'a success is not counted')
})

t.test('TTLs: resolved again when the shortest runs out, at least every intervalMs, never sooner than 1 s for a TTL', async (t) => {
  const r = await rig(t, { 'blue.test': { a: ['10.0.0.1'], aaaa: ['fd00::1'], ttl: 3 } }, { discovery: { intervalMs: 60000 } })
  t.same(r.clock.delays, [3000], 'TTL 3 s, intervalMs 60 s: in 3 s')
  r.dns.zone.set('blue.test', { a: ['10.0.0.1'], ttl: 0 })
  t.equal((await r.round()).delayMs, 1000, 'a TTL of 0 does not spin: in 1 s')
  r.dns.zone.set('blue.test', { a: ['10.0.0.1'], ttl: 86400 })
  t.equal((await r.round()).delayMs, 60000, 'a TTL of a day: intervalMs')
  t.same(r.clock.delays, [3000, 1000, 60000], 'the timers were set with those delays')
})

t.test('with the real clock, a TTL of 1 s brings the next query without waiting for intervalMs', async (t) => {
  const dns = await startDnsServer(t, { 'blue.test': { a: ['10.0.0.1'], ttl: 1 } })
  const pools = new TargetPools(['blue'], [[]], policy)
  const discovery = new Discovery({ colors: ['blue'], pools, registry: new Registry(), modeOf: () => 'enabled', log: { info () {}, warn () {}, error () {} } })
  t.teardown(() => { discovery.stop(); pools.close() })
  await discovery.start({ blue: { discovery: { dns: 'blue.test', port: 3000, scheme: 'http', intervalMs: 3600000, timeoutMs: 100, resolver: dns.resolver } } } as unknown as ColorsConfig)
  const first = dns.queries.length
  await until('a second resolution (the TTL ran out)', () => dns.queries.length > first)
})

t.test('a discovered target takes the mode the routing state gives its id (an operator drained it)', async (t) => {
  const r = await rig(t, { 'blue.test': { a: ['10.0.0.1'] } })
  r.modes.set('blue-dns-10.0.0.2:3000', 'draining')
  r.dns.zone.set('blue.test', { a: ['10.0.0.1', '10.0.0.2'] })
  await r.round()
  t.same(r.blue(), ['blue-dns-10.0.0.1:3000 dns enabled', 'blue-dns-10.0.0.2:3000 dns draining'])
  t.equal(r.byId('blue-dns-10.0.0.2:3000').usable, false)
})

t.test('config targets and discovery: both are used; an address that is both is one target, the configured one', async (t) => {
  const r = await rig(t, { 'blue.test': { a: ['10.0.0.1', '10.0.0.2'] } }, { config: ['http://10.0.0.1:3000', 'http://10.0.0.9:3000'] })
  t.same(r.blue(), ['b1 config enabled', 'b2 config enabled', 'blue-dns-10.0.0.2:3000 dns enabled'])
  r.dns.zone.set('blue.test', { a: ['10.0.0.2'] })
  await r.round()
  t.same(r.blue(), ['b1 config enabled', 'b2 config enabled', 'blue-dns-10.0.0.2:3000 dns enabled'], 'discovery never drains a configured target')
})

t.test('a discovered target removed by someone else comes back while DNS has it', async (t) => {
  const r = await rig(t, { 'blue.test': { a: ['10.0.0.1'] } })
  const old = r.byId('blue-dns-10.0.0.1:3000')
  r.pools.remove(old)
  t.same(r.blue(), [])
  await r.round()
  t.same(r.blue(), ['blue-dns-10.0.0.1:3000 dns enabled'])
  t.not(r.byId('blue-dns-10.0.0.1:3000'), old, 'a new target')
})

t.test('reconfigure: unchanged settings go on untouched; new settings take over the targets; removed discovery drains them', async (t) => {
  const r = await rig(t, { 'blue.test': { a: ['10.0.0.1', '10.0.0.2'] }, 'green.test': { a: ['10.0.1.1'] } })
  const queries = r.dns.queries.length
  t.same(await r.discovery.reconfigure({ blue: { discovery: r.settings() } }), [], 'same settings: nothing to do')
  t.equal(r.dns.queries.length, queries, 'and no query')
  const b = r.byId('blue-dns-10.0.0.2:3000')
  r.dns.zone.set('blue2.test', { a: ['10.0.0.2', '10.0.0.3'] })
  t.same(await r.discovery.reconfigure({ blue: { discovery: r.settings({ dns: 'blue2.test' }) }, green: { discovery: r.settings({ dns: 'green.test', port: 4000 }) } }),
    [{ color: 'blue', change: 'changed' }, { color: 'green', change: 'started' }])
  await until('the old address to leave', () => r.blue().length === 2)
  t.same(r.blue(), ['blue-dns-10.0.0.2:3000 dns enabled', 'blue-dns-10.0.0.3:3000 dns enabled'], 'resolved with the new name at once')
  t.equal(r.byId('blue-dns-10.0.0.2:3000'), b, 'an address in both answers is the same target')
  t.same((r.pools.byColor[1] ?? []).map((x) => x.id), ['green-dns-10.0.1.1:4000'])
  t.equal(r.clock.pending, 2, 'one schedule per color (the old blue one was cancelled)')
  t.same(await r.discovery.reconfigure({ blue: { targets: ['http://10.0.0.9:1'] }, green: { discovery: r.settings({ dns: 'green.test', port: 4000 }) } }), [{ color: 'blue', change: 'stopped' }])
  await until('every discovered blue target to leave', () => r.blue().length === 0)
  t.equal(r.clock.pending, 1, 'only green resolves now')
  t.same(r.logs.filter((l) => l.msg.startsWith('dns discovery ') && l.level === 'info').map((l) => [l.msg, l.obj.color, l.obj.dns]),
    [['dns discovery started', 'blue', 'blue.test'], ['dns discovery changed', 'blue', 'blue2.test'], ['dns discovery started', 'green', 'green.test'], ['dns discovery stopped', 'blue', undefined]], 'every change is logged')
})
