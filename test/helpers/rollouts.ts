/**
 * What the rollout tests share: upstreams whose faults can be switched (every Nth request a
 * 500, or a delay), a loop of real traffic through the proxy, and reads of the rollout.
 */
import { createServer, type Server } from 'node:http'
import { listenLoopback, until, type Teardown } from './harness.js'
import { adminCall, send } from './services.js'

/** What an upstream does wrong: every `errorEvery`-th request answers 500; every answer waits `delayMs`. */
export interface Fault {
  errorEvery?: number
  delayMs?: number
}

/** A real upstream with a switchable fault. */
export interface FaultyUpstream {
  readonly color: string
  readonly url: string
  fault: Fault
  served: number
}

/** Starts an upstream answering `<color>`, with `fault` (changeable later). */
export async function startFaultyUpstream (t: Teardown, color: string, fault: Fault = {}): Promise<FaultyUpstream> {
  const u: { color: string, url: string, fault: Fault, served: number } = { color, url: '', fault, served: 0 }
  const server: Server = createServer((req, res) => {
    req.resume()
    u.served++
    const n = u.served
    const answer = (): void => {
      const fail = u.fault.errorEvery !== undefined && n % u.fault.errorEvery === 0
      res.statusCode = fail ? 500 : 200
      res.setHeader('content-type', 'text/plain')
      res.setHeader('x-upstream-color', color)
      res.end(fail ? `${color} failed` : color)
    }
    if (u.fault.delayMs !== undefined && u.fault.delayMs > 0) setTimeout(answer, u.fault.delayMs)
    else answer()
  })
  const { port, close } = await listenLoopback(server)
  t.teardown(close)
  u.url = `http://127.0.0.1:${port}`
  return u
}

/**
 * Sends requests as new clients (no cookie), `concurrency` at a time, until stopped (in
 * teardown at the latest). `failures` lists every answer that was not 2xx and every request
 * that threw, in words (a test that expects none prints them).
 */
export function trafficLoop (t: Teardown, proxyUrl: string, concurrency = 4): { stop: () => Promise<void>, sent: () => number, failures: () => readonly string[] } {
  let running = true
  let sent = 0
  const failures: string[] = []
  const stopped = (): boolean => !running
  const workers = Array.from({ length: concurrency }, async () => {
    while (running) {
      try {
        const answer = await send(`${proxyUrl}/`)
        if (answer.status < 200 || answer.status > 299) failures.push(`${answer.status} ${answer.body}`)
      } catch (e) {
        if (!stopped()) failures.push(String(e)) // else the proxy may be closing
      }
      sent++
    }
  })
  const stop = async (): Promise<void> => { running = false; await Promise.all(workers) }
  t.teardown(stop)
  return { stop, sent: () => sent, failures: () => failures }
}

/** One side of an analysis as the API shows it. */
export interface SideJson { readonly requests: number, readonly errorRatio: number, readonly latency: number }
/** One analysis as the API shows it. */
export interface AnalysisJson { readonly at: string, readonly step: number, readonly verdict: string, readonly why: string, readonly from: SideJson, readonly to: SideJson }
/** The parts of GET /rollout's rollout the tests read. */
export interface RolloutJson {
  readonly id: string
  readonly phase: string
  readonly active: boolean
  readonly stepIndex: number
  readonly stage: string
  readonly stepVersion: number | null
  readonly stepStartedAt: string | null
  readonly driver: string | null
  readonly analyses: AnalysisJson[]
  readonly lastAnalysis: AnalysisJson
  readonly consecutiveFailures: number
  readonly stepPasses: number
  readonly stepElapsedSeconds: number
  readonly reference: SideJson
  readonly endReason: string
}
/** One history entry as GET /history shows it. */
export interface HistoryJson {
  readonly kind: string
  readonly changedBy: string
  readonly reason: string
  readonly rollout?: { readonly id: string, readonly event: string, readonly step: number, readonly verdict?: string }
  readonly after: { readonly weights: Record<string, number> }
}

/** The rollout as GET /rollout shows it (throws on anything but 200). */
export async function rolloutOf (adminUrl: string): Promise<RolloutJson> {
  const a = await adminCall(adminUrl, 'GET', '/rollout')
  if (a.status !== 200) throw new Error(`GET /rollout answered ${a.status}: ${a.body}`)
  return (a.json as { rollout: RolloutJson }).rollout
}

/** Waits until the rollout satisfies `ok`, saying where it was when the wait gave up. */
export async function untilRollout (adminUrl: string, what: string, ok: (r: RolloutJson) => boolean, timeoutMs = 90_000): Promise<RolloutJson> {
  let last: RolloutJson | undefined
  await until(what, async () => { last = await rolloutOf(adminUrl); return ok(last) }, {
    timeoutMs,
    everyMs: 50,
    detail: () => JSON.stringify({ phase: last?.phase, stepIndex: last?.stepIndex, stage: last?.stage, consecutiveFailures: last?.consecutiveFailures, lastAnalysis: last?.lastAnalysis })
  })
  return last as RolloutJson
}

/** History entries of kind rollout, oldest first. */
export async function rolloutHistory (adminUrl: string): Promise<HistoryJson[]> {
  const a = await adminCall(adminUrl, 'GET', '/history?limit=1000')
  const entries = (a.json as { entries: HistoryJson[] }).entries
  return entries.filter((e) => e.kind === 'rollout').reverse()
}
