/**
 * Scale benchmark: does a returning client cost the same when there are a million of them?
 * switchyard (90/10, cookie mode, metrics on) runs on a file store whose secret this script
 * wrote, so it can sign cookies exactly as a previous release did (node:crypto createHmac,
 * `<bucket>.<color>.<issuedAt>.<mac>`): N distinct valid cookies (distinct (bucket, issue
 * time) pairs, each naming the color its bucket holds at 90/10, so none is re-minted), and
 * wrk draws one at random per request (bench/servers/cookie-clients.lua; the same script for
 * every N, so the generator's cost is equal). In the same run, interleaved over rounds:
 *
 *   baseline          bare @fastify/http-proxy, no cookies
 *   fresh             switchyard, clients without cookies (every answer sets one)
 *   returning-1       switchyard, 1 distinct cookie
 *   returning-20k     switchyard, 20 000 distinct cookies (fit the verified-cookie table)
 *   returning-1M      switchyard, 1 000 000 distinct cookies (far more than the table holds:
 *                     nearly every request verifies its HMAC)
 *
 *   bare-1, bare-1M   controls: the same script and cookie files against the bare proxy
 *                     (which ignores cookies): what N clients cost the load generator itself
 *
 * Reports medians, per-round ratios (returning-N ÷ returning-1, fresh ÷ baseline, bare-N ÷
 * bare-1), the CPU time the server spent per request (from /proc: unlike req/s, it does not
 * move when the load generator or a neighbour is the bottleneck) and its ratio, and the
 * server's RSS after each run (the largest over the run, and at the end).
 *
 *   before-…          with SCALE_BEFORE=<dir> (another source tree, e.g. `git archive` of the
 *                     previous commit with node_modules linked): that switchyard too, on the
 *                     same secret, fresh and the first and last client counts, interleaved
 *                     with the others, so a change is measured before/after in one run
 *
 *   node --import tsx bench/scale.ts   (SCALE_CLIENTS=1,20000,1000000, SCALE_BEFORE, DURATION, WARMUP, ROUNDS, QUICK=1)
 */
import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { request } from 'undici'
import { hmacFor } from '../src/proxy/sticky-mac.js'
import { encodeStickyCookie } from '../src/routing/sticky-cookie.js'
import { BUCKETS } from '../src/routing/types.js'
import { colorForBucket, computeThresholds } from '../src/routing/weights.js'
import { ROOT } from '../test/helpers/harness.js'
import { cpuPlan, Cleanups, rssBytes } from './lib/children.js'
import { pickLoadGen, runLoad, type LoadResult } from './lib/load.js'
import { isMain } from './lib/micro.js'
import { QUICK, settings } from './lib/options.js'
import { fmt, median, round } from './lib/stats.js'
import { startBareProxy, startSwitchyardChild, startUpstreams } from './lib/switchyard.js'

/** Distinct returning clients per scenario. */
export const SCALE_CLIENTS: readonly number[] = (process.env.SCALE_CLIENTS ?? (QUICK ? '1,200,2000' : '1,20000,1000000')).split(',').map(Number)

/** One scenario's medians over rounds. */
export interface ScaleRow {
  readonly name: string
  /** Distinct cookies (0: no cookie). */
  readonly clients: number
  readonly reqPerSec: number
  readonly p50Ms: number
  readonly p99Ms: number
  /** Median over rounds of req/s ÷ the reference's (returning-1 for returning rows, baseline for fresh and baseline). */
  readonly ratio: number
  readonly ratioTo: string
  /** CPU time (user + system) the server under test spent per request, µs (median over rounds), and its ratio to the reference's. */
  readonly cpuUsPerRequest: number
  readonly cpuRatio: number
  /** switchyard's RSS right after each of this row's runs: the largest and the last (MB; bare proxy for baseline). */
  readonly rssMaxMB: number
  readonly rssEndMB: number
  readonly non2xx: number
  readonly errors: number
  readonly rounds: readonly LoadResult[]
}

