/**
 * Chaos soak (issue 9): two `switchyard serve` instances on one real redis-server, two real
 * upstreams per color, all child processes on 127.0.0.1. For SOAK_SECONDS (600 by default):
 * client loops with and without sticky cookies over keep-alive pools, flips and weight changes
 * every 100 ms through the admin API of alternating instances, one upstream SIGKILLed and
 * restarted on its port every ~30 s, Redis SIGKILLed and restarted empty every ~60 s, and
 * hostile raw-socket clients mixed in. Then: in-flight must come back to 0 on every instance.
 *
 * Only one kind of failure is acceptable: a request that was in flight on the upstream that
 * was killed (started before the kill, ended with an upstream error within
 * SOAK_KILL_WINDOW_MS after it; see classify()). Anything else, an instance that died, or
 * in-flight not back to 0 exits non-zero. Prints a summary and writes bench/results/soak.json.
 *
 *   npm run soak                       (node --import tsx bench/soak.ts)
 *   SOAK_SECONDS=60 npm run soak       (the knobs are listed in bench/README.md, "Soak")
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { request } from 'undici'
import { Cleanups, rssBytes } from './lib/children.js'
import { envNumber } from './lib/options.js'
import { runClientLoops, type ClientStats, type Failure } from './lib/soak-clients.js'
import { metricSamples, readInFlight, readMetrics, startSoakCluster, type InFlightView, type SoakInstance, type SoakUpstream } from './lib/soak-cluster.js'
import { HOSTILE_KINDS, runHostileClients, type HostileCounts, type HostileRun } from './lib/soak-hostile.js'
import { percentile, round } from './lib/stats.js'
import type { RedisServer } from '../test/helpers/redis.js'

const knob = (name: string, value: number): number => envNumber(name, value, value)

/** The soak's knobs (environment, see bench/README.md). */
const K = {
  seconds: knob('SOAK_SECONDS', 600),
  stickyLoops: knob('SOAK_STICKY_LOOPS', 4),
  freshLoops: knob('SOAK_FRESH_LOOPS', 4),
  pauseMs: knob('SOAK_PAUSE_MS', 1),
  clientTimeoutMs: knob('SOAK_CLIENT_TIMEOUT_MS', 10_000),
  flipEveryMs: knob('SOAK_FLIP_EVERY_MS', 100),
  killEverySeconds: knob('SOAK_KILL_EVERY_S', 30),
  upstreamDownMs: knob('SOAK_UPSTREAM_DOWN_MS', 1000),
  redisEverySeconds: knob('SOAK_REDIS_EVERY_S', 60),
  redisDownMs: knob('SOAK_REDIS_DOWN_MS', 2000),
  killWindowMs: knob('SOAK_KILL_WINDOW_MS', 3000),
  killGraceMs: knob('SOAK_KILL_GRACE_MS', 0),
  hostilePerSecond: knob('SOAK_HOSTILE_PER_S', 4),
  hostileDeadlineMs: knob('SOAK_HOSTILE_DEADLINE_MS', 8000),
  hostileMaxActive: knob('SOAK_HOSTILE_MAX_ACTIVE', 40),
  bodyLimit: knob('SOAK_BODY_LIMIT', 64 * 1024),
  requestTimeoutMs: knob('SOAK_REQUEST_TIMEOUT_MS', 2000),
  headersTimeoutMs: knob('SOAK_HEADERS_TIMEOUT_MS', 1000),
  upstreamConnections: knob('SOAK_UPSTREAM_CONNECTIONS', 16),
  warmupSeconds: knob('SOAK_WARMUP_S', 10),
  settleMs: knob('SOAK_SETTLE_MS', 20_000)
} as const

