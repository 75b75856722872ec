/**
 * The multi-process data path (config `workers`, docs/workers.md): throughput through
 * switchyard with `workers: 1` and `workers: 2` in the same run, beside a bare
 * @fastify/http-proxy and the upstream direct, interleaved over rounds (the order rotates).
 * Nothing is pinned: the workers need the cores, so wrk, the upstream and the proxy share
 * them, as on an edge machine. The figure is the median over rounds of req/s(workers: 2) ÷
 * req/s(workers: 1), with cookie clients (the common path).
 *
 *   npm run bench:workers   (DURATION, WARMUP, ROUNDS, CONNECTIONS, LOADGEN, QUICK=1, WORKERS=2)
 */
import { readFileSync } from 'node:fs'
import { cpus } from 'node:os'
import { Cleanups } from './lib/children.js'
import { pickLoadGen, runLoad, type LoadResult } from './lib/load.js'
import { isMain } from './lib/micro.js'
import { envNumber, settings } from './lib/options.js'
import { fmt, median, round } from './lib/stats.js'
import { fetchStickyCookie, startBareProxy, startSwitchyardChild, startUpstreams, type Upstreams } from './lib/switchyard.js'

/** What the workers benchmark measured. */
export interface WorkersResult {
  readonly cpus: number
  readonly workers: number
  readonly connections: number
  readonly rounds: number
  /** Median req/s per target. */
  readonly reqPerSec: Readonly<Record<string, number>>
  /** Median over rounds of req/s(workers: N) ÷ req/s(workers: 1). */
  readonly ratio: number
  /**
   * Median CPU time (user + system, primary and workers) per 1000 requests, in ms, per
   * switchyard: what the data path costs whatever else runs on the machine. When it is about
   * the same for N workers as for one, throughput grows with the cores they get.
   */
  readonly cpuMsPerKiloRequest: Readonly<Record<string, number>>
  readonly runs: Readonly<Record<string, readonly LoadResult[]>>
}

/** Starts `switchyard serve` with `workers` data-path processes (memory store, cookie mode, 90/10). */
async function startWithWorkers (t: Cleanups, upstreams: Upstreams, workers: number): Promise<{ proxyUrl: string, adminUrl: string, pid: number }> {
  const child = await startSwitchyardChild(t, { upstreams, weights: { blue: 90, green: 10 }, cpus: undefined, workers })
  return { proxyUrl: child.proxyUrl, adminUrl: child.adminUrl, pid: child.process.pid }
}

/** CPU ms (user + system) used so far by `pid` and its children (the cluster's workers), from /proc. */
function treeCpuMs (pid: number): number {
  const tick = 1000 / 100 // USER_HZ
  let total = 0
  const visit = (p: number): void => {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8')
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      total += (Number(f[11]) + Number(f[12])) * tick
      for (const task of readFileSync(`/proc/${p}/task/${p}/children`, 'utf8').trim().split(' ')) if (task !== '') visit(Number(task))
    } catch { /* gone, or not Linux */ }
  }
  visit(pid)
  return total
}

function rotate<T> (list: readonly T[], by: number): T[] {
  const k = by % list.length
  return [...list.slice(k), ...list.slice(0, k)]
}

/** Runs the workers benchmark (servers started and stopped here). */
export async function runWorkers (): Promise<WorkersResult> {
  const cleanups = new Cleanups()
  try {
    const gen = pickLoadGen()
    const n = envNumber('WORKERS', 2, 2)
    const { connections, duration, warmup, rounds } = settings
    process.stdout.write(`workers (${gen}, ${connections} connections, ${duration} s × ${rounds} rounds, unpinned on ${cpus().length} CPUs)\n`)
    const upstreams = await startUpstreams(cleanups, undefined)
    const bare = await startBareProxy(cleanups, upstreams.blue, undefined)
    const one = await startWithWorkers(cleanups, upstreams, 1)
    const many = await startWithWorkers(cleanups, upstreams, n)
    const names = ['direct', 'baseline', 'workers-1', `workers-${n}`]
    const specs: Record<string, { url: string, headers?: Record<string, string> }> = {
      direct: { url: `${upstreams.blue}/` },
      baseline: { url: `${bare.url}/` },
      'workers-1': { url: `${one.proxyUrl}/`, headers: { cookie: await fetchStickyCookie(one.proxyUrl) } },
      [`workers-${n}`]: { url: `${many.proxyUrl}/`, headers: { cookie: await fetchStickyCookie(many.proxyUrl) } }
    }
    if (warmup > 0) for (const name of names) await runLoad(gen, { ...specs[name] as { url: string }, connections, seconds: warmup * 3 })
    const runs: Record<string, LoadResult[]> = Object.fromEntries(names.map((name) => [name, []]))
    const pids: Record<string, number> = { 'workers-1': one.pid, [`workers-${n}`]: many.pid }
    const cpuPerK: Record<string, number[]> = { 'workers-1': [], [`workers-${n}`]: [] }
    const ratios: number[] = []
    for (let r = 0; r < rounds; r++) {
      const round: Record<string, number> = {}
      for (const name of rotate(names, r)) {
        const spec = { ...specs[name] as { url: string }, connections }
        if (warmup > 0) await runLoad(gen, { ...spec, seconds: warmup })
        const pid = pids[name]
        const cpuBefore = pid === undefined ? 0 : treeCpuMs(pid)
        const result = await runLoad(gen, { ...spec, seconds: duration })
        if (pid !== undefined) cpuPerK[name]?.push((treeCpuMs(pid) - cpuBefore) / (result.reqPerSec * duration / 1000))
        runs[name]?.push(result)
        round[name] = result.reqPerSec
        process.stdout.write(`  round ${r + 1}/${rounds}  ${name.padEnd(10)} ${fmt(result.reqPerSec).padStart(8)} req/s  p99 ${fmt(result.p99Ms, 3)} ms${result.non2xx + result.errors > 0 ? `  non2xx ${result.non2xx} errors ${result.errors}` : ''}\n`)
      }
      ratios.push((round[`workers-${n}`] ?? 0) / (round['workers-1'] ?? 1))
    }
    const reqPerSec = Object.fromEntries(names.map((name) => [name, round(median((runs[name] ?? []).map((x) => x.reqPerSec)), 0)]))
    const cpuMsPerKiloRequest = Object.fromEntries(Object.entries(cpuPerK).map(([k, v]) => [k, round(median(v), 1)]))
    return { cpus: cpus().length, workers: n, connections, rounds, reqPerSec, ratio: round(median(ratios), 2), cpuMsPerKiloRequest, runs }
  } finally {
    await cleanups.run()
  }
}

if (isMain(import.meta.url)) {
  const r = await runWorkers()
  process.stdout.write(`\nmedian req/s: ${Object.entries(r.reqPerSec).map(([k, v]) => `${k} ${fmt(v)}`).join(', ')}\n`)
  process.stdout.write(`workers: ${r.workers} ÷ workers: 1 = ${r.ratio} (median of ${r.rounds} per-round ratios, ${r.cpus} CPUs shared with wrk and the upstream)\n`)
  process.stdout.write(`CPU ms per 1000 requests (primary + workers): ${Object.entries(r.cpuMsPerKiloRequest).map(([k, v]) => `${k} ${v}`).join(', ')}\n`)
}
