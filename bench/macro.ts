/**
 * Macro benchmark: load through switchyard against a bare @fastify/http-proxy (the baseline)
 * and direct-to-upstream, in one run, interleaved over rounds (the order rotates each round),
 * every server in its own pinned child process and the load generator on another CPU.
 *
 *   direct             wrk/autocannon → blue upstream
 *   baseline           → bare @fastify/http-proxy (upstream: blue) → blue
 *   switchyard-fresh   → switchyard 90/10, cookie mode, clients without cookies (each mints one)
 *   switchyard-cookie  → the same, every request carrying a valid sticky cookie
 *   switchyard-cookie-nometrics → a second switchyard, metrics.enabled false, cookie clients:
 *                        the ratio to switchyard-cookie is what metrics cost on the hot path
 *
 * Then a c=1 latency pass (p50 added over direct) and an RSS run of switchyard under load.
 * Figures are medians over rounds; ratios are per-round ratios' medians.
 *
 *   node --import tsx bench/macro.ts   (DURATION, WARMUP, ROUNDS, CONNECTIONS, LATENCY_SECONDS,
 *                                       RSS_SECONDS, LOADGEN, PIN=0, QUICK=1)
 */
import { cpuPlan, Cleanups, rssBytes, type CpuPlan } from './lib/children.js'
import { pickLoadGen, runLatency, runLoad, type LoadGenName, type LoadResult } from './lib/load.js'
import { isMain } from './lib/micro.js'
import { settings } from './lib/options.js'
import { fmt, median, round } from './lib/stats.js'
import { fetchStickyCookie, servedByColor, startBareProxy, startSwitchyardChild, startUpstreams } from './lib/switchyard.js'

/** The servers under load, in their first-round order. */
export const TARGETS = ['direct', 'baseline', 'switchyard-fresh', 'switchyard-cookie', 'switchyard-cookie-nometrics'] as const
/** One server under load. */
export type TargetName = typeof TARGETS[number]

/** Medians of one target over the rounds. */
export interface TargetSummary {
  readonly reqPerSec: number
  readonly p50Ms: number
  readonly p99Ms: number
  /** Median over rounds of (this / baseline) and (this / direct). */
  readonly reqPerSecVsBaseline: number
  readonly p99VsBaseline: number
  readonly reqPerSecVsDirect: number
  readonly p99VsDirect: number
  readonly non2xx: number
  readonly errors: number
  readonly rounds: readonly LoadResult[]
}

/** The c=1 pass of one target. */
export interface LatencySummary {
  readonly p50Ms: number
  readonly p99Ms: number
  /** Median over rounds of p50(this) − p50(direct), in µs. */
  readonly addedP50UsOverDirect: number
  readonly rounds: readonly LoadResult[]
}

/** Everything the macro benchmark measured. */
export interface MacroResult {
  readonly loadGen: LoadGenName
  readonly cpuPlan: CpuPlan
  readonly connections: number
  readonly durationSeconds: number
  readonly warmupSeconds: number
  readonly rounds: number
  readonly throughput: Readonly<Record<TargetName, TargetSummary>>
  readonly latencyC1: Readonly<Record<TargetName, LatencySummary>>
  /** What metrics cost: median over rounds of req/s with metrics ÷ without (cookie clients). */
  readonly metricsOnVsOff: number
  /** Share of fresh clients (reason "weight") switchyard sent to green; 0.10 expected. */
  readonly greenShareOfFresh: number
  readonly rss: {
    readonly seconds: number
    readonly startMB: number
    readonly midMB: number
    readonly endMB: number
    /** (end − mid) / mid. */
    readonly growthMidToEnd: number
    readonly load: LoadResult
  }
}

const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }
const mb = (bytes: number): number => round(bytes / 1024 / 1024, 1)

function rotate<T> (list: readonly T[], by: number): T[] {
  const k = by % list.length
  return [...list.slice(k), ...list.slice(0, k)]
}

function line (name: string, r: LoadResult): string {
  return `${name.padEnd(27)} ${fmt(r.reqPerSec).padStart(8)} req/s  p50 ${fmt(r.p50Ms, 3).padStart(7)} ms  p99 ${fmt(r.p99Ms, 3).padStart(7)} ms${r.non2xx + r.errors > 0 ? `  non2xx ${r.non2xx} errors ${r.errors}` : ''}`
}