/** SOAK_HOSTILE_KINDS=a,b limits the hostile clients to those kinds (to reproduce one finding). */
const hostileKinds = (process.env.SOAK_HOSTILE_KINDS ?? '') === ''
  ? HOSTILE_KINDS
  : (process.env.SOAK_HOSTILE_KINDS ?? '').split(',').map((name) => {
      const k = HOSTILE_KINDS.find((x) => x.name === name.trim())
      if (k === undefined) throw new Error(`SOAK_HOSTILE_KINDS: unknown kind "${name}" (known: ${HOSTILE_KINDS.map((x) => x.name).join(', ')})`)
      return k
    })

/** Aborted when an instance dies: the traffic stops early and the soak reports. */
const abort = new AbortController()

/** Sleeps `ms`, or less when the soak is aborted. */
const sleep = async (ms: number): Promise<void> => {
  if (ms <= 0 || abort.signal.aborted) return
  await new Promise<void>((resolve) => {
    const done = (): void => { clearTimeout(timer); abort.signal.removeEventListener('abort', done); resolve() }
    const timer = setTimeout(done, ms)
    abort.signal.addEventListener('abort', done)
  })
}
/** RSS within this many percent of the start figure at the end is reported "flat". */
const RSS_FLAT_PCT = 10
const mb = (bytes: number): number => round(bytes / 1048576, 1)

/** One upstream kill, times in ms since the soak's start. */
interface Kill {
  readonly target: string
  readonly color: string
  /** SIGKILL sent: the kill time of the classification. */
  readonly at: number
  /** When the soak saw the process exit (later by the soak's own event-loop delay; for information). */
  readonly exitSeenAt: number
  restartedAt: number
}

/** One Redis outage, ms since the start. */
interface Outage {
  readonly at: number
  restartedAt: number
}

/** Kills an upstream every killEverySeconds (first at half of it), Redis every redisEverySeconds (first at half of it). */
async function chaos (t0: number, end: number, upstreams: readonly SoakUpstream[], redis: RedisServer, kills: Kill[], outages: Outage[]): Promise<void> {
  const since = (): number => round(performance.now() - t0, 1)
  type Event = { at: number, what: 'upstream' | 'redis' }
  const events: Event[] = []
  // Nothing is killed in the last stretch, so every restart lands before the traffic stops.
  const lastAt = end - t0 - Math.max(K.upstreamDownMs, K.redisDownMs) - 3000
  if (K.killEverySeconds > 0) for (let at = K.killEverySeconds * 500; at <= lastAt; at += K.killEverySeconds * 1000) events.push({ at, what: 'upstream' })
  if (K.redisEverySeconds > 0) for (let at = K.redisEverySeconds * 500; at <= lastAt; at += K.redisEverySeconds * 1000) events.push({ at, what: 'redis' })
  events.sort((a, b) => a.at - b.at)
  let next = 0
  for (const e of events) {
    await sleep(t0 + e.at - performance.now())
    if (abort.signal.aborted) break
    if (e.what === 'upstream') {
      // Colors alternate: blue-0, green-0, blue-1, green-1, …
      const half = upstreams.length >> 1
      const j = next++ % upstreams.length
      const u = upstreams[(j >> 1) + (j % 2) * half] as SoakUpstream
      const at = since()
      await u.kill()
      const k: Kill = { target: u.id, color: u.color, at, exitSeenAt: since(), restartedAt: -1 }
      kills.push(k)
      await sleep(K.upstreamDownMs)
      await u.restart()
      k.restartedAt = since()
      process.stdout.write(`  ${(k.at / 1000).toFixed(1)}s: upstream ${u.id} killed, back at ${(k.restartedAt / 1000).toFixed(1)}s\n`)
    } else {
      const o: Outage = { at: since(), restartedAt: -1 }
      outages.push(o)
      await redis.kill()
      await sleep(K.redisDownMs)
      await redis.start()
      o.restartedAt = since()
      process.stdout.write(`  ${(o.at / 1000).toFixed(1)}s: redis killed, back (empty) at ${(o.restartedAt / 1000).toFixed(1)}s\n`)
    }
  }
}

