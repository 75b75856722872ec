/**
 * The soak's well-behaved clients: closed loops over keep-alive undici Pools (one per
 * instance), alternating between the instances request by request. Sticky loops keep the
 * `swy` cookie they are given and send it back; fresh loops never send one. Every request is
 * checked: status 2xx and a body naming a color (for /stream: every line, all of them; for a
 * POST: the upstream counted every byte). What failed is kept with its times, so it can be
 * set against the kills afterwards.
 */
import { Pool } from 'undici'
import { STREAM_LINES } from './soak-cluster.js'

/** How one failed request failed. */
export type FailureKind =
  /** An HTTP answer outside 2xx (status and error code recorded). */
  | 'status'
  /** The request failed before any answer (connect, reset, our own timeout). */
  | 'no-answer'
  /** A 2xx whose body failed while being read (the response was cut). */
  | 'body-error'
  /** A 2xx whose body arrived complete but is wrong (no color, short stream, wrong count). */
  | 'bad-body'

/** A failed request, times in ms since the soak's start. */
export interface Failure {
  readonly kind: FailureKind
  readonly start: number
  readonly end: number
  readonly instance: number
  readonly sticky: boolean
  readonly method: string
  readonly path: string
  readonly status: number
  /** The `error` of a switchyard JSON error body, or the client's error code. */
  readonly code: string
  /** The color named in a switchyard error message (`(color "blue")`), else ''. */
  readonly color: string
  /** `x-upstream-id` of the answer, when headers arrived. */
  readonly target: string
  readonly message: string
}

/** What the loops measured. */
export interface ClientStats {
  total: number
  ok: number
  /** Latency of every good request, ms. */
  readonly latencies: number[]
  /** The same by request kind: `GET /`, `GET /stream` (in flight ≈ 150 ms by design), `POST /`. */
  readonly latenciesByKind: Record<string, number[]>
  readonly failures: Failure[]
  /** Non-2xx answers by status. */
  readonly non2xx: Record<string, number>
  /** Good answers per color. */
  readonly byColor: Record<string, number>
  /** Cookies replaced by a new Set-Cookie (sticky loops). */
  cookieChanges: number
}

/** The loops' shape. */
export interface LoopSpec {
  readonly proxyUrls: readonly string[]
  readonly stickyLoops: number
  readonly freshLoops: number
  /** performance.now() at the soak's start (the zero of recorded times). */
  readonly t0: number
  /** performance.now() after which no loop starts another request. */
  readonly until: number
  /** At most this many requests per loop. */
  readonly maxPerLoop: number
  /** Pause between two requests of a loop, ms (0: none). */
  readonly pauseMs: number
  /** Per-request client timeout (headers and body), ms. */
  readonly timeoutMs: number
  /** Stops the loops early (an instance died). */
  readonly signal?: AbortSignal
}

const POST_BODY = Buffer.alloc(1024, 'x')
const COLOR_LINE = /^(blue|green)$/

function errorCode (e: unknown): string {
  let cur: unknown = e
  for (let i = 0; i < 4 && typeof cur === 'object' && cur !== null; i++) {
    const code = (cur as { code?: unknown }).code
    if (typeof code === 'string') return code
    cur = (cur as { cause?: unknown }).cause
  }
  return e instanceof Error ? e.name : 'Error'
}

/** Checks a good answer's body; '' when it is right, else what is wrong. */
function bodyProblem (method: string, path: string, body: string): string {
  if (method === 'POST') {
    const m = /^(blue|green) (\d+)\n$/.exec(body)
    if (m === null) return `POST answer does not name a color: ${JSON.stringify(body.slice(0, 80))}`
    if (Number(m[2]) !== POST_BODY.length) return `upstream received ${m[2]} of ${POST_BODY.length} body bytes`
    return ''
  }
  const lines = body.split('\n')
  if (lines.at(-1) === '') lines.pop()
  const want = path === '/stream' ? STREAM_LINES : 1
  if (lines.length !== want || !lines.every((l) => COLOR_LINE.test(l)) || new Set(lines).size !== 1) {
    return `expected ${want} line(s) of one color, got ${JSON.stringify(body.slice(0, 80))}`
  }
  return ''
}

