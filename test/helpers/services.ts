/**
 * Test services: real upstream HTTP/WebSocket servers and a real switchyard, all on
 * 127.0.0.1 port 0, closed in teardown. No mocks of sockets.
 */
import { request as httpRequest, createServer, type IncomingHttpHeaders, type Server } from 'node:http'
import { pino } from 'pino'
import { request } from 'undici'
import { WebSocketServer } from 'ws'
import { startSwitchyard, type Running, type StartOptions } from '../../src/app.js'
import { validateConfig, type LoadedConfig } from '../../src/config/load-config.js'
import { listenLoopback, setCookieValue, type Teardown } from './harness.js'

export { sleep, until, untilValue, type Teardown } from './harness.js'

/** A real upstream that answers with its color. */
export interface Upstream {
  readonly color: string
  readonly url: string
  readonly port: number
  /** Headers of every request it received, in order. */
  readonly seen: IncomingHttpHeaders[]
  close (): Promise<void>
}

/** Options for a test upstream. */
export interface UpstreamOptions {
  /** A Set-Cookie the upstream adds to every response. */
  readonly setCookie?: string
  /** A fixed port (a restarted upstream reuses its predecessor's). */
  readonly port?: number
  /** A loopback address other than 127.0.0.1 (127.0.0.2, …: several upstreams on one port, as DNS discovery has them; or ::1). */
  readonly host?: string
  /** Delay before answering, in ms. */
  readonly delayMs?: number
  /**
   * Answers HTTP requests only once this promise resolves (see `gate()` in harness.ts): a
   * request held at the upstream for as long as the test needs, whatever the machine's speed.
   */
  readonly holdUntil?: Promise<unknown>
}

/** Starts an upstream answering `<color>` as text (and `<color>: <msg>` over WebSocket). */
export async function startUpstream (t: Teardown, color: string, opts: UpstreamOptions = {}): Promise<Upstream> {
  const seen: IncomingHttpHeaders[] = []
  const server: Server = createServer((req, res) => {
    seen.push(req.headers)
    req.resume()
    const answer = (): void => {
      res.setHeader('content-type', 'text/plain')
      res.setHeader('x-upstream-color', color)
      if (opts.setCookie !== undefined) res.setHeader('set-cookie', [opts.setCookie])
      res.end(color)
    }
    if (opts.holdUntil !== undefined) void opts.holdUntil.then(answer)
    else if (opts.delayMs !== undefined) setTimeout(answer, opts.delayMs)
    else answer()
  })
  const wss = new WebSocketServer({ server })
  wss.on('connection', (socket, req) => {
    seen.push(req.headers)
    socket.on('message', (data) => { socket.send(`${color}: ${String(data)}`) })
  })
  const host = opts.host ?? '127.0.0.1'
  const { port, close } = await listenLoopback(server, opts.port ?? 0, () => {
    for (const c of wss.clients) c.terminate()
    wss.close()
  }, host)
  t.teardown(close)
  return { color, url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`, port, seen, close }
}

/** A quiet logger for tests (set SWY_TEST_LOG=debug to see logs). */
export function testLogger (): ReturnType<typeof pino> {
  return pino({ level: process.env.SWY_TEST_LOG ?? 'silent' })
}

/** Builds a validated config for tests: the given colors' upstreams, ports 0, memory store by default. */
export function testConfig (upstreams: readonly Upstream[], extra: Record<string, unknown> = {}): LoadedConfig {
  const colors: Record<string, { targets: string[] }> = {}
  for (const u of upstreams) {
    colors[u.color] ??= { targets: [] }
    colors[u.color]?.targets.push(u.url)
  }
  return validateConfig({
    listen: { host: '127.0.0.1', port: 0 },
    admin: { listen: { host: '127.0.0.1', port: 0 } },
    colors,
    store: { kind: 'memory' },
    log: { level: 'silent' },
    ...extra
  }, {}, 'test config')
}

/** Starts switchyard on a test config; closed in teardown. */
export async function startTestSwitchyard (t: Teardown, loaded: LoadedConfig, opts: StartOptions = {}): Promise<Running> {
  const running = await startSwitchyard(loaded, { logger: testLogger(), proxyPort: 0, adminPort: 0, ...opts })
  t.teardown(() => running.close())
  return running
}

/** A response read in full. */
export interface Answer {
  readonly status: number
  readonly headers: IncomingHttpHeaders
  readonly body: string
  /** The parsed JSON body, when it is JSON. */
  readonly json: unknown
}

/** Sends one request with undici and reads the whole body. */
export async function send (url: string, opts: { method?: string, headers?: Record<string, string>, body?: string } = {}): Promise<Answer> {
  const res = await request(url, {
    method: (opts.method ?? 'GET') as 'GET',
    headers: opts.headers ?? {},
    body: opts.body ?? null
  })
  const body = await res.body.text()
  let json: unknown
  try { json = JSON.parse(body) } catch { json = undefined }
  return { status: res.statusCode, headers: res.headers, body, json }
}

/** Sends a JSON body to the admin API. */
export async function adminCall (adminUrl: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  const h: Record<string, string> = { ...headers }
  if (body !== undefined) h['content-type'] = 'application/json'
  return await send(`${adminUrl}${path}`, { method, headers: h, ...(body === undefined ? {} : { body: JSON.stringify(body) }) })
}

/** The `name=value` part of a sticky Set-Cookie named `name` in a response, if any. */
export function stickyCookie (answer: Answer, name = 'swy'): string | undefined {
  return setCookieValue(answer.headers['set-cookie'], name)
}

/**
 * One request on a connection of its own (with workers, the primary hands each new
 * connection to the next worker). With `timeoutMs` it fails when no answer came by then (a
 * bound for load loops, not a timing: a connection Node's cluster was handing to a worker as
 * it died is never answered).
 */
export async function fresh (url: string, headers: Record<string, string> = {}, timeoutMs?: number): Promise<{ status: number, body: string, headers: IncomingHttpHeaders }> {
  return await new Promise((resolve, reject) => {
    const req = httpRequest(url, { agent: false, headers: { connection: 'close', ...headers }, ...(timeoutMs === undefined ? {} : { timeout: timeoutMs }) }, (res) => {
      let body = ''
      res.setEncoding('utf8').on('data', (d: string) => { body += d }).on('end', () => { resolve({ status: res.statusCode ?? 0, body, headers: res.headers }) }).on('error', reject)
    })
    req.on('error', reject)
    req.on('timeout', () => { req.destroy(new Error('no answer')) })
    req.end()
  })
}
