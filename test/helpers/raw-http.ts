/**
 * Raw HTTP/1.1 over node:net for tests where framing matters: a client that writes bytes as
 * given and parses what comes back, and an upstream that records exactly what it received
 * (raw headers, body bytes, whether the request completed). Waits are bounded and fail with a
 * message naming what did not happen; nothing sleeps and then asserts.
 */
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http'
import { connect, type Socket } from 'node:net'
import { connect as tlsConnect } from 'node:tls'
import type { Teardown } from './services.js'
import { listenLoopback } from './harness.js'

/** One request as the upstream received it. */
export interface Received {
  readonly method: string
  readonly url: string
  /** Names and values as they arrived (name, value, …). */
  readonly rawHeaders: readonly string[]
  readonly headers: IncomingHttpHeaders
  body: Buffer
  /** The whole body arrived. */
  complete: boolean
}

/** A recording upstream (structurally a services `Upstream`, so testConfig takes it). */
export interface Recorder {
  readonly color: string
  readonly url: string
  readonly port: number
  readonly seen: IncomingHttpHeaders[]
  readonly received: Received[]
  /** Lower-case names of every header of the last received request. */
  lastNames (): Set<string>
  close (): Promise<void>
}

/** Starts a recording upstream answering `<color>` after the body ended (or `respond`). */
export async function startRecorder (t: Teardown, color: string, respond?: (r: Received, res: ServerResponse) => void): Promise<Recorder> {
  const received: Received[] = []
  const seen: IncomingHttpHeaders[] = []
  const server: Server = createServer((req, res) => {
    const r: Received = { method: req.method ?? '', url: req.url ?? '', rawHeaders: req.rawHeaders.slice(), headers: req.headers, body: Buffer.alloc(0), complete: false }
    received.push(r)
    seen.push(req.headers)
    req.on('data', (d: Buffer) => { r.body = Buffer.concat([r.body, d]) })
    req.on('end', () => {
      r.complete = true
      if (res.destroyed) return
      if (respond !== undefined) { respond(r, res); return }
      res.setHeader('content-type', 'text/plain')
      res.end(color)
    })
  })
  const { port, close } = await listenLoopback(server)
  t.teardown(close)
  return {
    color,
    url: `http://127.0.0.1:${port}`,
    port,
    seen,
    received,
    lastNames () {
      const last = received[received.length - 1]
      const names = new Set<string>()
      if (last !== undefined) for (let i = 0; i < last.rawHeaders.length; i += 2) names.add((last.rawHeaders[i] as string).toLowerCase())
      return names
    },
    close
  }
}

/** One response read off a raw socket. */
export interface RawResponse {
  readonly status: number
  /** Lower-case name → values in order. */
  readonly headers: ReadonlyMap<string, readonly string[]>
  readonly body: Buffer
  readonly json: unknown
}

/** The port of a URL. */
export function portOf (url: string): number {
  return Number(new URL(url).port)
}

/** Request head bytes: request line, headers, blank line. */
export function head (line: string, headers: readonly string[]): string {
  return `${line} HTTP/1.1\r\n${headers.map((h) => `${h}\r\n`).join('')}\r\n`
}

/** A raw connection: write bytes when you like, read responses as they come. */
export class RawClient {
  readonly socket: Socket
  #buffer = Buffer.alloc(0)
  #closed = false
  #waiters: Array<() => void> = []

  private constructor (socket: Socket) {
    this.socket = socket
    socket.on('data', (d: Buffer) => { this.#buffer = Buffer.concat([this.#buffer, d]); this.#wake() })
    socket.on('close', () => { this.#closed = true; this.#wake() })
    socket.on('error', () => {})
  }

  /** Connects (TLS when `tls`, trusting `ca`). */
  static async open (port: number, tls?: { ca: Buffer }): Promise<RawClient> {
    const socket = tls === undefined
      ? connect(port, '127.0.0.1')
      : tlsConnect({ port, host: '127.0.0.1', servername: 'localhost', ca: tls.ca })
    await new Promise<void>((resolve, reject) => {
      socket.once(tls === undefined ? 'connect' : 'secureConnect', () => resolve())
      socket.once('error', reject)
    })
    return new RawClient(socket)
  }

  #wake (): void {
    const list = this.#waiters
    this.#waiters = []
    for (const w of list) w()
  }

  get closed (): boolean { return this.#closed }

  write (bytes: string | Buffer): void {
    this.socket.write(typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes)
  }

  /** Waits until `ready` holds (checked on every data/close event), or fails naming `what`. */
  async #wait (what: string, ready: () => boolean, ms: number): Promise<void> {
    const end = Date.now() + ms
    while (!ready()) {
      const left = end - Date.now()
      if (left <= 0) throw new Error(`timed out waiting for ${what}`)
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left)
        this.#waiters.push(() => { clearTimeout(timer); resolve() })
      })
    }
  }

