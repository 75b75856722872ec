/**
 * Raw-socket helpers for the adversarial suite: an upstream that records exactly what it
 * received (raw header names and values, body bytes, whether the request completed or was
 * cut), a raw HTTP/1.1 client over node:net / node:tls that writes bytes as given and parses
 * what comes back (interim 1xx, pipelined responses, close), and admin probes (targets,
 * in-flight, upstream error counters). Nothing here sleeps and asserts: waits are bounded
 * polls that fail with a message saying what did not happen.
 */
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http'
import { connect, type Socket } from 'node:net'
import { connect as tlsConnect } from 'node:tls'
import { request } from 'undici'
import type { Teardown } from '../helpers/services.js'
import { listenLoopback, until } from '../helpers/harness.js'

/** One request as the upstream received it. */
export interface Received {
  readonly method: string
  readonly url: string
  readonly httpVersion: string
  /** Header names and values exactly as they arrived, in order (name, value, name, value…). */
  readonly rawHeaders: readonly string[]
  readonly headers: IncomingHttpHeaders
  /** Body bytes received so far (all of them once `complete`). */
  body: Buffer
  /** True once the whole request (end of body) arrived. */
  complete: boolean
  /** True once the request or connection closed before the body ended or before the answer was written. */
  aborted: boolean
  /** Set when the upstream finished writing its response. */
  answered: boolean
}

/** A recording upstream; structurally a test/helpers `Upstream`, so `testConfig` takes it. */
export interface Recorder {
  readonly color: string
  readonly url: string
  readonly port: number
  readonly seen: IncomingHttpHeaders[]
  readonly received: Received[]
  /** Requests whose response has not been written and that did not abort. */
  readonly pending: () => number
  /** Answers every request held so far (paths starting with /hold wait for this). */
  release (): void
  /** Lower-case names of every header any received request carried. */
  headerNames (): Set<string>
  close (): Promise<void>
}

/** How a recorder answers: default 200 text/plain `<color>` with x-upstream-color and x-body-bytes. */
export interface RecorderOptions {
  /** Writes the whole response itself (after the body ended). */
  readonly respond?: (r: Received, res: ServerResponse) => void
}

/** Starts a recording upstream on 127.0.0.1:0 (closed in teardown). */
export async function startRecorder (t: Teardown, color: string, opts: RecorderOptions = {}): Promise<Recorder> {
  const received: Received[] = []
  const seen: IncomingHttpHeaders[] = []
  let held: Array<() => void> = []
  let released = false
  const server: Server = createServer((req, res) => {
    const r: Received = {
      method: req.method ?? '',
      url: req.url ?? '',
      httpVersion: req.httpVersion,
      rawHeaders: req.rawHeaders.slice(),
      headers: req.headers,
      body: Buffer.alloc(0),
      complete: false,
      aborted: false,
      answered: false
    }
    received.push(r)
    seen.push(req.headers)
    const parts: Buffer[] = []
    req.on('data', (d: Buffer) => { parts.push(d); r.body = Buffer.concat(parts) })
    req.on('end', () => {
      r.complete = true
      r.body = Buffer.concat(parts)
      const answer = (): void => {
        if (res.destroyed) return
        res.on('finish', () => { r.answered = true })
        if (opts.respond !== undefined) { opts.respond(r, res); return }
        res.setHeader('content-type', 'text/plain')
        res.setHeader('x-upstream-color', color)
        res.setHeader('x-body-bytes', String(r.body.length))
        res.end(color)
      }
      if (r.url.startsWith('/hold') && !released) held.push(answer)
      else answer()
    })
    const cut = (): void => { if (!r.complete) r.aborted = true }
    req.on('aborted', cut)
    req.on('close', cut)
    // The connection went away before the answer was written (a cut body, or a cancelled call).
    res.on('close', () => { if (!r.answered) r.aborted = true })
  })
  const { port, close } = await listenLoopback(server, 0, () => { released = true })
  t.teardown(close)
  return {
    color,
    url: `http://127.0.0.1:${port}`,
    port,
    seen,
    received,
    pending: () => received.filter((r) => !r.answered && !r.aborted).length,
    release () {
      const list = held
      held = []
      for (const answer of list) answer()
    },
    headerNames () {
      const names = new Set<string>()
      for (const r of received) for (let i = 0; i < r.rawHeaders.length; i += 2) names.add((r.rawHeaders[i] as string).toLowerCase())
      return names
    },
    close
  }
}

/** One HTTP response as it arrived on the raw socket. */
export interface RawResponse {
  readonly status: number
  readonly statusLine: string
  /** Lower-case header name → every value, in order. */
  readonly headers: ReadonlyMap<string, readonly string[]>
  readonly body: Buffer
  /** Interim (1xx) statuses received before this response. */
  readonly interim: readonly number[]
  /** The body parsed as JSON, when it is JSON. */
  readonly json: unknown
}

/** The `error` code of a JSON error body, or undefined. */
export function errorCode (r: RawResponse | undefined): string | undefined {
  const j = r?.json
  return typeof j === 'object' && j !== null && typeof (j as { error?: unknown }).error === 'string' ? (j as { error: string }).error : undefined
}

