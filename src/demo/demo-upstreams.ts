/**
 * Demo upstreams: tiny HTTP (and WebSocket) servers that answer with their color, so a
 * newcomer sees blue and green answer through the proxy at once. Each has a fault switch, so
 * the same newcomer can watch a bad release get caught: `POST /fault` with
 * `{"errorRate":0.2,"delayMs":300}` makes that upstream answer 500 to a fifth of its requests
 * and every answer 300 ms late; `DELETE /fault` (or `{}`) clears it; `GET /fault` shows it.
 * `GET /healthz` answers 200 whatever the fault: the fault is for the rollout's analysis and
 * the error metrics to catch, not for the health check to hide.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { WebSocketServer } from 'ws'

/** What a demo upstream's fault switch is set to (both 0: no fault). */
export interface DemoFault {
  /** The share of requests answered 500, 0..1. */
  readonly errorRate: number
  /** How long every answer waits first, 0..60000 ms. */
  readonly delayMs: number
}

/** No fault. */
export const NO_FAULT: DemoFault = Object.freeze({ errorRate: 0, delayMs: 0 })

/** A running demo upstream. */
export interface DemoUpstream {
  readonly color: string
  readonly url: string
  /** The fault switch's setting now. */
  readonly fault: DemoFault
  close (): Promise<void>
}

/** Options of a demo upstream. */
export interface DemoUpstreamOptions {
  /** Draws the number compared with errorRate, in [0, 1) (default Math.random). */
  readonly random?: () => number
}

const MAX_FAULT_BODY = 4096

/** A fault switch's body, checked: the fault, or what is wrong with it. */
export function parseFault (text: string): { ok: true, fault: DemoFault } | { ok: false, message: string } {
  let body: unknown
  try {
    body = text.trim() === '' ? {} : JSON.parse(text)
  } catch {
    return { ok: false, message: 'the body must be JSON, e.g. {"errorRate":0.2,"delayMs":300}' }
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return { ok: false, message: 'the body must be a JSON object, e.g. {"errorRate":0.2,"delayMs":300}' }
  const problems: string[] = []
  for (const k of Object.keys(body)) if (k !== 'errorRate' && k !== 'delayMs') problems.push(`unknown property "${k}" (allowed: errorRate, delayMs)`)
  const { errorRate = 0, delayMs = 0 } = body as Record<string, unknown>
  if (typeof errorRate !== 'number' || !(errorRate >= 0 && errorRate <= 1)) problems.push('errorRate must be a number 0..1 (the share of requests answered 500)')
  if (typeof delayMs !== 'number' || !Number.isInteger(delayMs) || delayMs < 0 || delayMs > 60_000) problems.push('delayMs must be an integer 0..60000')
  if (problems.length > 0) return { ok: false, message: problems.join('; ') }
  return { ok: true, fault: { errorRate: errorRate as number, delayMs: delayMs as number } }
}

function sendJson (res: ServerResponse, status: number, body: unknown): void {
  res.statusCode = status
  res.setHeader('content-type', 'application/json; charset=utf-8')
  res.end(JSON.stringify(body) + '\n')
}

/** Starts one demo upstream answering `<color>\n` (and echoing WebSocket messages prefixed with the color). */
export async function startDemoUpstream (color: string, port: number, host = '127.0.0.1', opts: DemoUpstreamOptions = {}): Promise<DemoUpstream> {
  const random = opts.random ?? Math.random
  let fault: DemoFault = NO_FAULT
  const faultRoute = (req: IncomingMessage, res: ServerResponse): void => {
    if (req.method === 'GET') { req.resume(); sendJson(res, 200, { fault }); return }
    if (req.method === 'DELETE') { req.resume(); fault = NO_FAULT; sendJson(res, 200, { fault }); return }
    if (req.method !== 'POST' && req.method !== 'PUT') { req.resume(); res.setHeader('allow', 'GET, POST, PUT, DELETE'); sendJson(res, 405, { error: 'use POST /fault {"errorRate":0.2,"delayMs":300}, or DELETE /fault' }); return }
    const chunks: Buffer[] = []
    let size = 0
    req.on('data', (c: Buffer) => { size += c.length; if (size <= MAX_FAULT_BODY) chunks.push(c) })
    req.on('end', () => {
      if (size > MAX_FAULT_BODY) { sendJson(res, 413, { error: `the body is larger than ${MAX_FAULT_BODY} bytes` }); return }
      const parsed = parseFault(Buffer.concat(chunks).toString('utf8'))
      if (!parsed.ok) { sendJson(res, 400, { error: parsed.message }); return }
      fault = parsed.fault
      sendJson(res, 200, { fault })
    })
  }
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?', 1)[0]
    if (path === '/fault') { faultRoute(req, res); return }
    req.resume()
    res.setHeader('x-demo-color', color)
    if (path === '/healthz') { res.setHeader('content-type', 'text/plain; charset=utf-8'); res.end('ok\n'); return }
    const { errorRate, delayMs } = fault
    const answer = (): void => {
      res.setHeader('content-type', 'text/plain; charset=utf-8')
      if (errorRate > 0 && random() < errorRate) {
        res.statusCode = 500
        res.setHeader('x-demo-fault', 'error')
        res.end(`${color}: injected fault (POST /fault on ${color}'s upstream; DELETE /fault clears it)\n`)
        return
      }
      res.end(`${color}\n`)
    }
    if (delayMs > 0) {
      res.setHeader('x-demo-delay-ms', String(delayMs))
      setTimeout(answer, delayMs)
    } else {
      answer()
    }
  })
  const wss = new WebSocketServer({ server })
  wss.on('connection', (socket) => {
    socket.on('message', (data) => { socket.send(`${color}: ${String(data)}`) })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => { server.off('error', reject); resolve() })
  })
  const address = server.address()
  const actual = typeof address === 'object' && address !== null ? address.port : port
  const name = host.includes(':') ? `[${host}]` : host
  return {
    color,
    url: `http://${name}:${actual}`,
    get fault () { return fault },
    close: () => new Promise((resolve) => {
      for (const c of wss.clients) c.terminate()
      wss.close()
      server.closeAllConnections()
      server.close(() => resolve())
    })
  }
}
