/**
 * One request's exchange with an upstream, and its accounting. The Exchange is the request's
 * only record on the data path (`request.swy`): its color and reason, the target holding its
 * in-flight slot, the cookie to set, the undici call to cancel. The ExchangeLedger opens an
 * exchange (metrics, listeners) and ends it exactly once, when its response closes (answered
 * or abandoned) or, for a pipelined response still queued behind another, when its
 * connection closes: metrics, in-flight slot, passive health. The listeners are module-level
 * functions that find the exchange through a symbol on the response and the ledger through
 * the exchange, so accounting allocates no closure per request.
 */
import type { IncomingHttpHeaders, ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import type { RequestMetrics } from '../metrics/metrics.js'
import type { Target, TargetPools } from './target-pool.js'

/** No fault of the client's (an upstream failure, if any, is the upstream's). */
export const FAULT_NONE = 0
/** The streamed body grew past proxy.bodyLimit. */
export const FAULT_TOO_LARGE = 1
/** The client went away (abort, reset, timeout, malformed framing) before the exchange ended. */
export const FAULT_CLIENT_GONE = 2

/** What the data path uses of undici's request handler (lib/api/api-request.js): set by its onConnect. */
export interface UpstreamCall {
  abort: ((reason: Error) => void) | null
  reason: Error | null
}

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
  /** The ledger that opened this exchange and will end it (set by open()). */
  ledger: ExchangeLedger | null = null
  /** The raw response. */
  readonly response: ServerResponse
  /** The client connection (a queued pipelined response has none of its own yet). */
  readonly socket: Socket
  /** Neighbours among the exchanges still open on the same client connection. */
  prev: Exchange | null = null
  /** See prev. */
  next: Exchange | null = null

  constructor (response: ServerResponse, socket: Socket) {
    this.response = response
    this.socket = socket
  }

  /** Gives back the in-flight slot this exchange holds and returns its target; safe to call any number of times. */
  release (): Target | null {
    const target = this.target
    if (target !== null) {
      this.target = null
      target.inFlight--
    }
    return target
  }
}

declare module 'fastify' {
  interface FastifyRequest {
    /** This request's exchange (set by the routing preHandler). */
    swy: Exchange | null
  }
}

/** Raised into an upstream call whose client left: the call is cancelled and its connection freed. */
class ClientGoneError extends Error {
  readonly code = 'SWY_CLIENT_GONE'
}

/**
 * The link back to the exchange from its raw response and from the upstream request's headers
 * (undici never sends a symbol key: it reads Object.keys).
 */
export const kExchange = Symbol('switchyard.exchange')
type TaggedResponse = ServerResponse & { [kExchange]?: Exchange | undefined }
/** Upstream request headers that carry their exchange (see TrackingAgent). */
export type TaggedHeaders = IncomingHttpHeaders & { [kExchange]?: Exchange }
/**
 * A client connection's open exchanges (a list through Exchange.prev/next). A pipelined
 * response still queued behind another never gets the socket, so it never emits 'close':
 * the connection's own 'close' ends whatever is still open on it.
 */
const kOpen = Symbol('switchyard.open')
type TaggedSocket = Socket & { [kOpen]?: Exchange | null }

/** Opens and ends exchanges: the one place in-flight counts, request metrics and passive health change on a request's end. */
export class ExchangeLedger {
  readonly #metrics: RequestMetrics
  readonly #pools: TargetPools
  readonly #clock: { readonly ms: number }

  constructor (metrics: RequestMetrics, pools: TargetPools, clock: { readonly ms: number }) {
    this.#metrics = metrics
    this.#pools = pools
    this.#clock = clock
  }

  /** Starts accounting for an exchange: it ends on its response's or its connection's close. */
  open (ex: Exchange, color: number): void {
    ex.color = color
    ex.start = performance.now()
    ex.ledger = this
    this.#metrics.started(color)
    const raw = ex.response as TaggedResponse
    raw[kExchange] = ex
    raw.on('close', onResponseClose)
    const socket = ex.socket as TaggedSocket
    const head = socket[kOpen]
    if (head === undefined) socket.on('close', onSocketClose)
    if (head !== undefined && head !== null) { ex.next = head; head.prev = ex }
    socket[kOpen] = ex
  }

  /** Moves an exchange to another color (a retry there): the in-flight gauges follow it. */
  moveColor (ex: Exchange, color: number): void {
    this.#metrics.ended(ex.color)
    this.#metrics.started(color)
    ex.color = color
  }

  /** The one end of an exchange: metrics, in-flight, passive health. Idempotent. */
  end (ex: Exchange, status: number): void {
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
    const target = ex.release()
    if (target !== null && status !== 499 && ex.fault === FAULT_NONE) {
      // The upstream answered (our own 502/504s released the target first).
      this.#pools.outcome(target, status < 500, this.#clock.ms)
      if (status >= 500) this.#metrics.upstreamError(ex.color, '5xx')
    }
    this.#metrics.ended(ex.color)
    this.#metrics.request(ex.color, ex.reasonIndex, status, (performance.now() - ex.start) / 1000)
  }
}

// One listener function for every response ('close' fires for answered and abandoned
// requests alike, unlike fastify's onResponse), so accounting allocates no closure.
function onResponseClose (this: TaggedResponse): void {
  const ex = this[kExchange]
  if (ex === undefined) return
  this[kExchange] = undefined
  ex.ledger?.end(ex, this.writableFinished ? this.statusCode : 499)
}

/** A client connection closed: every exchange still open on it is over (499: abandoned). */
function onSocketClose (this: TaggedSocket): void {
  let ex = this[kOpen] ?? null
  while (ex !== null) {
    const next = ex.next
    const raw = ex.response as TaggedResponse
    if (raw[kExchange] === ex) raw[kExchange] = undefined
    ex.ledger?.end(ex, raw.writableFinished ? raw.statusCode : 499)
    ex = next
  }
  this[kOpen] = null
}
