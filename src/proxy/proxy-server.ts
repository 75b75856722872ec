/**
 * The data path: a fastify server with @fastify/http-proxy choosing the upstream per request.
 * A preHandler checks what must be refused before any upstream is touched (a body over the
 * limit, a header the upstream client would refuse), asks the RequestRouter for the color
 * (request-router.ts: override, drain window, sticky cookie or header bucket, fresh bucket,
 * fallback, and the sticky Set-Cookie), picks the least-loaded usable target of that color,
 * and keeps all of it in the request's Exchange (one object, `request.swy`); getUpstream
 * returns the target, rewriteRequestHeaders/rewriteHeaders apply the header policy and the
 * cookie, and the response's (or the connection's) 'close' ends the exchange once: metrics,
 * in-flight, passive health. No I/O and no await happen between the request and the
 * upstream call. An idempotent request refused or reset before any response byte is sent
 * once more, to another target.
 *
 * At the edge (DATAPATH-SPEC.md): one header policy both ways (header-policy.ts); bodies are
 * never parsed, only counted against proxy.bodyLimit; the client's request must arrive
 * within proxy.requestTimeoutMs (408); passive health counts only what the upstream did;
 * each request's in-flight slot is released once, by one idempotent path (release()).
 */
import { createServer as createHttpServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import type { Socket } from 'node:net'
import { Transform, type TransformCallback } from 'node:stream'
import httpProxy from '@fastify/http-proxy'
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'
import { Agent, type Dispatcher } from 'undici'
import type { Config, TargetConfig } from '../config/config-types.js'
import { ERRORS, errorBody } from '../errors.js'
import { NO_REQUEST_METRICS, type Metrics, type RequestMetrics } from '../metrics/metrics.js'
import type { RouteTable } from '../routing/route-table.js'
import { targetMode, type RoutingState } from '../routing/routing-state.js'
import { REASONS } from '../routing/types.js'
import { nextServingColor } from '../routing/serving.js'
import { CoarseClock } from './coarse-clock.js'
import type { TlsMaterial } from '../tls.js'
import { HeaderPolicy } from './header-policy.js'
import { RequestRouter } from './request-router.js'
import { classifyUpstreamError, type UpstreamFailure } from './upstream-errors.js'
import { TargetPools, type HealthEvent, type PoolClock, type Target } from './target-pool.js'

/** Why a request failed on the client's side (never an upstream failure). */
const FAULT_NONE = 0
/** The streamed body grew past proxy.bodyLimit. */
const FAULT_TOO_LARGE = 1
/** The client went away (abort, reset, timeout, malformed framing) before the exchange ended. */
const FAULT_CLIENT_GONE = 2

/** What the data path keeps about one request, from routing to its end: one object instead of seven decorations. */
export class Exchange {
  /** Index of the serving color, -1 before routing or when none can serve. */
  color = -1
  /** Index in REASONS of the decision's reason. */
  reasonIndex = 0
  /** The target holding this request's in-flight slot, null once released. */
  target: Target | null = null
  /** A sticky cookie to set on the response, '' for none. */
  cookie = ''
  /** performance.now() when the request was routed. */
  start = 0
  /** True once the request was retried on another target. */
  retried = false
  /** FAULT_* when the client caused the failure. */
  fault = FAULT_NONE
  /** True once accounted for (metrics, in-flight, passive health): it happens once. */
  done = false
  /** undici's handler of the current upstream call (its abort() cancels the call), null when none. */
  upstream: UpstreamCall | null = null
  /** The raw response. */
  readonly response: ServerResponse
  /** The client connection (a queued pipelined response has none of its own yet). */
  readonly socket: Socket
  /** Neighbours among the exchanges still open on the same client connection. */
  prev: Exchange | null = null
  next: Exchange | null = null

  constructor (response: ServerResponse, socket: Socket) {
    this.response = response
    this.socket = socket
  }
}

declare module 'fastify' {
  interface FastifyRequest {
    /** This request's exchange (set by the routing preHandler). */
    swy: Exchange | null
  }
}

/** What the data path uses of undici's request handler (lib/api/api-request.js): set by its onConnect. */
interface UpstreamCall {
  abort: ((reason: Error) => void) | null
  reason: Error | null
}

/** Raised into an upstream call whose client left: the call is cancelled and its connection freed. */
class ClientGoneError extends Error {
  readonly code = 'SWY_CLIENT_GONE'
}

/** The raw response's (and streamed body's) link back to the exchange, for the shared listeners. */
const kExchange = Symbol('switchyard.exchange')
type TaggedResponse = ServerResponse & { [kExchange]?: Exchange | undefined }
type TaggedMessage = IncomingMessage & { [kExchange]?: BodyLimit | undefined }
type TaggedHeaders = IncomingHttpHeaders & { [kExchange]?: Exchange }
/**
 * A client connection's open exchanges (a list through Exchange.prev/next). A pipelined
 * response still queued behind another never gets the socket, so it never emits 'close':
 * the connection's own 'close' ends whatever is still open on it.
 */
const kOpen = Symbol('switchyard.open')
type TaggedSocket = Socket & { [kOpen]?: Exchange | null }

/** What the data path needs from the rest of switchyard. */
export interface ProxyDeps {
  readonly config: Config
  readonly colors: readonly string[]
  readonly targets: ReadonlyArray<readonly TargetConfig[]>
  readonly secret: string
  readonly metrics: Metrics
  readonly logger: FastifyBaseLogger
  /** Told when a target's health changes (logs, metrics). */
  readonly onHealth?: (e: HealthEvent) => void
  /** Serve HTTPS with this certificate and key (listen.tls, read at start). */
  readonly tls?: TlsMaterial | undefined
  /** The time the data path reads (ms since the epoch, a field); a CoarseClock by default. */
  readonly clock?: { readonly ms: number } | undefined
  /** The time and timers of passive ejection; the real ones by default. */
  readonly poolClock?: PoolClock | undefined
}

/** The running data path: the fastify server and the hooks to steer it. */
export interface DataPath {
  readonly server: FastifyInstance
  /** Compiles and swaps the route table (and target modes) for a newly applied state. */
  apply (state: RoutingState): void
  /** The route table requests are decided on now. */
  readonly table: RouteTable
  /** The routing step (table, cookie caches, seed). */
  readonly router: RequestRouter
  /** Every color's targets, with their health and in-flight counts. */
  readonly pools: TargetPools
  /** Uses a new cookie secret (another instance's won a store re-seed). */
  setSecret (secret: string): void
  /** Closes idle upstream connections (after the server closed). */
  closeUpstreams (): Promise<void>
}

/**
 * The upstream agent, keeping each call's handler on its exchange (the headers object carries
 * the exchange under a symbol, which undici never sends: it reads Object.keys), so a client
 * that leaves cancels its upstream call instead of holding a pool connection until the
 * upstream answers. An override rather than compose(): no wrapper per request.
 */
class TrackingAgent extends Agent {
  override dispatch (opts: Agent.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    const ex = (opts.headers as TaggedHeaders | null | undefined)?.[kExchange]
    if (ex !== undefined) {
      ex.upstream = handler as unknown as UpstreamCall
      // undici's request handler destroys the body stream on any error, even a refused
      // connection that never read it; without its reference the client's body survives
      // such a failure and the request can be retried on another target. Once undici
      // writes the body it destroys it itself on failure (client-h1 writeStream).
      ;(handler as unknown as { body: unknown }).body = null
    }
    return super.dispatch(opts, handler)
  }
}

/** Thrown into the upstream body stream when the client's body passes proxy.bodyLimit. */
class BodyTooLargeError extends Error {
  readonly code = 'SWY_BODY_TOO_LARGE'
}

/**
 * Counts a streamed (chunked) body on its way upstream: past `limit` bytes it fails, so the
 * upstream request is aborted before the excess is sent. Bodies with a Content-Length need
 * none (Node's parser stops at the length, checked against the limit before routing).
 */
class BodyLimit extends Transform {
  #seen = 0
  readonly #limit: number
  readonly exchange: Exchange

  constructor (limit: number, exchange: Exchange) {
    super()
    this.#limit = limit
    this.exchange = exchange
  }

  override _transform (chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#seen += chunk.length
    if (this.#seen > this.#limit) {
      this.exchange.fault = FAULT_TOO_LARGE
      callback(new BodyTooLargeError('the request body is larger than proxy.bodyLimit'))
    } else {
      callback(null, chunk)
    }
  }
}

/** The client's request closed: if its body had not fully arrived, end the counted body with an error. */
function onBodySourceClose (this: TaggedMessage): void {
  const limit = this[kExchange]
  if (limit === undefined) return
  this[kExchange] = undefined
  if (!this.complete && !limit.destroyed) {
    limit.exchange.fault = FAULT_CLIENT_GONE
    limit.destroy(new Error('the client closed the request before its body arrived'))
  }
}

/** A warn line per target at most this often; the next line counts the ones left out. */
const UPSTREAM_LOG_INTERVAL_MS = 10_000

/** node's levels by name, to keep library warnings (reply-from logs every upstream error at warn) out of the log. */
const LEVELS: Readonly<Record<string, number>> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Infinity }

