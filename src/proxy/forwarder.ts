/**
 * The upstream call of an admitted request, as @fastify/reply-from options: the target the
 * exchange holds, the header policy both ways plus the sticky cookie, and what a failed call
 * becomes. A failure the client caused (body too large, client gone) counts against nothing
 * and logs at debug; an upstream failure counts against its target (metrics, passive health,
 * one rate-limited warn line) and is retried once on another target when the retry rules
 * allow, else answered with its coded 502/504. The options are built once per data path.
 */
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http'
import type { Socket } from 'node:net'
import type { FastifyBaseLogger, FastifyReply, FastifyRequest } from 'fastify'
import { ERRORS, errorBody } from '../errors.js'
import type { RequestMetrics } from '../metrics/metrics.js'
import { nextServingColor } from '../routing/serving.js'
import { REASON_INDEX } from '../routing/types.js'
import { bodyDone, bodyUntouched } from './body-limit.js'
import { FAULT_CLIENT_GONE, FAULT_NONE, FAULT_TOO_LARGE, kExchange, type Exchange, type ExchangeLedger, type TaggedHeaders } from './exchange.js'
import type { HeaderPolicy } from './header-policy.js'
import type { RequestRouter } from './request-router.js'
import type { Target, TargetPools } from './target-pool.js'
import { classifyUpstreamError } from './upstream-errors.js'
import type { UpstreamLog } from './upstream-log.js'

/** What the forwarder works with. */
export interface ForwarderOptions {
  readonly colors: readonly string[]
  readonly router: RequestRouter
  readonly pools: TargetPools
  readonly policy: HeaderPolicy
  readonly ledger: ExchangeLedger
  readonly metrics: RequestMetrics
  readonly upstreamLog: UpstreamLog
  readonly logger: FastifyBaseLogger
  /** retry.methods: methods retried after a reset; none turns retries off. */
  readonly retryMethods: readonly string[]
  /** The time passive health reads (ms since the epoch, a field). */
  readonly clock: { readonly ms: number }
}

/** Sends admitted requests upstream: the reply-from and websocket options of the proxied route. */
export class Forwarder {
  /** Set once the server starts closing: answers then close their connection. */
  closing = false
  /** reply-from's options (typed loosely: http-proxy's types lag what its runtime passes). */
  readonly replyOptions: object
  /**
   * http-proxy's websocket client options. Its types omit rewriteRequestHeaders, which its
   * runtime calls (headers, request) for every upgrade; the default forwards only the cookie.
   */
  readonly wsClientOptions: object

  readonly #colors: readonly string[]
  readonly #router: RequestRouter
  readonly #pools: TargetPools
  readonly #policy: HeaderPolicy
  readonly #ledger: ExchangeLedger
  readonly #metrics: RequestMetrics
  readonly #upstreamLog: UpstreamLog
  readonly #logger: FastifyBaseLogger
  readonly #retryMethods: ReadonlySet<string>
  readonly #clock: { readonly ms: number }

  constructor (opts: ForwarderOptions) {
    this.#colors = opts.colors
    this.#router = opts.router
    this.#pools = opts.pools
    this.#policy = opts.policy
    this.#ledger = opts.ledger
    this.#metrics = opts.metrics
    this.#upstreamLog = opts.upstreamLog
    this.#logger = opts.logger
    this.#retryMethods = new Set(opts.retryMethods)
    this.#clock = opts.clock
    const policy = opts.policy
    this.wsClientOptions = {
      headers: {},
      rewriteRequestHeaders: (_headers: Record<string, unknown>, request: FastifyRequest): IncomingHttpHeaders =>
        policy.websocket(request.headers, clientAddress(request))
    }
    this.replyOptions = {
      getUpstream: (request: FastifyRequest) => (request.swy as Exchange).target?.origin ?? '',
      rewriteRequestHeaders: (request: FastifyRequest, headers: IncomingHttpHeaders) => {
        const out: TaggedHeaders = policy.request(request.headers, headers.host, clientAddress(request))
        const ex = request.swy
        if (ex !== null) out[kExchange] = ex
        return out
      },
      rewriteHeaders: (headers: IncomingHttpHeaders, request?: FastifyRequest) => this.#responseHeaders(headers, request),
      retryDelay: () => null,
      onError: (reply: FastifyReply, { error }: { error: unknown }) => { this.#onError(reply, error) }
    }
  }

  /** The upstream's response headers as the client gets them: the policy, the close while shutting down, the sticky cookie. */
  #responseHeaders (upstream: IncomingHttpHeaders, request: FastifyRequest | undefined): IncomingHttpHeaders {
    const headers = this.#policy.forClient(upstream)
    // Shutting down: the connection closes after this answer instead of idling in
    // keep-alive (server.close() reaps only the connections idle when it starts).
    if (this.closing) headers.connection = 'close'
    const cookie = request?.swy?.cookie
    if (cookie !== undefined && cookie !== '') {
      const prior = headers['set-cookie']
      // Alone, the cookie goes as a string: one Set-Cookie line either way, and no array for
      // fastify to copy (reply.header slices an array) and http-proxy to map (sanitizeHeaders).
      ;(headers as OutgoingHttpHeaders)['set-cookie'] = prior === undefined ? cookie : Array.isArray(prior) ? [...prior, cookie] : [prior, cookie]
    }
    return headers
  }