/** Admin writes every flipEveryMs on alternating instances: POST /flip and PUT /weights in turn. */
async function flipper (t0: number, end: number, instances: readonly SoakInstance[], outages: readonly Outage[]): Promise<{ sent: number, byStatus: Record<string, number>, duringRedisOutage: Record<string, number>, okAt: number[] }> {
  const splits: Array<[number, number]> = [[50, 50], [90, 10], [10, 90], [33.33, 66.67], [100, 0], [0, 100], [75, 25], [1, 99]]
  const byStatus: Record<string, number> = {}
  const duringRedisOutage: Record<string, number> = {}
  /** When each write answered 200 (ms since the start). */
  const okAt: number[] = []
  let sent = 0
  // An outage's effects are counted from the kill until 5 s after Redis is back (re-seed).
  const inOutage = (t: number): boolean => outages.some((o) => t >= o.at && (o.restartedAt < 0 || t <= o.restartedAt + 5000))
  for (let n = 0; ; n++) {
    const at = t0 + n * K.flipEveryMs
    if (at >= end || abort.signal.aborted) break
    await sleep(at - performance.now())
    const i = instances[n % instances.length] as SoakInstance
    const flip = n % 2 === 0
    const [blue, green] = splits[(n >> 1) % splits.length] as [number, number]
    const started = performance.now() - t0
    let status = 'error'
    try {
      const res = await request(`${i.adminUrl}${flip ? '/flip' : '/weights'}`, {
        method: flip ? 'POST' : 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(flip ? { to: (n >> 1) % 2 === 0 ? 'green' : 'blue', reason: `soak ${n}` } : { weights: { blue, green }, reason: `soak ${n}` }),
        headersTimeout: 5000,
        bodyTimeout: 5000
      })
      const body = await res.body.text()
      let code = ''
      try { code = (JSON.parse(body) as { error?: string }).error ?? '' } catch { /* not JSON */ }
      status = code === '' ? String(res.statusCode) : `${res.statusCode} ${code}`
    } catch (e) {
      status = `error ${(e as { code?: string }).code ?? (e as Error).message}`
    }
    sent++
    if (status === '200') okAt.push(round(performance.now() - t0, 1))
    const key = `${flip ? 'POST /flip' : 'PUT /weights'} ${status}`
    const bucket = inOutage(started) || inOutage(performance.now() - t0) ? duringRedisOutage : byStatus
    bucket[key] = (bucket[key] ?? 0) + 1
  }
  return { sent, byStatus, duringRedisOutage, okAt }
}

/**
 * A failure is "in flight on the killed upstream" only if, for some kill of target T (color C)
 * at time k (when the soak sent T's process SIGKILL): the request started before k, ended in [k, k + SOAK_KILL_WINDOW_MS], and ended
 * with an upstream error: either a 502/504 whose switchyard error code is SWY_ERR_UPSTREAM_*
 * and whose message names color C, or a 2xx from T (its x-upstream-id) whose body was cut
 * while being read. Everything else is an unacceptable failure. SOAK_KILL_GRACE_MS (default 0,
 * strict) moves "started before" to "started before k + grace", for a lead who accepts the
 * race of a request sent on a pooled connection in the instant after the upstream died.
 */
function classify (f: Failure, kills: readonly Kill[]): Kill | undefined {
  return kills.find((k) => f.start < k.at + K.killGraceMs && f.end >= k.at && f.end <= k.at + K.killWindowMs && upstreamErrorOf(f, k))
}

/** The failure is an upstream error of the killed target (or its color, for a 502/504). */
function upstreamErrorOf (f: Failure, k: Kill): boolean {
  if (f.kind === 'status') return (f.status === 502 || f.status === 504) && f.code.startsWith('SWY_ERR_UPSTREAM_') && f.color === k.color
  if (f.kind === 'body-error') return f.target === k.target
  return false
}

/**
 * For the report only (still unacceptable): an upstream error of the killed target's color
 * on a request that started after the kill, within the window: the proxy sent
 * it to a dead target it had not yet noticed or ejected.
 */
