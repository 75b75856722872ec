/**
 * The data path's preHandler: what happens to a request before any upstream is touched. It
 * refuses what must be refused (a Content-Length over proxy.bodyLimit, a header the upstream
 * client would refuse), asks the RequestRouter for the color and the sticky cookie, picks the
 * least-loaded usable target of that color (503 when there is none), and opens the request's
 * Exchange, which holds all of it until the exchange ends. No I/O and no await.
 */
import type { FastifyReply, FastifyRequest } from 'fastify'
import { ERRORS, errorBody } from '../errors.js'
import { limitStreamedBody } from './body-limit.js'
import { Exchange, type ExchangeLedger } from './exchange.js'
import type { HeaderPolicy } from './header-policy.js'
import type { RequestRouter } from './request-router.js'
import type { TargetPools } from './target-pool.js'

/** What admission works with. */
export interface AdmissionOptions {
  readonly router: RequestRouter
  readonly pools: TargetPools
  readonly policy: HeaderPolicy
  readonly ledger: ExchangeLedger
  /** proxy.bodyLimit, in bytes. */
  readonly bodyLimit: number
  /** The time routing reads (ms since the epoch, a field). */
  readonly clock: { readonly ms: number }
}

/** Admits a request to a target or answers it: the preHandler of the proxied route. */
export class Admission {
  readonly #router: RequestRouter
  readonly #pools: TargetPools
  readonly #policy: HeaderPolicy
  readonly #ledger: ExchangeLedger
  readonly #bodyLimit: number
  readonly #clock: { readonly ms: number }

  constructor (opts: AdmissionOptions) {
    this.#router = opts.router
    this.#pools = opts.pools
    this.#policy = opts.policy
    this.#ledger = opts.ledger
    this.#bodyLimit = opts.bodyLimit
    this.#clock = opts.clock
  }

  /** Refuses, answers 503, or routes the request and lets it go on to the upstream call (done()). */
  admit (request: FastifyRequest, reply: FastifyReply, done: () => void): void {
    const headers = request.headers
    const length = headers['content-length']
    if (length !== undefined && Number(length) > this.#bodyLimit) {
      this.#refuse(request, reply, 'SWY_ERR_PROXY_BODY_TOO_LARGE')
      return
    }
    const refused = this.#policy.refusal(headers)
    if (refused !== undefined) {
      this.#refuse(request, reply, 'SWY_ERR_PROXY_BAD_REQUEST', refused)
      return
    }
    const outcome = this.#router.route(headers, this.#clock.ms)
    const color = outcome.color
    const ex = new Exchange(reply.raw, request.raw.socket)
    request.swy = ex
    ex.reasonIndex = outcome.reasonIndex
    this.#ledger.open(ex, color)
    const target = color < 0 ? undefined : this.#pools.pick(color)
    if (target === undefined) {
      reply.code(503).send(errorBody('SWY_ERR_NO_HEALTHY_UPSTREAM', outcome.overridden
        ? `the color forced by ${this.#router.overrideHeader} has no healthy target`
        : 'no color with weight has a healthy target'))
      return
    }
    target.inFlight++
    ex.target = target
    ex.cookie = outcome.cookie
    // A chunked body is counted on its way (a Content-Length one was checked above).
    limitStreamedBody(request, ex, this.#bodyLimit)
    done()
  }

  /** Answers a request the proxy refuses before routing it (no upstream touched). */
  #refuse (request: FastifyRequest, reply: FastifyReply, code: 'SWY_ERR_PROXY_BAD_REQUEST' | 'SWY_ERR_PROXY_BODY_TOO_LARGE', message?: string): void {
    const ex = new Exchange(reply.raw, request.raw.socket)
    request.swy = ex
    this.#ledger.open(ex, -1)
    // The body is unread: close the connection after the answer instead of reading it all.
    if (code === 'SWY_ERR_PROXY_BODY_TOO_LARGE' || request.headers['transfer-encoding'] !== undefined || request.headers['content-length'] !== undefined) reply.header('connection', 'close')
    reply.code(ERRORS[code].status).send(errorBody(code, message))
  }
}