/** Builds (does not listen) the data-path server. */
export async function buildDataPath (deps: ProxyDeps): Promise<DataPath> {
  const { config, colors } = deps
  const metrics: RequestMetrics = config.metrics.enabled ? deps.metrics : NO_REQUEST_METRICS
  const pools = new TargetPools(colors, deps.targets, config.health.passive, deps.onHealth, deps.poolClock)
  const available = pools.available
  const router = new RequestRouter({ colors, sticky: config.sticky, overrides: config.overrides, secret: deps.secret, available })
  const overrideHeader = router.overrideHeader
  const retryMethods = new Set(config.retry.methods)
  const bodyLimit = config.proxy.bodyLimit
  const policy = new HeaderPolicy({ overrideHeader, trustForwarded: config.proxy.trustForwarded, tls: deps.tls !== undefined })
  const logger = deps.logger
  const clock = deps.clock ?? new CoarseClock().start()

  const agent = new TrackingAgent({
    connections: config.upstream.connections,
    keepAliveTimeout: config.upstream.keepAliveTimeoutMs,
    headersTimeout: config.upstream.responseTimeoutMs,
    bodyTimeout: config.upstream.bodyTimeoutMs,
    connect: { timeout: config.upstream.connectTimeoutMs, rejectUnauthorized: config.upstream.rejectUnauthorized }
  })
  // reply-from logs every failed upstream call at warn through request.log; switchyard logs
  // upstream failures itself (one line, rate-limited) and client aborts at debug, so requests
  // log through a child that passes errors only (one child, shared by every request).
  const baseLevel = LEVELS[logger.level] ?? 30
  const requestLogger: FastifyBaseLogger = baseLevel >= (LEVELS.error as number) ? logger : logger.child({}, { level: 'error' })

  const { requestTimeoutMs, headersTimeoutMs } = config.proxy
  const serverOptions = {
    requestTimeout: requestTimeoutMs,
    headersTimeout: headersTimeoutMs,
    // Node checks both timeouts on this interval (30 s by default): often enough that a
    // timeout holds within about a second.
    connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(headersTimeoutMs / 4))),
    // fastify's default (it applies it only to servers it creates itself).
    keepAliveTimeout: 72_000
  }
  const tls = deps.tls
  const server = Fastify({
    loggerInstance: deps.logger,
    logController: new LogController({ disableRequestLogging: true }),
    // Requests are not logged on the data path, so no per-request child logger (a pino
    // child per request showed in the profile); errors still log through the shared child.
    childLoggerFactory: () => requestLogger,
    bodyLimit,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    serverFactory: (handler) => {
      const s: Server = tls === undefined
        ? createHttpServer(serverOptions, handler)
        : createHttpsServer({ ...serverOptions, cert: tls.cert, key: tls.key }, handler)
      s.maxConnections = config.proxy.maxConnections
      return s
    },
    clientErrorHandler: onClientError
  })
  server.decorateRequest('swy', null)
  let closing = false
  server.addHook('preClose', (done) => { closing = true; done() })
  // Bodies are never parsed on the data path: every content type (and none) streams to the
  // upstream byte for byte. fastify's own parsers (JSON, text/plain decoded as UTF-8) go.
  server.removeAllContentTypeParsers()
  server.addContentTypeParser('*', passBody)

  /** Parse errors and client-side timeouts: our JSON where the socket can still take a response. */
  function onClientError (error: Error & { code?: string }, socket: Socket): void {
    logger.debug({ code: error.code }, 'client error on the data path')
    if (error.code === 'ECONNRESET' || socket.destroyed) return
    const pending = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage
    if (socket.writable && (pending === undefined || pending === null || !pending.headersSent)) {
      const timeout = error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      const code = timeout ? 'SWY_ERR_PROXY_REQUEST_TIMEOUT' : 'SWY_ERR_PROXY_BAD_REQUEST'
      const status = error.code === 'HPE_HEADER_OVERFLOW' ? 431 : ERRORS[code].status
      const body = JSON.stringify(errorBody(code, error.code === 'HPE_HEADER_OVERFLOW' ? 'the request headers are too large' : undefined))
      socket.end(`HTTP/1.1 ${status} ${status === 408 ? 'Request Timeout' : status === 431 ? 'Request Header Fields Too Large' : 'Bad Request'}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`)
    }
    socket.destroySoon()
  }

  /** Gives back the in-flight slot a request holds; safe to call any number of times. */
  function release (ex: Exchange): Target | null {
    const target = ex.target
    if (target !== null) {
      ex.target = null
      target.inFlight--
    }
    return target
  }

  /** Starts accounting for an exchange: it ends on its response's or its connection's close. */
  function open (ex: Exchange, color: number): void {
    ex.color = color
    ex.start = performance.now()
    metrics.started(color)
    const raw = ex.response as TaggedResponse
    raw[kExchange] = ex
    raw.on('close', onResponseClose)
    const socket = ex.socket as TaggedSocket
    const head = socket[kOpen]
    if (head === undefined) socket.on('close', onSocketClose)
    if (head !== undefined && head !== null) { ex.next = head; head.prev = ex }
    socket[kOpen] = ex
  }

  /** The one end of an exchange: metrics, in-flight, passive health. Idempotent. */
  function end (ex: Exchange, status: number): void {
    if (ex.done) return
    ex.done = true
    const socket = ex.socket as TaggedSocket
    if (socket[kOpen] !== undefined) {
      if (ex.prev !== null) ex.prev.next = ex.next
      else if (socket[kOpen] === ex) socket[kOpen] = ex.next
      if (ex.next !== null) ex.next.prev = ex.prev
      ex.prev = ex.next = null
    }
    const call = ex.upstream
    ex.upstream = null
    if (status === 499 && call !== null && ex.target !== null) {
      // The client left before its answer: cancel the upstream call (frees its connection).
      if (ex.fault === FAULT_NONE) ex.fault = FAULT_CLIENT_GONE
      const reason = new ClientGoneError('the client left before the upstream answered')
      call.reason = reason
      if (typeof call.abort === 'function') call.abort(reason)
    }
    const target = release(ex)
    if (target !== null && status !== 499 && ex.fault === FAULT_NONE) {
      // The upstream answered (our own 502/504s released the target first).
      pools.outcome(target, status < 500, clock.ms)
      if (status >= 500) metrics.upstreamError(ex.color, '5xx')
    }
    metrics.ended(ex.color)
    metrics.request(ex.color, ex.reasonIndex, status, (performance.now() - ex.start) / 1000)
  }

  // One listener function for every response ('close' fires for answered and abandoned
  // requests alike, unlike fastify's onResponse), so accounting allocates no closure.
  function onResponseClose (this: TaggedResponse): void {
    const ex = this[kExchange]
    if (ex === undefined) return
    this[kExchange] = undefined
    end(ex, this.writableFinished ? this.statusCode : 499)
  }

  /** A client connection closed: every exchange still open on it is over (499: abandoned). */
  function onSocketClose (this: TaggedSocket): void {
    let ex = this[kOpen] ?? null
    while (ex !== null) {
      const next = ex.next
      const raw = ex.response as TaggedResponse
      if (raw[kExchange] === ex) raw[kExchange] = undefined
      end(ex, raw.writableFinished ? raw.statusCode : 499)
      ex = next
    }
    this[kOpen] = null
  }

  /** Answers a request the proxy refuses before routing it (no upstream touched). */
  function refuse (request: FastifyRequest, reply: FastifyReply, code: 'SWY_ERR_PROXY_BAD_REQUEST' | 'SWY_ERR_PROXY_BODY_TOO_LARGE', message?: string): void {
    const ex = new Exchange(reply.raw, request.raw.socket)
    request.swy = ex
    open(ex, -1)
    // The body is unread: close the connection after the answer instead of reading it all.
    if (code === 'SWY_ERR_PROXY_BODY_TOO_LARGE' || request.headers['transfer-encoding'] !== undefined || request.headers['content-length'] !== undefined) reply.header('connection', 'close')
    reply.code(ERRORS[code].status).send(errorBody(code, message))
  }

  function route (request: FastifyRequest, reply: FastifyReply, done: () => void): void {
    const headers = request.headers
    const length = headers['content-length']
    if (length !== undefined && Number(length) > bodyLimit) {
      refuse(request, reply, 'SWY_ERR_PROXY_BODY_TOO_LARGE')
      return
    }
    const refused = policy.refusal(headers)
    if (refused !== undefined) {
      refuse(request, reply, 'SWY_ERR_PROXY_BAD_REQUEST', refused)
      return
    }
    const outcome = router.route(headers, clock.ms)
    const color = outcome.color
    const ex = new Exchange(reply.raw, request.raw.socket)
    request.swy = ex
    ex.reasonIndex = outcome.reasonIndex
    open(ex, color)
    const target = color < 0 ? undefined : pools.pick(color)
    if (target === undefined) {
      reply.code(503).send(errorBody('SWY_ERR_NO_HEALTHY_UPSTREAM', outcome.overridden
        ? `the color forced by ${overrideHeader} has no healthy target`
        : 'no color with weight has a healthy target'))
      return
    }
    target.inFlight++
    ex.target = target
    ex.cookie = outcome.cookie
    // A chunked body is counted on its way (a Content-Length one was checked above).
    if (length === undefined && headers['transfer-encoding'] !== undefined && request.body === request.raw) {
      const limit = new BodyLimit(bodyLimit, ex)
      // Its error (too large, client gone) may come before undici listens (a pipelined
      // request not dispatched yet): never an uncaught 'error'.
      limit.on('error', ignore)
      const source = request.raw as TaggedMessage
      source[kExchange] = limit
      source.on('close', onBodySourceClose)
      source.pipe(limit)
      request.body = limit
    }
    done()
  }

  /**
   * Another target for a retry: the same color first, else the next color with weight that
   * can serve — except for a request an override forced onto its color (decide() never
   * serves those from another color: the tester asked for that one).
   */
  function retryTarget (color: number, failed: Target, forced: boolean): Target | undefined {
    const same = pools.pick(color, failed)
    if (same !== undefined || forced) return same
    const weighted = router.table.weighted
    for (let c = nextServingColor(weighted, available, color); c >= 0; c = nextServingColor(weighted, available, color, c)) {
      const other = pools.pick(c, failed)
      if (other !== undefined) return other
    }
    return undefined
  }

  /** One warn line per target per interval, with the count of the lines left out since. */
  function logUpstreamFailure (target: Target, failure: UpstreamFailure): void {
    const now = clock.ms
    if (now < target.logQuietUntil) {
      target.logSuppressed++
      return
    }
    target.logQuietUntil = now + UPSTREAM_LOG_INTERVAL_MS
    const suppressed = target.logSuppressed
    target.logSuppressed = 0
    logger.warn({ code: failure.code, color: target.colorName, target: target.id, kind: failure.kind, ...(suppressed > 0 ? { suppressed } : {}) },
      suppressed > 0 ? `upstream failure (${suppressed} more on this target not logged)` : 'upstream failure')
  }

  server.setErrorHandler((error: Error & { statusCode?: number, code?: string }, request, reply) => {
    const status = error.statusCode ?? 500
    if (status === 413) return reply.code(413).send(errorBody('SWY_ERR_PROXY_BODY_TOO_LARGE'))
    if (status >= 500) request.log.error({ err: error }, 'proxy error')
    return reply.code(status >= 400 ? status : 500).send(status >= 500 ? errorBody('SWY_ERR_INTERNAL') : errorBody('SWY_ERR_PROXY_BAD_REQUEST', error.message))
  })

  // http-proxy's types omit wsClientOptions.rewriteRequestHeaders, which its runtime calls
  // (headers, request) for every upgrade; the default forwards only the cookie.
  const wsClientOptions = {
    headers: {},
    rewriteRequestHeaders: (_headers: Record<string, unknown>, request: FastifyRequest): IncomingHttpHeaders =>
      policy.websocket(request.headers, clientAddress(request))
  }

  const replyOptions = {
    getUpstream: (request: FastifyRequest) => (request.swy as Exchange).target?.origin ?? '',
    rewriteRequestHeaders: (request: FastifyRequest, headers: IncomingHttpHeaders) => {
      const out: TaggedHeaders = policy.request(request.headers, headers.host, clientAddress(request))
      const ex = request.swy
      if (ex !== null) out[kExchange] = ex
      return out
    },
    rewriteHeaders: (headers: IncomingHttpHeaders, request?: FastifyRequest) => {
      policy.response(headers)
      // Shutting down: the connection closes after this answer instead of idling in
      // keep-alive (server.close() reaps only the connections idle when it starts).
      if (closing) headers.connection = 'close'
      const cookie = request?.swy?.cookie
      if (cookie !== undefined && cookie !== '') {
        const prior = headers['set-cookie']
        headers['set-cookie'] = prior === undefined ? [cookie] : Array.isArray(prior) ? [...prior, cookie] : [prior, cookie]
      }
      return headers
    },
    retryDelay: () => null,
    onError: (reply: FastifyReply, { error }: { error: unknown }) => {
      const request = reply.request
      const ex = request.swy as Exchange
      // The client is gone when its connection closed or can no longer take an answer (a
      // request timeout or a framing error ended it), or its response closed unfinished.
      // request.raw.socket says nothing here: Node's stream teardown nulls it when the body
      // pipe to a failed upstream call is destroyed, with the client still waiting.
      const socket = ex.socket
      if (ex.fault === FAULT_NONE && (socket.destroyed || !socket.writable || (reply.raw.destroyed && !reply.raw.writableFinished))) ex.fault = FAULT_CLIENT_GONE
      if (ex.fault !== FAULT_NONE) {
        // The client caused it: nothing counts against the target, nothing above debug.
        release(ex)
        logger.debug({ fault: ex.fault === FAULT_TOO_LARGE ? 'body too large' : 'client gone' }, 'request ended by the client')
        if (ex.fault === FAULT_TOO_LARGE && !reply.sent && socket.writable) {
          void reply.header('connection', 'close').code(413).send(errorBody('SWY_ERR_PROXY_BODY_TOO_LARGE'))
        } else if (!socket.destroyed) {
          socket.destroy()
        }
        return
      }
      const failure = classifyUpstreamError(error)
      const failed = release(ex)
      if (failed !== null) {
        metrics.upstreamError(ex.color, failure.kind)
        pools.outcome(failed, false, clock.ms)
        logUpstreamFailure(failed, failure)
        // Once, on another target, when retries are on (retry.methods not empty): a refused
        // connection for any method whose body was not touched (nothing reached an
        // upstream); a reset only for the configured methods.
        if (!ex.retried && ((failure.kind === 'connect' && retryMethods.size > 0 && bodyUntouched(request)) ||
            ((failure.kind === 'connect' || failure.kind === 'reset') && retryMethods.has(request.method)))) {
          const next = retryTarget(failed.color, failed, ex.reasonIndex === OVERRIDE_REASON)
          if (next !== undefined) {
            ex.retried = true
            if (next.color !== ex.color) {
              metrics.ended(ex.color)
              metrics.started(next.color)
              ex.color = next.color
              ex.reasonIndex = FALLBACK_REASON
            }
            next.inFlight++
            ex.target = next
            reply.from(undefined, replyOptions as unknown as Parameters<FastifyReply['from']>[1])
            return
          }
        }
      }
      const body = errorBody(failure.code, `${errorBody(failure.code).message} (color "${colors[ex.color] ?? 'none'}")`)
      // A body never sent upstream is still unread: close the connection after the answer.
      if (!bodyUntouched(request) || !bodyDone(request)) reply.header('connection', 'close')
      void reply.code(ERRORS[failure.code].status).send(body)
    }
  }

  await server.register(httpProxy, {
    upstream: '',
    ...(config.proxy.websocket ? { websocket: true as const } : { websocket: false as const }),
    disableRequestLogging: true,
    undici: agent,
    preHandler: route,
    // Our own pass-through parser above (http-proxy's would leave fastify's text/plain one).
    proxyPayloads: false,
    wsClientOptions,
    wsServerOptions: { maxPayload: config.proxy.websocketMaxPayload },
    replyOptions: replyOptions as unknown as NonNullable<Parameters<typeof httpProxy>[1]['replyOptions']>
  })

  return {
    server,
    pools,
    apply (state: RoutingState) {
      router.apply(state)
      pools.setModes((target) => targetMode(state, target.colorName, target.id))
    },
    get table () { return router.table },
    router,
    setSecret (secret: string) {
      router.setSecret(secret)
    },
    async closeUpstreams () {
      if (deps.clock === undefined) (clock as CoarseClock).stop()
      pools.close()
      await agent.close()
    }
  }
}

