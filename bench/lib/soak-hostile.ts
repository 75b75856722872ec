/**
 * Hostile clients of the soak, on raw node:net sockets to the data listener: headers undici
 * refuses (Keep-Alive, a bare Upgrade, Expect: 100-continue), uploads abandoned halfway,
 * malformed chunked bodies, bodies over proxy.bodyLimit (by Content-Length and chunked),
 * slowloris headers, trickled bodies and pipelined bursts. None is a failure whatever it gets:
 * the soak counts what each got (the final statuses seen, in order, and how the socket
 * ended). Each one is bounded by a deadline, after which it is destroyed.
 */
import { connect, type Socket } from 'node:net'

/** What a hostile script can do with its socket. */
interface Ctx {
  write (data: string | Buffer): void
  sleep (ms: number): Promise<void>
  /** False once the socket closed (the script should stop). */
  alive (): boolean
  /** Resolves when an interim or final status `code` was seen, or after `ms`. */
  seen (code: string, ms: number): Promise<boolean>
  /** Destroys the socket: the client walks away. */
  abandon (): void
}

/** One kind of hostile client. */
export interface HostileKind {
  readonly name: string
  /** What a healthy edge proxy answers (documentation for the report, not a check). */
  readonly expect: string
  /** Final (non-1xx) answers after which the client is done and closes. */
  readonly responses: number
  run (ctx: Ctx, bodyLimit: number): Promise<void>
}

const H = 'Host: 127.0.0.1\r\n'

/** The hostile kinds, in the order they are sent (round robin). */
export const HOSTILE_KINDS: readonly HostileKind[] = [
  {
    name: 'keep-alive-header',
    expect: '200 (Keep-Alive is hop-by-hop: dropped, not a 502)',
    responses: 1,
    async run (c) { c.write(`GET / HTTP/1.1\r\n${H}Keep-Alive: timeout=5, max=100\r\n\r\n`) }
  },
  {
    name: 'upgrade-bare',
    expect: '200 (a bare Upgrade is dropped)',
    responses: 1,
    async run (c) { c.write(`GET / HTTP/1.1\r\n${H}Upgrade: foo\r\n\r\n`) }
  },
  {
    name: 'upgrade-connection',
    expect: 'a 4xx or a close (not a WebSocket upgrade)',
    responses: 1,
    async run (c) { c.write(`GET / HTTP/1.1\r\n${H}Connection: Upgrade\r\nUpgrade: foo\r\n\r\n`) }
  },
  {
    name: 'expect-continue',
    expect: '100 then 200',
    responses: 1,
    async run (c) {
      c.write(`POST / HTTP/1.1\r\n${H}Content-Type: application/octet-stream\r\nContent-Length: 4096\r\nExpect: 100-continue\r\n\r\n`)
      await c.seen('100', 1000)
      c.write(Buffer.alloc(4096, 'e'))
    }
  },
  {
    name: 'abandoned-upload',
    expect: 'nothing (the client leaves mid-body)',
    responses: 1,
    async run (c, limit) {
      const size = Math.min(60_000, Math.max(2, limit))
      c.write(`POST / HTTP/1.1\r\n${H}Content-Type: application/json\r\nContent-Length: ${size}\r\n\r\n`)
      c.write(Buffer.alloc(size >> 1, 'a'))
      await c.sleep(50)
      c.abandon()
    }
  },
  {
    name: 'malformed-chunked',
    expect: '400',
    responses: 1,
    async run (c) { c.write(`POST / HTTP/1.1\r\n${H}Content-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nzz\r\nnot a chunk\r\n0\r\n\r\n`) }
  },
  {
    name: 'over-limit-length',
    expect: '413',
    responses: 1,
    async run (c, limit) {
      const size = limit + 32 * 1024
      c.write(`POST / HTTP/1.1\r\n${H}Content-Type: application/octet-stream\r\nContent-Length: ${size}\r\n\r\n`)
      for (let sent = 0; sent < size && c.alive(); sent += 8192) {
        c.write(Buffer.alloc(Math.min(8192, size - sent), 'o'))
        await c.sleep(5)
      }
    }
  },
  {
    name: 'over-limit-chunked',
    expect: '413 (or a close if the answer had started)',
    responses: 1,
    async run (c, limit) {
      const size = limit + 32 * 1024
      c.write(`POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n`)
      for (let sent = 0; sent < size && c.alive(); sent += 8192) {
        c.write(`2000\r\n${'c'.repeat(8192)}\r\n`)
        await c.sleep(5)
      }
      if (c.alive()) c.write('0\r\n\r\n')
    }
  },
  {
    name: 'slowloris',
    expect: '408 after proxy.headersTimeoutMs, then a close',
    responses: 1,
    async run (c) {
      c.write(`GET / HTTP/1.1\r\n${H}`)
      for (let i = 0; c.alive() && i < 100; i++) {
        await c.sleep(300)
        c.write(`X-Slow-${i}: y\r\n`)
      }
    }
  },
  {
    name: 'trickle-body',
    expect: '408 after proxy.requestTimeoutMs, then a close',
    responses: 1,
    async run (c) {
      c.write(`POST / HTTP/1.1\r\n${H}Content-Type: text/plain\r\nContent-Length: 64\r\n\r\n`)
      for (let i = 0; c.alive() && i < 64; i++) {
        await c.sleep(250)
        c.write('t')
      }
    }
  },
  {
    name: 'pipelined',
    expect: '200×8',
    responses: 8,
    async run (c) {
      let burst = ''
      for (let i = 0; i < 8; i++) burst += `GET ${i % 4 === 3 ? '/stream' : '/'} HTTP/1.1\r\n${H}${i === 7 ? 'Connection: close\r\n' : ''}\r\n`
      c.write(burst)
    }
  },
  {
    name: 'pipelined-hostile',
    expect: '200×4 (the Keep-Alive and TE headers dropped)',
    responses: 4,
    async run (c) {
      c.write(`GET / HTTP/1.1\r\n${H}\r\n` +
        `GET / HTTP/1.1\r\n${H}Keep-Alive: timeout=1\r\n\r\n` +
        `GET / HTTP/1.1\r\n${H}TE: trailers\r\nConnection: TE\r\n\r\n` +
        `GET / HTTP/1.1\r\n${H}Connection: close\r\n\r\n`)
    }
  }
]