/** A header's first value, or undefined. */
export function header (r: RawResponse, name: string): string | undefined {
  return r.headers.get(name.toLowerCase())?.[0]
}

function tryParse (buf: Buffer, closed: boolean, headOnly: boolean): { response: RawResponse, used: number } | { interim: number, used: number } | null {
  const end = buf.indexOf('\r\n\r\n')
  if (end < 0) return null
  const head = buf.subarray(0, end).toString('latin1').split('\r\n')
  const statusLine = head[0] ?? ''
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? 'NaN')
  const headers = new Map<string, string[]>()
  for (const line of head.slice(1)) {
    const colon = line.indexOf(':')
    if (colon < 0) continue
    const name = line.slice(0, colon).trim().toLowerCase()
    const list = headers.get(name) ?? []
    list.push(line.slice(colon + 1).trim())
    headers.set(name, list)
  }
  const start = end + 4
  if (status >= 100 && status < 200) return { interim: status, used: start }
  let body: Buffer
  let used: number
  const te = headers.get('transfer-encoding')?.join(',').toLowerCase() ?? ''
  const cl = headers.get('content-length')?.[0]
  if (headOnly || status === 204 || status === 304) {
    body = Buffer.alloc(0)
    used = start
  } else if (te.includes('chunked')) {
    const parts: Buffer[] = []
    let at = start
    for (;;) {
      const eol = buf.indexOf('\r\n', at)
      if (eol < 0) return null
      const size = parseInt(buf.subarray(at, eol).toString('latin1').split(';')[0] as string, 16)
      if (Number.isNaN(size)) return null
      if (size === 0) {
        // Trailers end with an empty line.
        const fin = buf.indexOf('\r\n\r\n', eol)
        if (fin < 0) return null
        used = fin + 4
        break
      }
      if (buf.length < eol + 2 + size + 2) return null
      parts.push(buf.subarray(eol + 2, eol + 2 + size))
      at = eol + 2 + size + 2
    }
    body = Buffer.concat(parts)
  } else if (cl !== undefined) {
    const n = Number(cl)
    if (buf.length < start + n) return null
    body = buf.subarray(start, start + n)
    used = start + n
  } else {
    if (!closed) return null
    body = buf.subarray(start)
    used = buf.length
  }
  let json: unknown
  try { json = JSON.parse(body.toString('utf8')) } catch { json = undefined }
  return { response: { status, statusLine, headers, body: Buffer.from(body), interim: [], json }, used }
}

/** A raw client connection: write bytes as given, read responses as they come. */
export class RawClient {
  readonly socket: Socket
  readonly responses: RawResponse[] = []
  closed = false
  error: Error | undefined
  #buf = Buffer.alloc(0)
  #interim: number[] = []
  #headOnly: boolean
  #waiters: Array<() => void> = []
  readonly connected: Promise<void>