/** The client's address for x-forwarded-for (the exchange keeps the socket: request.raw.socket can be nulled by Node's stream teardown). */
function clientAddress (request: FastifyRequest): string {
  return request.swy?.socket.remoteAddress ?? (request.raw.socket as Socket | null)?.remoteAddress ?? ''
}

/** True when the request has no body, or its body stream was neither read nor torn down (it can be sent again). */
function bodyUntouched (request: FastifyRequest): boolean {
  const body = request.body as (NodeJS.ReadableStream & { destroyed?: boolean, readableDidRead?: boolean }) | undefined | null
  if (body === undefined || body === null) return true
  return body.destroyed === false && body.readableDidRead === false
}

/** True when the request has no body stream or it has ended. */
function bodyDone (request: FastifyRequest): boolean {
  const body = request.body as { readableEnded?: boolean } | undefined | null
  return body === undefined || body === null || body.readableEnded !== false
}

/** A listener that only marks an error as handled (the exchange's fault says what happened). */
function ignore (): void {}

/** The data path's only body "parser": the raw request stream, untouched. */
function passBody (_request: FastifyRequest, payload: IncomingMessage, done: (err: Error | null, body?: unknown) => void): void {
  done(null, payload)
}

const FALLBACK_REASON = REASONS.indexOf('fallback')
const OVERRIDE_REASON = REASONS.indexOf('override')