/** What the scale benchmark measured (or why it did not run). */
export interface ScaleResult {
  readonly skipped?: string
  readonly durationSeconds: number
  readonly rounds: number
  readonly rows: readonly ScaleRow[]
}

const WEIGHTS = { blue: 9000, green: 1000 }
const COLORS = ['blue', 'green']
const mb = (bytes: number): number => round(bytes / 1024 / 1024, 1)

/** CPU seconds (user + system) a process has used so far, from /proc (NaN elsewhere). */
function cpuSeconds (pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS
  } catch {
    return Number.NaN
  }
}
const CLOCK_TICKS = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100

/** Writes `n` distinct valid Cookie headers, one a line, signed as a previous release did. */
async function writeCookies (file: string, n: number, secret: string, nowSeconds: number): Promise<void> {
  const mac = hmacFor(secret, 'sticky-cookie')
  const thresholds = computeThresholds(COLORS, WEIGHTS)
  const lines: string[] = []
  for (let i = 0; i < n; i++) {
    const bucket = (i * 7919) % BUCKETS
    // Distinct (bucket, issue time) for every i: BUCKETS per issue second, spread over the last hours.
    const issuedAt = nowSeconds - 600 - Math.floor(i / BUCKETS)
    const value = encodeStickyCookie({ bucket, color: COLORS[colorForBucket(thresholds, bucket)] as string, issuedAt }, mac)
    lines.push(`_ga=GA1.1.${100000 + (i % 900000)}.1700000000; swy=${value}; theme=dark`)
  }
  await writeFile(file, `${lines.join('\n')}\n`)
}

function rotate<T> (list: readonly T[], by: number): T[] {
  const k = by % list.length
  return [...list.slice(k), ...list.slice(0, k)]
}

const label = (n: number): string => n >= 1_000_000 ? `${n / 1_000_000}M` : n >= 1000 ? `${n / 1000}k` : String(n)