  /** A failed upstream call: the client's fault, a retry on another target, or a coded 502/504. */
  #onError (reply: FastifyReply, error: unknown): void {
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
      ex.release()
      this.#logger.debug({ fault: ex.fault === FAULT_TOO_LARGE ? 'body too large' : 'client gone' }, 'request ended by the client')
      if (ex.fault === FAULT_TOO_LARGE && !reply.sent && socket.writable) {
        void reply.header('connection', 'close').code(413).send(errorBody('SWY_ERR_PROXY_BODY_TOO_LARGE'))
      } else if (!socket.destroyed) {
        socket.destroy()
      }
      return
    }
    const failure = classifyUpstreamError(error)
    const failed = ex.release()
    if (failed !== null) {
      this.#metrics.upstreamError(ex.color, failure.kind)
      this.#pools.outcome(failed, false, this.#clock.ms)
      this.#upstreamLog.failure(failed, failure)
      // Once, on another target, when retries are on (retry.methods not empty): a refused
      // connection for any method whose body was not touched (nothing reached an
      // upstream); a reset only for the configured methods.
      const retryMethods = this.#retryMethods
      if (!ex.retried && ((failure.kind === 'connect' && retryMethods.size > 0 && bodyUntouched(request)) ||
          ((failure.kind === 'connect' || failure.kind === 'reset') && retryMethods.has(request.method)))) {
        const next = this.#retryTarget(failed.color, failed, ex.reasonIndex === REASON_INDEX.override)
        if (next !== undefined) {
          ex.retried = true
          if (next.color !== ex.color) {
            this.#ledger.moveColor(ex, next.color)
            ex.reasonIndex = REASON_INDEX.fallback
          }
          next.inFlight++
          ex.target = next
          reply.from(undefined, this.replyOptions)
          return
        }
      }
    }
    const body = errorBody(failure.code, `${errorBody(failure.code).message} (color "${this.#colors[ex.color] ?? 'none'}")`)
    // A body never sent upstream is still unread: close the connection after the answer.
    if (!bodyUntouched(request) || !bodyDone(request)) reply.header('connection', 'close')
    void reply.code(ERRORS[failure.code].status).send(body)
  }

  /**
   * Another target for a retry: the same color first, else the next color with weight that
   * can serve — except for a request an override forced onto its color (decide() never
   * serves those from another color: the tester asked for that one).
   */
  #retryTarget (color: number, failed: Target, forced: boolean): Target | undefined {
    const pools = this.#pools
    const same = pools.pick(color, failed)
    if (same !== undefined || forced) return same
    const weighted = this.#router.table.weighted
    const available = pools.available
    for (let c = nextServingColor(weighted, available, color); c >= 0; c = nextServingColor(weighted, available, color, c)) {
      const other = pools.pick(c, failed)
      if (other !== undefined) return other
    }
    return undefined
  }
}

/** The client's address for x-forwarded-for (the exchange keeps the socket: request.raw.socket can be nulled by Node's stream teardown). */
function clientAddress (request: FastifyRequest): string {
  return request.swy?.socket.remoteAddress ?? (request.raw.socket as Socket | null)?.remoteAddress ?? ''
}