  constructor (port: number, opts: { tls?: boolean, head?: boolean } = {}) {
    this.#headOnly = opts.head === true
    this.socket = opts.tls === true
      ? tlsConnect({ port, host: '127.0.0.1', servername: 'localhost', rejectUnauthorized: false })
      : connect({ port, host: '127.0.0.1' })
    this.connected = new Promise((resolve, reject) => {
      this.socket.once(opts.tls === true ? 'secureConnect' : 'connect', () => resolve())
      this.socket.once('error', reject)
    })
    this.connected.catch(() => {})
    this.socket.on('data', (d: Buffer) => { this.#buf = Buffer.concat([this.#buf, d]); this.#parse() })
    this.socket.on('error', (e) => { this.error = e })
    this.socket.on('close', () => { this.closed = true; this.#parse(); this.#wake() })
  }

  /** Every interim (1xx) status seen so far that no final response consumed yet. */
  get interim (): readonly number[] { return this.#interim }

  #wake (): void {
    const list = this.#waiters
    this.#waiters = []
    for (const w of list) w()
  }

  #parse (): void {
    for (;;) {
      const r = tryParse(this.#buf, this.closed, this.#headOnly)
      if (r === null) break
      this.#buf = this.#buf.subarray(r.used)
      if ('interim' in r) { this.#interim.push(r.interim); continue }
      this.responses.push({ ...r.response, interim: this.#interim })
      this.#interim = []
      if (this.#buf.length === 0) break
    }
    this.#wake()
  }

  /** Bytes received that are not (yet) part of a parsed response. */
  get unparsed (): string { return this.#buf.toString('latin1') }

  write (data: string | Buffer): void {
    if (!this.socket.destroyed) this.socket.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : data)
  }

  /** Waits (bounded) until `cond` holds, re-checked on every byte received and on close. */
  async waitFor (what: string, cond: () => boolean, ms = 15_000): Promise<void> {
    if (cond()) return
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => { reject(new Error(`${what}: not within ${ms} ms (received so far: ${JSON.stringify(this.unparsed.slice(0, 300))}, responses ${this.responses.length}, closed ${this.closed})`)) }, ms)
      const check = (): void => {
        if (cond()) { clearTimeout(timer); resolve(); return }
        this.#waiters.push(check)
      }
      this.#waiters.push(check)
    })
  }

  /** Waits for the n-th (1-based) response, or rejects naming `what`. */
  async response (what: string, n = 1, ms = 15_000): Promise<RawResponse> {
    await this.waitFor(`${what}: response #${n}`, () => this.responses.length >= n || this.closed, ms)
    const r = this.responses[n - 1]
    if (r === undefined) throw new Error(`${what}: the connection closed before response #${n} (got ${this.responses.length}; unparsed ${JSON.stringify(this.unparsed.slice(0, 300))})`)
    return r
  }

  /** Waits until the server closed the connection. */
  async waitClosed (what: string, ms = 15_000): Promise<void> {
    await this.waitFor(`${what}: the server closing the connection`, () => this.closed, ms)
  }

  destroy (): void { this.socket.destroy() }
}

/** Opens a connection, writes `data`, returns the first response and closes (`head`: it answers a HEAD). */
export async function rawRequest (port: number, data: string | Buffer, what: string, opts: { tls?: boolean, ms?: number, head?: boolean } = {}): Promise<RawResponse> {
  const c = new RawClient(port, opts)
  try {
    await c.connected
    c.write(data)
    return await c.response(what, 1, opts.ms ?? 15_000)
  } finally {
    c.destroy()
  }
}

/** The port of a URL such as running.proxyUrl. */
export function portOf (url: string): number {
  return Number(new URL(url).port)
}

/** A request head with CRLFs: `head('POST /x', ['Host: a', 'Content-Length: 3'])`. */
export function head (requestLine: string, headers: readonly string[]): string {
  return `${requestLine} HTTP/1.1\r\n${headers.map((h) => `${h}\r\n`).join('')}\r\n`
}

/** A chunked encoding of `body` in chunks of `size` bytes, with the last chunk. */
export function chunked (body: Buffer, size = 1000): Buffer {
  const parts: Buffer[] = []
  for (let i = 0; i < body.length; i += size) {
    const c = body.subarray(i, i + size)
    parts.push(Buffer.from(`${c.length.toString(16)}\r\n`, 'latin1'), c, Buffer.from('\r\n', 'latin1'))
  }
  parts.push(Buffer.from('0\r\n\r\n', 'latin1'))
  return Buffer.concat(parts)
}

/** Deterministic bytes 0..255 repeated (every byte value, including CR, LF and NUL). */
export function allBytes (n: number): Buffer {
  const b = Buffer.alloc(n)
  for (let i = 0; i < n; i++) b[i] = (i * 7 + (i >> 8)) & 0xff
  return b
}

/** Resolves after `ms` (only to pace a trickle, never before an assertion). */
export function pause (ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/** The one bounded wait of the test suite (`until(what, fn, ms)`), re-exported for these tests. */
export { until }

/** GET on the admin API, parsed. */
export async function adminGet (adminUrl: string, path: string): Promise<{ status: number, body: string, json: unknown }> {
  const res = await request(adminUrl + path)
  const body = await res.body.text()
  let json: unknown
  try { json = JSON.parse(body) } catch { json = undefined }
  return { status: res.statusCode, body, json }
}

/** One target as GET /targets shows it. */
export interface TargetView {
  readonly color: string
  readonly id: string
  readonly url: string
  readonly mode: string
  readonly health: string
  readonly inFlight: number
}

/** Every target (GET /targets). */
export async function targets (adminUrl: string): Promise<TargetView[]> {
  const r = await adminGet(adminUrl, '/targets')
  return (r.json as { targets: TargetView[] }).targets
}

/** Every sample of a metric family in a /metrics scrape: labels text → value. */
export function samples (text: string, name: string): Map<string, number> {
  const out = new Map<string, number>()
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$/.exec(line)
    if (m === null || m[1] !== name) continue
    out.set(m[2] ?? '', Number(m[3]))
  }
  return out
}

/** The /metrics scrape text. */
export async function scrape (adminUrl: string): Promise<string> {
  return (await adminGet(adminUrl, '/metrics')).body
}

/** Waits until no request is in flight: every target's inFlight and every in-flight gauge are 0. */
export async function waitQuiet (adminUrl: string, ms = 15_000): Promise<void> {
  let last = ''
  try {
    await until('in-flight back to 0 (GET /targets inFlight and switchyard_in_flight_requests)', async () => {
      const list = await targets(adminUrl)
      const gauge = samples(await scrape(adminUrl), 'switchyard_in_flight_requests')
      last = `targets ${JSON.stringify(list.map((x) => [x.id, x.inFlight]))}, gauge ${JSON.stringify([...gauge])}`
      return list.every((x) => x.inFlight === 0) && [...gauge.values()].every((v) => v === 0)
    }, ms)
  } catch (e) {
    throw new Error(`${(e as Error).message}; last seen: ${last}`)
  }
}

/** The sum of switchyard_upstream_errors_total over every label set. */
export async function upstreamErrors (adminUrl: string): Promise<number> {
  let sum = 0
  for (const v of samples(await scrape(adminUrl), 'switchyard_upstream_errors_total').values()) sum += v
  return sum
}