/** Runs the scale benchmark (servers started and stopped here). */
export async function runScale (): Promise<ScaleResult> {
  const { connections, duration, warmup, rounds } = settings
  if (pickLoadGen() !== 'wrk') return { skipped: 'needs wrk (apt-get install -y wrk): autocannon cannot draw a cookie per request', durationSeconds: duration, rounds, rows: [] }
  const cleanups = new Cleanups()
  const dir = await mkdtemp(join(tmpdir(), 'swy-scale-'))
  try {
    const plan = cpuPlan()
    process.stdout.write(`scale (wrk + cookie-clients.lua, ${connections} connections, ${duration} s × ${rounds} rounds, clients ${SCALE_CLIENTS.map(label).join(' / ')})\n`)
    const secret = randomBytes(32).toString('base64url')
    const stateFile = join(dir, 'state.json')
    await writeFile(stateFile, JSON.stringify({ format: 'switchyard-state/1', state: null, history: [], secret }))
    // The SCALE_BEFORE instance gets its own file with the same secret (a store is one process's).
    const beforeState = join(dir, 'state-before.json')
    await writeFile(beforeState, JSON.stringify({ format: 'switchyard-state/1', state: null, history: [], secret }))
    const now = Math.floor(Date.now() / 1000)
    const files: Record<number, string> = {}
    for (const n of SCALE_CLIENTS) {
      files[n] = join(dir, `cookies-${n}.txt`)
      await writeCookies(files[n], n, secret, now)
    }
    const upstreams = await startUpstreams(cleanups, plan.servers)
    const bare = await startBareProxy(cleanups, upstreams.blue, plan.servers)
    const sy = await startSwitchyardChild(cleanups, { upstreams, weights: { blue: 90, green: 10 }, cpus: plan.servers, stateFile })
    const beforeRoot = process.env.SCALE_BEFORE
    const before = beforeRoot === undefined || beforeRoot === '' ? undefined : await startSwitchyardChild(cleanups, { upstreams, weights: { blue: 90, green: 10 }, cpus: plan.servers, stateFile: beforeState, root: resolve(beforeRoot) })
    // The signed cookies must be honoured as sticky (an answer without a Set-Cookie), or the
    // returning rows would measure new clients.
    for (const n of SCALE_CLIENTS) {
      const first = (await readFile(files[n] as string, 'utf8')).split('\n', 1)[0] as string
      for (const url of before === undefined ? [sy.proxyUrl] : [sy.proxyUrl, before.proxyUrl]) {
        const res = await request(`${url}/`, { headers: { cookie: first } })
        await res.body.dump()
        if (res.statusCode !== 200 || res.headers['set-cookie'] !== undefined) throw new Error(`a cookie of the ${n}-client file was not honoured by ${url} (status ${res.statusCode}, set-cookie ${String(res.headers['set-cookie'])})`)
      }
    }
    const script = join(ROOT, 'bench/servers/cookie-clients.lua')
    interface Spec { name: string, clients: number, url: string, pid: number, ref: string, script?: string, env?: Record<string, string> }
    const one = `returning-${label(SCALE_CLIENTS[0] ?? 1)}`
    const most = SCALE_CLIENTS[SCALE_CLIENTS.length - 1] ?? 1
    const specs: Spec[] = [
      { name: 'baseline', clients: 0, url: `${bare.url}/`, pid: bare.process.pid, ref: 'baseline' },
      { name: 'fresh', clients: 0, url: `${sy.proxyUrl}/`, pid: sy.process.pid, ref: 'baseline' },
      ...SCALE_CLIENTS.map((n) => ({ name: `returning-${label(n)}`, clients: n, url: `${sy.proxyUrl}/`, pid: sy.process.pid, ref: one, script, env: { COOKIES: files[n] as string } })),
      // Controls: the same scripts and cookie files against the bare proxy, which ignores
      // cookies. A drop from bare-1 to bare-N is the load generator's own cost of N clients
      // (wrk's Lua table of N strings), not switchyard's.
      ...[SCALE_CLIENTS[0] ?? 1, most].map((n) => ({ name: `bare-${label(n)}`, clients: n, url: `${bare.url}/`, pid: bare.process.pid, ref: `bare-${label(SCALE_CLIENTS[0] ?? 1)}`, script, env: { COOKIES: files[n] as string } })),
      ...(before === undefined
        ? []
        : [
            { name: 'before-fresh', clients: 0, url: `${before.proxyUrl}/`, pid: before.process.pid, ref: 'baseline' },
            ...[SCALE_CLIENTS[0] ?? 1, most].map((n) => ({ name: `before-returning-${label(n)}`, clients: n, url: `${before.proxyUrl}/`, pid: before.process.pid, ref: `before-returning-${label(SCALE_CLIENTS[0] ?? 1)}`, script, env: { COOKIES: files[n] as string } }))
          ])
    ]
    const runs: Record<string, LoadResult[]> = {}
    const rss: Record<string, number[]> = {}
    const cpu: Record<string, number[]> = {}
    for (const s of specs) { runs[s.name] = []; rss[s.name] = []; cpu[s.name] = [] }
    if (warmup > 0) for (const s of specs) await runLoad('wrk', { ...s, connections, cpus: plan.load, seconds: warmup * 2 })
    for (let r = 0; r < rounds; r++) {
      for (const s of rotate(specs, r)) {
        const spec = { url: s.url, connections, cpus: plan.load, ...(s.script === undefined ? {} : { script: s.script, env: s.env ?? {} }) }
        if (warmup > 0) await runLoad('wrk', { ...spec, seconds: warmup })
        const cpu0 = cpuSeconds(s.pid)
        const result = await runLoad('wrk', { ...spec, seconds: duration })
        cpu[s.name]?.push(((cpuSeconds(s.pid) - cpu0) * 1e6) / Math.max(1, result.requests))
        runs[s.name]?.push(result)
        rss[s.name]?.push(rssBytes(s.pid))
        process.stdout.write(`  round ${r + 1}/${rounds}  ${s.name.padEnd(16)} ${fmt(result.reqPerSec).padStart(8)} req/s  p99 ${fmt(result.p99Ms, 2).padStart(6)} ms  RSS ${mb(rssBytes(s.pid))} MB${result.non2xx + result.errors > 0 ? `  non2xx ${result.non2xx} errors ${result.errors}` : ''}\n`)
      }
    }
    const rows: ScaleRow[] = specs.map((s) => {
      const own = runs[s.name] ?? []
      const ratioTo = s.ref
      const ref = runs[ratioTo] ?? []
      const ownCpu = cpu[s.name] ?? []
      const refCpu = cpu[ratioTo] ?? []
      const samples = rss[s.name] ?? []
      return {
        name: s.name,
        clients: s.clients,
        reqPerSec: Math.round(median(own.map((x) => x.reqPerSec))),
        p50Ms: round(median(own.map((x) => x.p50Ms)), 3),
        p99Ms: round(median(own.map((x) => x.p99Ms)), 3),
        ratio: round(median(own.map((x, i) => x.reqPerSec / (ref[i] as LoadResult).reqPerSec)), 3),
        ratioTo,
        cpuUsPerRequest: round(median(ownCpu), 1),
        cpuRatio: round(median(ownCpu.map((x, i) => x / (refCpu[i] as number))), 3),
        rssMaxMB: mb(Math.max(...samples)),
        rssEndMB: mb(samples[samples.length - 1] ?? Number.NaN),
        non2xx: own.reduce((a, x) => a + x.non2xx, 0),
        errors: own.reduce((a, x) => a + x.errors, 0),
        rounds: own
      }
    })
    return { durationSeconds: duration, rounds, rows }
  } finally {
    await cleanups.run()
    await rm(dir, { recursive: true, force: true })
  }
}