const STATUS = /HTTP\/1\.[01] (\d{3})/g

/** `200×3,502` style summary of statuses in order. */
function summarize (codes: readonly string[]): string {
  const out: Array<[string, number]> = []
  for (const c of codes) {
    const last = out.at(-1)
    if (last !== undefined && last[0] === c) last[1]++
    else out.push([c, 1])
  }
  return out.length === 0 ? 'none' : out.map(([c, n]) => (n === 1 ? c : `${c}×${n}`)).join(',')
}

/**
 * Runs one hostile client against 127.0.0.1:port; resolves to what it got, e.g.
 * `413 answered`, `none closed`, `100,200 answered`, `none timeout`, `none abandoned`.
 * Endings: answered (every final answer arrived, we closed), closed (the server ended the
 * socket), reset (the server reset it), abandoned (the script walked away), timeout (our
 * deadline; we destroyed it).
 */
export async function runHostile (kind: HostileKind, port: number, bodyLimit: number, deadlineMs: number): Promise<string> {
  const sock: Socket = connect({ host: '127.0.0.1', port })
  let buf = ''
  let ended: 'answered' | 'closed' | 'reset' | 'abandoned' | 'timeout' | '' = ''
  let open = true
  let wake: (() => void) | undefined
  const codes = (): string[] => [...buf.matchAll(STATUS)].map((m) => m[1] as string)
  const finals = (): number => codes().filter((c) => c[0] !== '1').length
  const done = new Promise<void>((resolve) => {
    const timer = setTimeout(() => { if (ended === '') ended = 'timeout'; sock.destroy(); resolve() }, deadlineMs)
    sock.on('data', (d: Buffer) => {
      buf += d.toString('latin1')
      wake?.()
      if (ended === '' && finals() >= kind.responses) { ended = 'answered'; sock.destroy() }
    })
    sock.on('error', (e: NodeJS.ErrnoException) => { if (ended === '' && e.code === 'ECONNRESET') ended = 'reset' })
    sock.on('end', () => { if (ended === '') ended = 'closed'; sock.end() })
    sock.on('close', () => { open = false; if (ended === '') ended = 'closed'; clearTimeout(timer); wake?.(); resolve() })
  })
  const ctx: Ctx = {
    write: (data) => { if (open && !sock.destroyed && sock.writable) sock.write(data) },
    sleep: async (ms) => { await new Promise((resolve) => setTimeout(resolve, ms)) },
    alive: () => open && !sock.destroyed,
    seen: async (code, ms) => {
      const until = Date.now() + ms
      while (open && Date.now() < until) {
        if (codes().includes(code)) return true
        await new Promise<void>((resolve) => { wake = resolve; setTimeout(resolve, 20) })
      }
      return codes().includes(code)
    },
    abandon: () => { if (ended === '') ended = 'abandoned'; sock.destroy() }
  }
  await new Promise<void>((resolve) => sock.once('connect', resolve).once('close', resolve))
  if (ctx.alive()) await kind.run(ctx, bodyLimit).catch(() => {})
  await done
  return `${summarize(codes())} ${ended}`
}