function afterKill (f: Failure, kills: readonly Kill[]): boolean {
  return kills.some((k) => f.start >= k.at + K.killGraceMs && f.start <= k.at + K.killWindowMs && upstreamErrorOf(f, k))
}

/** Polls every instance until its targets' inFlight and the gauge are 0 (bounded by settleMs). */
async function settle (instances: readonly SoakInstance[]): Promise<Array<{ view: InFlightView | undefined, zero: boolean, waitedMs: number, error: string }>> {
  return await Promise.all(instances.map(async (i) => {
    const start = performance.now()
    let view: InFlightView | undefined
    let error = ''
    for (;;) {
      if (i.process.child.exitCode !== null || i.process.child.signalCode !== null) return { view, zero: false, waitedMs: 0, error: 'the instance exited' }
      try {
        view = await readInFlight(i.adminUrl)
        error = ''
        if (view.targetsSum === 0 && view.gauge === 0 && view.targets.every((x) => x.inFlight === 0)) return { view, zero: true, waitedMs: round(performance.now() - start), error }
      } catch (e) { error = (e as Error).message }
      if (performance.now() - start > K.settleMs) return { view, zero: false, waitedMs: round(performance.now() - start), error }
      await sleep(200)
    }
  }))
}

/** Hostile runs whose outcome differs from their kind's most common outcome. */
function unusualRuns (counts: HostileCounts, runs: readonly HostileRun[]): HostileRun[] {
  const usual: Record<string, string> = {}
  for (const [kind, by] of Object.entries(counts)) {
    usual[kind] = Object.entries(by).sort((a, b) => b[1] - a[1])[0]?.[0] ?? ''
  }
  return runs.filter((r) => r.outcome !== usual[r.kind]).sort((a, b) => a.start - b.start)
}

function countBy<T> (items: readonly T[], key: (x: T) => string): Record<string, number> {
  const out: Record<string, number> = {}
  for (const x of items) { const k = key(x); out[k] = (out[k] ?? 0) + 1 }
  return out
}

