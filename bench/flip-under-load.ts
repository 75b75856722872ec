/**
 * Flips under load: steady traffic from fresh clients (no cookie, so every request is routed
 * by the current weights) through switchyard while the admin API flips all traffic between
 * blue and green every FLIP_EVERY_MS, FLIPS times. Every response's color (the upstream's
 * x-upstream-color header) is recorded with its send time.
 *
 * For each flip: the stale window is the time from the flip's 200 answer to the send time of
 * the last request, sent after that answer (and before the next flip), that still reached the
 * old color; 0 when none did. Also the time from sending the flip to the first response from
 * the new color. Prints failed requests, non-2xx, and p50/p99/max of both.
 *
 *   node --import tsx bench/flip-under-load.ts   (FLIPS, FLIP_EVERY_MS, FLIP_CONNECTIONS, QUICK=1)
 */
import { execFileSync } from 'node:child_process'
import { Pool, request } from 'undici'
import { cpuPlan, Cleanups } from './lib/children.js'
import { isMain } from './lib/micro.js'
import { settings } from './lib/options.js'
import { fmt, percentile, round } from './lib/stats.js'
import { startSwitchyardChild, startUpstreams } from './lib/switchyard.js'

/** The distribution of a per-flip figure, in ms. */
export interface Spread {
  readonly p50Ms: number
  readonly p99Ms: number
  readonly maxMs: number
}

/** What flip-under-load measured. */
export interface FlipResult {
  readonly flips: number
  readonly everyMs: number
  readonly connections: number
  /** Flips the admin API did not answer 200. */
  readonly flipsFailed: number
  readonly requests: number
  readonly reqPerSec: number
  /** Requests that failed at the socket (no HTTP answer). */
  readonly failed: number
  readonly non2xx: number
  /** Requests sent after a flip's 200 answer that still reached the old color. */
  readonly staleAfterAnswer: number
  /** Flips with at least one request sent between their answer and the next flip. */
  readonly measuredFlips: number
  /** Flip answered → last request still reaching the old color (0 when none). */
  readonly staleWindow: Spread
  /** Flip sent → first response from the new color. */
  readonly firstNewColor: Spread
}

const BLUE = 0
const GREEN = 1
const OTHER = 2

const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, Math.max(0, ms))) }

function spread (values: number[]): Spread {
  values.sort((a, b) => a - b)
  return { p50Ms: round(percentile(values, 50), 3), p99Ms: round(percentile(values, 99), 3), maxMs: round(values.at(-1) ?? Number.NaN, 3) }
}

/** Pins this process (the client loop) to a CPU list; returns the list to restore, if any. */
function pinSelf (cpus: string | undefined, all: string): () => void {
  if (cpus === undefined) return () => {}
  const set = (list: string): void => { execFileSync('taskset', ['-a', '-cp', list, String(process.pid)], { stdio: 'ignore' }) }
  set(cpus)
  return () => { set(all) }
}