/** Runs the macro benchmark (servers started and stopped here). */
export async function runMacro (): Promise<MacroResult> {
  const cleanups = new Cleanups()
  try {
    const plan = cpuPlan()
    const gen = pickLoadGen()
    const { connections, duration, warmup, rounds, latencySeconds, rssSeconds } = settings
    process.stdout.write(`macro (${gen}, ${connections} connections, ${duration} s × ${rounds} rounds, ${plan.pinned ? `load on CPU ${plan.load ?? ''}, servers on CPU ${plan.servers ?? ''}` : 'unpinned'})\n`)
    const upstreams = await startUpstreams(cleanups, plan.servers)
    const bare = await startBareProxy(cleanups, upstreams.blue, plan.servers)
    const sy = await startSwitchyardChild(cleanups, { upstreams, weights: { blue: 90, green: 10 }, cpus: plan.servers })
    const noMetrics = await startSwitchyardChild(cleanups, { upstreams, weights: { blue: 90, green: 10 }, cpus: plan.servers, metrics: false })
    const cookie = await fetchStickyCookie(sy.proxyUrl)
    const cookie2 = await fetchStickyCookie(noMetrics.proxyUrl)
    const specs: Readonly<Record<TargetName, { url: string, headers?: Record<string, string> }>> = {
      direct: { url: `${upstreams.blue}/` },
      baseline: { url: `${bare.url}/` },
      'switchyard-fresh': { url: `${sy.proxyUrl}/` },
      'switchyard-cookie': { url: `${sy.proxyUrl}/`, headers: { cookie } },
      'switchyard-cookie-nometrics': { url: `${noMetrics.proxyUrl}/`, headers: { cookie: cookie2 } }
    }

    // A longer first warm-up per target: JIT, connection pools and the upstream keep-alives
    // settle before round 1, which otherwise reads low.
    if (warmup > 0) for (const name of TARGETS) await runLoad(gen, { ...specs[name], connections, cpus: plan.load, seconds: warmup * 3 })
    const loadRuns: Record<TargetName, LoadResult[]> = { direct: [], baseline: [], 'switchyard-fresh': [], 'switchyard-cookie': [], 'switchyard-cookie-nometrics': [] }
    for (let r = 0; r < rounds; r++) {
      for (const name of rotate(TARGETS, r)) {
        const spec = { ...specs[name], connections, cpus: plan.load }
        if (warmup > 0) await runLoad(gen, { ...spec, seconds: warmup })
        const result = await runLoad(gen, { ...spec, seconds: duration })
        loadRuns[name].push(result)
        process.stdout.write(`  round ${r + 1}/${rounds}  ${line(name, result)}\n`)
      }
    }
    const served = await servedByColor(sy.adminUrl)
    const greenFresh = served.green?.weight ?? 0
    const blueFresh = served.blue?.weight ?? 0

    const latRuns: Record<TargetName, LoadResult[]> = { direct: [], baseline: [], 'switchyard-fresh': [], 'switchyard-cookie': [], 'switchyard-cookie-nometrics': [] }
    for (let r = 0; r < rounds; r++) {
      for (const name of rotate(TARGETS, r)) {
        const result = await runLatency(gen, { ...specs[name], seconds: latencySeconds, cpus: plan.load })
        latRuns[name].push(result)
        process.stdout.write(`  c=1 ${r + 1}/${rounds}    ${line(name, result)}\n`)
      }
    }

    // RSS: fresh clients (the allocating path) for rssSeconds, sampled at the start, half-way and the end.
    process.stdout.write(`  RSS run: ${rssSeconds} s of fresh-client load on switchyard\n`)
    const rssLoad = runLoad(gen, { ...specs['switchyard-fresh'], connections, seconds: rssSeconds + 1, cpus: plan.load })
    const t0 = Date.now()
    await sleep(300)
    const start = rssBytes(sy.process.pid)
    await sleep(t0 + (rssSeconds * 1000) / 2 - Date.now())
    const mid = rssBytes(sy.process.pid)
    await sleep(t0 + rssSeconds * 1000 - Date.now())
    const end = rssBytes(sy.process.pid)
    const rssLoadResult = await rssLoad

    const throughput = {} as Record<TargetName, TargetSummary>
    const latencyC1 = {} as Record<TargetName, LatencySummary>
    const perRound = (runs: readonly LoadResult[], base: readonly LoadResult[], f: (a: LoadResult, b: LoadResult) => number): number =>
      round(median(runs.map((a, i) => f(a, base[i] as LoadResult))), 3)
    for (const name of TARGETS) {
      const runs = loadRuns[name]
      throughput[name] = {
        reqPerSec: Math.round(median(runs.map((x) => x.reqPerSec))),
        p50Ms: round(median(runs.map((x) => x.p50Ms)), 3),
        p99Ms: round(median(runs.map((x) => x.p99Ms)), 3),
        reqPerSecVsBaseline: perRound(runs, loadRuns.baseline, (a, b) => a.reqPerSec / b.reqPerSec),
        p99VsBaseline: perRound(runs, loadRuns.baseline, (a, b) => a.p99Ms / b.p99Ms),
        reqPerSecVsDirect: perRound(runs, loadRuns.direct, (a, b) => a.reqPerSec / b.reqPerSec),
        p99VsDirect: perRound(runs, loadRuns.direct, (a, b) => a.p99Ms / b.p99Ms),
        non2xx: runs.reduce((s, x) => s + x.non2xx, 0),
        errors: runs.reduce((s, x) => s + x.errors, 0),
        rounds: runs
      }
      const lat = latRuns[name]
      latencyC1[name] = {
        p50Ms: round(median(lat.map((x) => x.p50Ms)), 4),
        p99Ms: round(median(lat.map((x) => x.p99Ms)), 4),
        addedP50UsOverDirect: round(median(lat.map((x, i) => (x.p50Ms - (latRuns.direct[i] as LoadResult).p50Ms) * 1000)), 1),
        rounds: lat
      }
    }
    return {
      loadGen: gen,
      cpuPlan: plan,
      connections,
      durationSeconds: duration,
      warmupSeconds: warmup,
      rounds,
      throughput,
      latencyC1,
      metricsOnVsOff: perRound(loadRuns['switchyard-cookie'], loadRuns['switchyard-cookie-nometrics'], (a, b) => a.reqPerSec / b.reqPerSec),
      greenShareOfFresh: round(greenFresh / Math.max(1, greenFresh + blueFresh), 4),
      rss: { seconds: rssSeconds, startMB: mb(start), midMB: mb(mid), endMB: mb(end), growthMidToEnd: round((end - mid) / mid, 4), load: rssLoadResult }
    }
  } finally {
    await cleanups.run()
  }
}