/** Counts of what each hostile kind got. */
export type HostileCounts = Record<string, Record<string, number>>

/** The launcher's shape. */
export interface HostileSpec {
  /** The kinds sent, round robin (default: all). */
  readonly kinds?: readonly HostileKind[]
  readonly ports: readonly number[]
  readonly perSecond: number
  readonly until: number
  readonly bodyLimit: number
  readonly deadlineMs: number
  /** At most this many hostile sockets at once (a launch is skipped beyond it). */
  readonly maxActive: number
  /** Stops launching early (an instance died). */
  readonly signal?: AbortSignal
  /** performance.now() at the soak's start (the zero of recorded times). */
  readonly t0: number
}

/** One hostile client's run, times in ms since the soak's start. */
export interface HostileRun {
  readonly kind: string
  readonly outcome: string
  readonly port: number
  readonly start: number
  readonly end: number
}

/** Launches hostile clients at `perSecond` until `until`; resolves once every one has ended. */
export async function runHostileClients (spec: HostileSpec): Promise<{ launched: number, skipped: number, counts: HostileCounts, runs: HostileRun[] }> {
  const counts: HostileCounts = {}
  const runs: HostileRun[] = []
  const running = new Set<Promise<void>>()
  let launched = 0
  let skipped = 0
  const every = 1000 / Math.max(0.001, spec.perSecond)
  const kinds = spec.kinds ?? HOSTILE_KINDS
  const start = performance.now()
  for (let n = 0; spec.perSecond > 0 && kinds.length > 0; n++) {
    const at = start + n * every
    if (at >= spec.until || spec.signal?.aborted === true) break
    const wait = at - performance.now()
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait))
    if (running.size >= spec.maxActive) { skipped++; continue }
    const kind = kinds[n % kinds.length] as HostileKind
    // Every kind goes to every instance in turn.
    const shift = kinds.length % spec.ports.length === 0 ? Math.floor(n / kinds.length) : 0
    const port = spec.ports[(n + shift) % spec.ports.length] as number
    launched++
    const begun = performance.now()
    const p: Promise<void> = runHostile(kind, port, spec.bodyLimit, spec.deadlineMs)
      .catch((e: unknown) => `error ${(e as Error).message}`)
      .then((outcome) => {
        const byOutcome = counts[kind.name] ??= {}
        byOutcome[outcome] = (byOutcome[outcome] ?? 0) + 1
        runs.push({ kind: kind.name, outcome, port, start: Math.round(begun - spec.t0), end: Math.round(performance.now() - spec.t0) })
        running.delete(p)
      })
    running.add(p)
  }
  await Promise.all(running)
  return { launched, skipped, counts, runs }
}