/** Runs the loops until `until`; resolves with everything they saw. */
export async function runClientLoops (spec: LoopSpec): Promise<ClientStats> {
  const stats: ClientStats = { total: 0, ok: 0, latencies: [], latenciesByKind: { 'GET /': [], 'GET /stream': [], 'POST /': [] }, failures: [], non2xx: {}, byColor: {}, cookieChanges: 0 }
  const pools = spec.proxyUrls.map((url) => new Pool(url, {
    connections: spec.stickyLoops + spec.freshLoops,
    pipelining: 1,
    headersTimeout: spec.timeoutMs,
    bodyTimeout: spec.timeoutMs
  }))
  const since = (t: number): number => Math.round((t - spec.t0) * 10) / 10

  const loop = async (index: number, sticky: boolean): Promise<void> => {
    let cookie = ''
    for (let n = 0; n < spec.maxPerLoop && performance.now() < spec.until && spec.signal?.aborted !== true; n++) {
      const instance = (index + n) % pools.length
      const pool = pools[instance] as Pool
      // 6 in 10 plain GETs, 2 streamed GETs (in flight ≈ 150 ms), 2 POSTs with a 1 KiB body.
      const k = n % 10
      const method = k >= 8 ? 'POST' : 'GET'
      const path = k === 6 || k === 7 ? '/stream' : '/'
      const headers: Record<string, string> = {}
      if (sticky && cookie !== '') headers.cookie = cookie
      if (method === 'POST') headers['content-type'] = 'application/octet-stream'
      const start = performance.now()
      let status = 0
      let target = ''
      let stage: 'headers' | 'body' = 'headers'
      stats.total++
      try {
        const res = await pool.request({ method, path, headers, body: method === 'POST' ? POST_BODY : null })
        status = res.statusCode
        const t = res.headers['x-upstream-id']
        target = typeof t === 'string' ? t : ''
        stage = 'body'
        const body = await res.body.text()
        const end = performance.now()
        if (sticky) {
          const raw = res.headers['set-cookie']
          const list = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw]
          const c = list.find((v) => v.startsWith('swy='))
          if (c !== undefined) {
            const value = c.split(';', 1)[0] as string
            if (cookie !== '' && value !== cookie) stats.cookieChanges++
            cookie = value
          }
        }
        if (status < 200 || status > 299) {
          stats.non2xx[status] = (stats.non2xx[status] ?? 0) + 1
          let code = ''
          let message = body.slice(0, 200)
          try {
            const j = JSON.parse(body) as { error?: string, message?: string }
            code = j.error ?? ''
            message = j.message ?? message
          } catch { /* not JSON */ }
          const color = /\(color "([^"]*)"\)/.exec(message)?.[1] ?? ''
          stats.failures.push({ kind: 'status', start: since(start), end: since(end), instance, sticky, method, path, status, code, color, target, message })
        } else {
          const problem = bodyProblem(method, path, body)
          if (problem !== '') {
            stats.failures.push({ kind: 'bad-body', start: since(start), end: since(end), instance, sticky, method, path, status, code: '', color: '', target, message: problem })
          } else {
            stats.ok++
            stats.latencies.push(end - start)
            stats.latenciesByKind[`${method} ${path}`]?.push(end - start)
            const color = /^(blue|green)/.exec(body)?.[1] ?? '?'
            stats.byColor[color] = (stats.byColor[color] ?? 0) + 1
          }
        }
      } catch (e) {
        const end = performance.now()
        stats.failures.push({
          kind: stage === 'body' ? 'body-error' : 'no-answer',
          start: since(start),
          end: since(end),
          instance,
          sticky,
          method,
          path,
          status,
          code: errorCode(e),
          color: '',
          target,
          message: (e as Error).message
        })
      }
      if (spec.pauseMs > 0) await new Promise((resolve) => setTimeout(resolve, spec.pauseMs))
    }
  }

  const loops: Array<Promise<void>> = []
  for (let i = 0; i < spec.stickyLoops; i++) loops.push(loop(i, true))
  for (let i = 0; i < spec.freshLoops; i++) loops.push(loop(i, false))
  await Promise.all(loops)
  await Promise.all(pools.map((p) => p.close()))
  return stats
}