/** Prints the macro summary table. */
export function printMacro (m: MacroResult): void {
  const out: string[] = []
  out.push(`macro summary (${m.loadGen}, c=${m.connections}, medians of ${m.rounds} round${m.rounds === 1 ? '' : 's'} × ${m.durationSeconds} s)`)
  out.push(`  ${'target'.padEnd(27)} ${'req/s'.padStart(8)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)}  ${'×baseline'.padStart(9)} ${'p99×base'.padStart(8)}  ${'×direct'.padStart(7)}  ${'c=1 p50 ms'.padStart(10)} ${'+µs vs direct'.padStart(13)}`)
  for (const name of TARGETS) {
    const t = m.throughput[name]
    const l = m.latencyC1[name]
    out.push(`  ${name.padEnd(27)} ${fmt(t.reqPerSec).padStart(8)} ${fmt(t.p50Ms, 2).padStart(8)} ${fmt(t.p99Ms, 2).padStart(8)}  ${fmt(t.reqPerSecVsBaseline, 2).padStart(9)} ${fmt(t.p99VsBaseline, 2).padStart(8)}  ${fmt(t.reqPerSecVsDirect, 2).padStart(7)}  ${fmt(l.p50Ms, 3).padStart(10)} ${fmt(l.addedP50UsOverDirect, 0).padStart(13)}`)
  }
  out.push(`  metrics on ÷ off (cookie clients, req/s): ${fmt(m.metricsOnVsOff, 3)}×`)
  out.push(`  green share of fresh clients ${fmt(m.greenShareOfFresh * 100, 1)} % (weights 90/10)`)
  out.push(`  RSS under load: ${m.rss.startMB} MB at start, ${m.rss.midMB} MB at ${m.rss.seconds / 2} s, ${m.rss.endMB} MB at ${m.rss.seconds} s (${fmt(m.rss.growthMidToEnd * 100, 1)} %)`)
  process.stdout.write(`${out.join('\n')}\n`)
}

if (isMain(import.meta.url)) {
  runMacro().then(printMacro).catch((e: unknown) => { process.stderr.write(`${(e as Error).stack ?? String(e)}\n`); process.exitCode = 1 })
}