async function main (): Promise<number> {
  const cleanups = new Cleanups()
  // Last resort: whatever hangs, the soak ends (children killed) SOAK_SECONDS + 5 min after its start.
  const watchdog = setTimeout(() => {
    process.stderr.write('soak: watchdog: still running 5 min after SOAK_SECONDS, giving up\n')
    abort.abort()
    void cleanups.run().finally(() => process.exit(2))
  }, (K.seconds + 300) * 1000)
  watchdog.unref()
  try {
    const limits = { bodyLimit: K.bodyLimit, requestTimeoutMs: K.requestTimeoutMs, headersTimeoutMs: K.headersTimeoutMs, upstreamConnections: K.upstreamConnections }
    process.stdout.write(`soak: ${K.seconds}s, ${K.stickyLoops} sticky + ${K.freshLoops} fresh loops, flips every ${K.flipEveryMs} ms, upstream kill every ${K.killEverySeconds}s, redis kill every ${K.redisEverySeconds}s, ${K.hostilePerSecond} hostile/s\n`)
    const { redis, upstreams, instances } = await startSoakCluster(cleanups, 2, limits)
    const died: string[] = []
    const t0 = performance.now()
    let watching = true
    for (const i of instances) {
      void i.process.exited.then((e) => {
        if (!watching) return
        died.push(`${i.id} exited (${e.code ?? e.signal ?? '?'}) at ${((performance.now() - t0) / 1000).toFixed(1)}s`)
        process.stdout.write(`  switchyard ${died.at(-1) ?? ''}: stopping the traffic\n`)
        abort.abort()
      })
    }
    const end = t0 + K.seconds * 1000
    const kills: Kill[] = []
    const outages: Outage[] = []

    // RSS of each instance every 5 s; the start figure is the first sample after the warm-up.
    const rss: Array<{ t: number, mb: number[] }> = []
    const sampleRss = (): void => { rss.push({ t: round((performance.now() - t0) / 1000, 1), mb: instances.map((i) => mb(rssBytes(i.process.pid))) }) }
    sampleRss()
    const rssTimer = setInterval(sampleRss, 5000)

    const clients = runClientLoops({
      proxyUrls: instances.map((i) => i.proxyUrl),
      stickyLoops: K.stickyLoops,
      freshLoops: K.freshLoops,
      t0,
      until: end,
      maxPerLoop: Math.max(1000, K.seconds * 5000),
      pauseMs: K.pauseMs,
      timeoutMs: K.clientTimeoutMs,
      signal: abort.signal
    })
    const hostile = runHostileClients({
      kinds: hostileKinds,
      ports: instances.map((i) => i.proxyPort),
      perSecond: K.hostilePerSecond,
      until: end,
      bodyLimit: K.bodyLimit,
      deadlineMs: K.hostileDeadlineMs,
      maxActive: K.hostileMaxActive,
      signal: abort.signal,
      t0
    })
    const flips = flipper(t0, end, instances, outages)
    let chaosError = ''
    const chaotic = chaos(t0, end, upstreams, redis, kills, outages).catch((e: unknown) => { chaosError = (e as Error).message; abort.abort() })

    const stats: ClientStats = await clients
    sampleRss()
    clearInterval(rssTimer)
    const trafficEnd = performance.now()
    const [hostileResult, flipResult] = await Promise.all([hostile, flips, chaotic])
    const elapsed = (trafficEnd - t0) / 1000
    process.stdout.write(`traffic over after ${elapsed.toFixed(1)}s; waiting for in-flight to return to 0 (up to ${K.settleMs} ms)\n`)

    const settled = await settle(instances)
    watching = false
    const metrics = await Promise.all(instances.map(async (i) => { try { return await readMetrics(i.adminUrl) } catch { return '' } }))

    // Classify the failures.
    const onKilled: Array<Failure & { kill: string }> = []
    const other: Failure[] = []
    for (const f of stats.failures) {
      const k = classify(f, kills)
      if (k === undefined) other.push(f)
      else onKilled.push({ ...f, kill: `${k.target}@${k.at}` })
    }
    const lat = stats.latencies.sort((a, b) => a - b)
    const rssStart = rss.find((s) => s.t >= K.warmupSeconds) ?? rss[0]
    const rssEnd = rss.at(-1)
    const rssLastKnown = (n: number): { t: number, mb: number } | undefined => {
      for (let j = rss.length - 1; j >= 0; j--) { const s = rss[j]; if (s !== undefined && Number.isFinite(s.mb[n])) return { t: s.t, mb: s.mb[n] as number } }
      return undefined
    }
    const perInstance = instances.map((inst, n) => {
      const s = settled[n]
      const startMb = rssStart?.mb[n] ?? Number.NaN
      const last = rssLastKnown(n)
      const endMb = last?.mb ?? Number.NaN
      const m = metrics[n] ?? ''
      return {
        id: inst.id,
        rssStartMb: startMb,
        rssStartAtS: rssStart?.t ?? Number.NaN,
        rssEndMb: endMb,
        rssEndAtS: last?.t ?? rssEnd?.t ?? Number.NaN,
        rssGrowthPct: round((endMb / startMb - 1) * 100, 1),
        /** "flat" when the end is within RSS_FLAT_PCT of the start (reported, not a failure). */
        rssVerdict: Math.abs(endMb / startMb - 1) * 100 <= RSS_FLAT_PCT ? 'flat' : endMb > startMb ? 'grew' : 'shrank',
        inFlightZero: s?.zero ?? false,
        inFlightWaitedMs: s?.waitedMs ?? Number.NaN,
        inFlightError: s?.error ?? '',
        targetsInFlight: Object.fromEntries((s?.view?.targets ?? []).map((x) => [x.id, x.inFlight])),
        inFlightGauge: s?.view?.gauge ?? Number.NaN,
        inFlightGaugeByColor: s?.view?.gaugeByColor ?? {},
        targetsAtEnd: (s?.view?.targets ?? []).map((x) => ({ id: x.id, health: x.health, mode: x.mode, ...(x.ejectedUntil === undefined ? {} : { ejectedUntil: x.ejectedUntil }) })),
        upstreamErrorsByKind: metricSamples(m, 'switchyard_upstream_errors_total', 'kind').by,
        storeUpAtEnd: metricSamples(m, 'switchyard_store_up').total,
        requestsByCodeClass: metricSamples(m, 'switchyard_requests_total', 'code_class').by
      }
    })

    const reasons: string[] = []
    if (other.length > 0) reasons.push(`${other.length} unacceptable failure(s)`)
    for (const p of perInstance) if (!p.inFlightZero) reasons.push(p.inFlightError === 'the instance exited' ? `${p.id}: in-flight unknown (the instance exited)` : `${p.id}: in-flight not back to 0 after ${K.settleMs} ms`)
    for (const d of died) reasons.push(`switchyard ${d} during the soak`)
    if (chaosError !== '') reasons.push(`a kill or restart failed: ${chaosError}`)
    if (stats.total === 0) reasons.push('no request was sent')

    const result = {
      at: new Date().toISOString(),
      ok: reasons.length === 0,
      reasons,
      seconds: round(elapsed, 1),
      knobs: K,
      store: 'redis',
      switchyard: process.env.BENCH_DIST === '1' ? 'dist/cli.js' : 'src/cli.ts via tsx',
      requests: {
        total: stats.total,
        ok: stats.ok,
        perSecond: Math.round(stats.total / elapsed),
        failed: stats.failures.length,
        failedInFlightOnKilledUpstream: onKilled.length,
        failedOther: other.length,
        non2xxByStatus: stats.non2xx,
        okByColor: stats.byColor,
        stickyCookieChanges: stats.cookieChanges,
        latencyMs: { p50: round(percentile(lat, 50), 2), p99: round(percentile(lat, 99), 2), max: round(lat.at(-1) ?? Number.NaN, 2) },
        latencyMsByKind: Object.fromEntries(Object.entries(stats.latenciesByKind).map(([k, v]) => {
          v.sort((a, b) => a - b)
          return [k, { n: v.length, p50: round(percentile(v, 50), 2), p99: round(percentile(v, 99), 2) }]
        })),
        classification: `in flight on the killed upstream = started before the SIGKILL of target T (color C)${K.killGraceMs > 0 ? ` + ${K.killGraceMs} ms of grace` : ''}, ended within SOAK_KILL_WINDOW_MS after it, with a 502/504 SWY_ERR_UPSTREAM_* naming color C or a 2xx from T whose body was cut; anything else is an unacceptable failure`,
        otherByCause: countBy(other, (f) => `${f.kind} ${f.status} ${f.code}`.trim()),
        otherStartedAfterAKillWithItsUpstreamError: other.filter((f) => afterKill(f, kills)).length,
        onKilledByCause: countBy(onKilled, (f) => `${f.kind} ${f.status} ${f.code}`.trim()),
        otherSamples: other.slice(0, 50),
        onKilledSamples: onKilled.slice(0, 20)
      },
      kills,
      redisOutages: outages.map((o) => {
        const first = flipResult.okAt.find((t) => t >= o.restartedAt)
        return { ...o, firstAdminWriteOkAfterRestartMs: first === undefined ? null : round(first - o.restartedAt, 1) }
      }),
      admin: { sent: flipResult.sent, byStatus: flipResult.byStatus, duringRedisOutage: flipResult.duringRedisOutage },
      hostile: {
        launched: hostileResult.launched,
        skippedAtCap: hostileResult.skipped,
        kinds: hostileKinds.map((k) => k.name),
        expected: Object.fromEntries(hostileKinds.map((k) => [k.name, k.expect])),
        got: hostileResult.counts,
        /** Runs whose outcome is not the most common one of their kind, with their times (to set against the kills). */
        unusual: unusualRuns(hostileResult.counts, hostileResult.runs).slice(0, 50)
      },
      instances: perInstance,
      rssSeriesMb: rss
    }

    // Print.
    const line = (s: string): void => { process.stdout.write(`${s}\n`) }
    line(`\nsoak summary (${result.seconds}s, ${instances.length} instances on redis, ${upstreams.length} upstreams)`)
    line(`  requests ${stats.total} (${result.requests.perSecond}/s), ok ${stats.ok}, failed ${stats.failures.length}: in flight on the killed upstream ${onKilled.length}, other ${other.length}`)
    if (other.length > 0) line(`  other failures by cause: ${JSON.stringify(result.requests.otherByCause)}; of which started after a kill, with an upstream error of its color: ${result.requests.otherStartedAfterAKillWithItsUpstreamError}`)
    if (onKilled.length > 0) line(`  killed-upstream failures by cause: ${JSON.stringify(result.requests.onKilledByCause)}`)
    line(`  non-2xx by status: ${JSON.stringify(stats.non2xx)}`)
    line(`  good requests latency: p50 ${result.requests.latencyMs.p50} ms, p99 ${result.requests.latencyMs.p99} ms, max ${result.requests.latencyMs.max} ms; by color ${JSON.stringify(stats.byColor)}`)
    line(`    by kind: ${Object.entries(result.requests.latencyMsByKind).map(([k, v]) => `${k} n=${v.n} p50 ${v.p50} p99 ${v.p99}`).join('; ')}`)
    line(`  redis outages: ${result.redisOutages.map((o) => `at ${(o.at / 1000).toFixed(1)}s, back ${(o.restartedAt / 1000).toFixed(1)}s, first admin write 200 ${o.firstAdminWriteOkAfterRestartMs ?? 'never'} ms after`).join('; ') || 'none'}`)
    line(`  upstream kills ${kills.length}, redis outages ${outages.length}; admin writes ${flipResult.sent}: ${JSON.stringify(flipResult.byStatus)}; during redis outages ${JSON.stringify(flipResult.duringRedisOutage)}`)
    line(`  hostile clients ${hostileResult.launched} (skipped at cap ${hostileResult.skipped}):`)
    for (const k of hostileKinds) line(`    ${k.name.padEnd(20)} ${JSON.stringify(hostileResult.counts[k.name] ?? {})}   expected: ${k.expect}`)
    for (const r of result.hostile.unusual.slice(0, 10)) line(`    unusual: ${r.kind} got "${r.outcome}" (${(r.start / 1000).toFixed(1)}s → ${(r.end / 1000).toFixed(1)}s)`)
    for (const p of perInstance) {
      line(`  ${p.id}: RSS ${p.rssStartMb} MB at ${p.rssStartAtS}s → ${p.rssEndMb} MB at ${p.rssEndAtS}s (${p.rssGrowthPct >= 0 ? '+' : ''}${p.rssGrowthPct}%, ${p.rssVerdict}); store up ${p.storeUpAtEnd}; in-flight ${p.inFlightZero ? `0 after ${p.inFlightWaitedMs} ms` : `NOT 0: targets ${JSON.stringify(p.targetsInFlight)}, gauge ${p.inFlightGauge} ${p.inFlightError}`}; upstream errors ${JSON.stringify(p.upstreamErrorsByKind)}`)
    }
    line(result.ok ? 'soak: OK' : `soak: FAILED: ${reasons.join('; ')}`)

    await mkdir(new URL('results/', import.meta.url), { recursive: true })
    await writeFile(new URL('results/soak.json', import.meta.url), JSON.stringify(result, null, 2) + '\n')
    for (const i of instances) await writeFile(new URL(`results/soak-${i.id}.log`, import.meta.url), i.process.stderr() + i.process.stdout())
    line('wrote bench/results/soak.json (instance logs: bench/results/soak-<id>.log)')
    return result.ok ? 0 : 1
  } finally {
    clearTimeout(watchdog)
    await cleanups.run()
  }
}

main().then((code) => { process.exitCode = code }, (e: unknown) => { process.stderr.write(`${(e as Error).stack ?? String(e)}\n`); process.exitCode = 2 })