/** Prints the scale summary table. */
export function printScale (s: ScaleResult): void {
  if (s.skipped !== undefined) { process.stdout.write(`scale: skipped, ${s.skipped}\n`); return }
  const out = [`scale summary (wrk, medians of ${s.rounds} round${s.rounds === 1 ? '' : 's'} × ${s.durationSeconds} s; ratios are medians of per-round ratios)`]
  out.push(`  ${'scenario'.padEnd(16)} ${'clients'.padStart(9)} ${'req/s'.padStart(8)} ${'p99 ms'.padStart(7)}  ${'ratio'.padStart(6)} ${'to'.padEnd(13)} ${'CPU µs/req'.padStart(10)} ${'CPU ratio'.padStart(9)} ${'RSS max/end MB'.padStart(15)}`)
  for (const r of s.rows) {
    out.push(`  ${r.name.padEnd(16)} ${fmt(r.clients).padStart(9)} ${fmt(r.reqPerSec).padStart(8)} ${fmt(r.p99Ms, 2).padStart(7)}  ${fmt(r.ratio, 3).padStart(6)} ${r.ratioTo.padEnd(13)} ${fmt(r.cpuUsPerRequest, 1).padStart(10)} ${fmt(r.cpuRatio, 3).padStart(9)} ${`${r.rssMaxMB} / ${r.rssEndMB}`.padStart(15)}${r.non2xx + r.errors > 0 ? `  non2xx ${r.non2xx} errors ${r.errors}` : ''}`)
  }
  process.stdout.write(`${out.join('\n')}\n`)
}

if (isMain(import.meta.url)) {
  // Standalone: the figures also go to bench/results/scale.json (SCALE_RESULTS to change it).
  const file = resolve(ROOT, process.env.SCALE_RESULTS ?? (QUICK ? join(tmpdir(), 'switchyard-scale-quick.json') : 'bench/results/scale.json'))
  runScale().then(async (r) => {
    printScale(r)
    await writeFile(file, `${JSON.stringify({ date: new Date().toISOString(), quick: QUICK, cpus: cpus().length, loadAverage: loadavg(), settings, scale: r }, null, 2)}\n`)
    process.stdout.write(`wrote ${file}\n`)
  }).catch((e: unknown) => { process.stderr.write(`${(e as Error).stack ?? String(e)}\n`); process.exitCode = 1 })
}