/** Runs the flip-under-load benchmark (servers started and stopped here). */
export async function runFlipUnderLoad (): Promise<FlipResult> {
  const cleanups = new Cleanups()
  const plan = cpuPlan()
  const { flips, flipEveryMs: everyMs, flipConnections: connections } = settings
  process.stdout.write(`flip-under-load (${flips} flips every ${everyMs} ms, ${connections} client loops without cookies)\n`)
  const unpin = pinSelf(plan.load, `0-${plan.cpus - 1}`)
  try {
    const upstreams = await startUpstreams(cleanups, plan.servers)
    const sy = await startSwitchyardChild(cleanups, { upstreams, weights: { blue: 100, green: 0 }, cpus: plan.servers })
    const pool = new Pool(sy.proxyUrl, { connections, pipelining: 1 })
    cleanups.teardown(() => pool.close())

    const sent: number[] = []
    const received: number[] = []
    const colors: number[] = []
    let failed = 0
    let non2xx = 0
    let running = true
    const loop = async (): Promise<void> => {
      while (running) {
        const t = performance.now()
        try {
          const res = await pool.request({ method: 'GET', path: '/' })
          await res.body.dump()
          if (res.statusCode < 200 || res.statusCode > 299) non2xx++
          const c = res.headers['x-upstream-color']
          sent.push(t)
          received.push(performance.now())
          colors.push(c === 'blue' ? BLUE : c === 'green' ? GREEN : OTHER)
        } catch {
          failed++
        }
      }
    }
    const loops = Array.from({ length: connections }, loop)

    // Warm the JIT and the connections before the first flip.
    await sleep(Math.max(300, settings.warmup * 1000))
    const flipSent: number[] = []
    const flipAnswered: number[] = []
    let flipsFailed = 0
    const start = performance.now()
    for (let k = 0; k < flips; k++) {
      await sleep(start + k * everyMs - performance.now())
      const to = k % 2 === 0 ? 'green' : 'blue'
      flipSent.push(performance.now())
      const r = await request(`${sy.adminUrl}/flip`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ to, reason: `flip-under-load ${k}` }) })
      await r.body.dump()
      flipAnswered.push(performance.now())
      if (r.statusCode !== 200) flipsFailed++
    }
    await sleep(everyMs)
    running = false
    await Promise.all(loops)
    const elapsed = (performance.now() - start) / 1000

    const stale: number[] = []
    const firstNew: number[] = []
    let staleAfterAnswer = 0
    let measuredFlips = 0
    for (let k = 0; k < flips; k++) {
      const now = k % 2 === 0 ? GREEN : BLUE
      const old = now === GREEN ? BLUE : GREEN
      const answered = flipAnswered[k] as number
      const issued = flipSent[k] as number
      const next = flipSent[k + 1] ?? Number.POSITIVE_INFINITY
      let lastStale = -1
      let inWindow = 0
      let firstNewAt = Number.POSITIVE_INFINITY
      for (let i = 0; i < sent.length; i++) {
        const t = sent[i] as number
        if (t < issued || t >= next) continue
        const c = colors[i] as number
        if (c === now && (received[i] as number) < firstNewAt) firstNewAt = received[i] as number
        if (t < answered) continue
        inWindow++
        if (c === old) { staleAfterAnswer++; if (t > lastStale) lastStale = t }
      }
      if (inWindow > 0) {
        measuredFlips++
        stale.push(lastStale < 0 ? 0 : lastStale - answered)
      }
      if (Number.isFinite(firstNewAt)) firstNew.push(Math.max(0, firstNewAt - issued))
    }
    return {
      flips,
      everyMs,
      connections,
      flipsFailed,
      requests: sent.length,
      reqPerSec: Math.round(sent.length / elapsed),
      failed,
      non2xx,
      staleAfterAnswer,
      measuredFlips,
      staleWindow: spread(stale),
      firstNewColor: spread(firstNew)
    }
  } finally {
    unpin()
    await cleanups.run()
  }
}

/** Prints the flip-under-load summary. */
export function printFlip (f: FlipResult): void {
  process.stdout.write([
    `flip-under-load summary (${f.flips} flips every ${f.everyMs} ms, ${f.connections} loops, ${fmt(f.requests)} requests, ${fmt(f.reqPerSec)} req/s)`,
    `  failed ${f.failed}, non-2xx ${f.non2xx}, flips not answered 200: ${f.flipsFailed}`,
    `  requests after a flip's 200 still on the old color: ${f.staleAfterAnswer} (over ${f.measuredFlips} measured flips)`,
    `  stale window after the 200:  p50 ${fmt(f.staleWindow.p50Ms, 3)} ms  p99 ${fmt(f.staleWindow.p99Ms, 3)} ms  max ${fmt(f.staleWindow.maxMs, 3)} ms`,
    `  flip sent → first new color: p50 ${fmt(f.firstNewColor.p50Ms, 3)} ms  p99 ${fmt(f.firstNewColor.p99Ms, 3)} ms  max ${fmt(f.firstNewColor.maxMs, 3)} ms`
  ].join('\n') + '\n')
}

if (isMain(import.meta.url)) {
  runFlipUnderLoad().then(printFlip).catch((e: unknown) => { process.stderr.write(`${(e as Error).stack ?? String(e)}\n`); process.exitCode = 1 })
}