  /** Reads the next complete response (skipping 1xx), or fails naming `what`. */
  async response (what: string, ms = 15_000): Promise<RawResponse> {
    let parsed: { response: RawResponse, used: number } | undefined
    await this.#wait(`${what}: a response`, () => {
      for (;;) {
        const p = parseResponse(this.#buffer, this.#closed)
        if (p === undefined) return this.#closed
        this.#buffer = this.#buffer.subarray(p.used)
        if (p.response.status >= 200) { parsed = p; return true }
      }
    }, ms)
    if (parsed === undefined) throw new Error(`${what}: the connection closed without a complete response`)
    return parsed.response
  }

  /** Waits for the server to close the connection, or fails naming `what`. */
  async waitClosed (what: string, ms = 15_000): Promise<void> {
    await this.#wait(`${what}: the connection to close`, () => this.#closed, ms)
  }

  destroy (): void {
    this.socket.destroy()
  }
}

/** Sends bytes on a new connection and reads one response. */
export async function rawRequest (port: number, bytes: string | Buffer, what: string): Promise<RawResponse> {
  const c = await RawClient.open(port)
  try {
    c.write(bytes)
    return await c.response(what)
  } finally {
    c.destroy()
  }
}

function parseResponse (buf: Buffer, closed: boolean): { response: RawResponse, used: number } | undefined {
  const end = buf.indexOf('\r\n\r\n')
  if (end < 0) return undefined
  const lines = buf.subarray(0, end).toString('latin1').split('\r\n')
  const status = Number((lines[0] ?? '').split(' ')[1])
  const headers = new Map<string, string[]>()
  for (const l of lines.slice(1)) {
    const i = l.indexOf(':')
    const name = l.slice(0, i).trim().toLowerCase()
    const list = headers.get(name) ?? []
    list.push(l.slice(i + 1).trim())
    headers.set(name, list)
  }
  let at = end + 4
  let body: Buffer
  const length = headers.get('content-length')?.[0]
  if (status < 200 || status === 204 || status === 304) {
    body = Buffer.alloc(0)
  } else if (length !== undefined) {
    if (buf.length < at + Number(length)) return undefined
    body = buf.subarray(at, at + Number(length))
    at += Number(length)
  } else if ((headers.get('transfer-encoding')?.[0] ?? '').toLowerCase() === 'chunked') {
    const parts: Buffer[] = []
    for (;;) {
      const lineEnd = buf.indexOf('\r\n', at)
      if (lineEnd < 0) return undefined
      const size = parseInt(buf.subarray(at, lineEnd).toString('latin1'), 16)
      if (size === 0) {
        const trailerEnd = buf.indexOf('\r\n\r\n', lineEnd)
        if (trailerEnd < 0 && buf.indexOf('\r\n', lineEnd + 2) !== lineEnd + 2) return undefined
        at = trailerEnd >= 0 && buf.indexOf('\r\n', lineEnd + 2) !== lineEnd + 2 ? trailerEnd + 4 : lineEnd + 4
        break
      }
      if (buf.length < lineEnd + 2 + size + 2) return undefined
      parts.push(buf.subarray(lineEnd + 2, lineEnd + 2 + size))
      at = lineEnd + 2 + size + 2
    }
    body = Buffer.concat(parts)
  } else {
    if (!closed) return undefined
    body = buf.subarray(at)
    at = buf.length
  }
  let json: unknown
  try { json = JSON.parse(body.toString('utf8')) } catch { json = undefined }
  return { response: { status, headers, body, json }, used: at }
}

/** A chunked body of the given bytes, in one chunk, with its last-chunk. */
export function chunked (body: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`${body.length.toString(16)}\r\n`, 'latin1'), body, Buffer.from('\r\n0\r\n\r\n', 'latin1')])
}
