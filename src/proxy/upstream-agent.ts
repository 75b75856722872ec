/**
 * The undici dispatcher every upstream call goes through. It keeps each call's handler on
 * its exchange, so a client that leaves cancels its upstream call (ExchangeLedger.end) instead
 * of holding a pool connection until the upstream answers.
 *
 * Its settings (`upstream`: timeouts, pool size, keep-alive, TLS verification) change live
 * on a config reload: most of them belong to undici's pools, so a new Agent takes every new
 * call from then on, and the old one is closed, which in undici lets the calls it holds
 * finish before its connections close. No call fails for the swap.
 */
import { isDeepStrictEqual } from 'node:util'
import { Agent, Dispatcher } from 'undici'
import type { Config } from '../config/config-types.js'
import { kExchange, type TaggedHeaders, type UpstreamCall } from './exchange.js'

/**
 * An Agent that records each call's handler on the exchange its headers carry (under a
 * symbol, which undici never sends). An override rather than compose(): no wrapper per request.
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

function trackingAgent (upstream: Config['upstream']): TrackingAgent {
  return new TrackingAgent({
    connections: upstream.connections,
    keepAliveTimeout: upstream.keepAliveTimeoutMs,
    headersTimeout: upstream.responseTimeoutMs,
    bodyTimeout: upstream.bodyTimeoutMs,
    connect: { timeout: upstream.connectTimeoutMs, rejectUnauthorized: upstream.rejectUnauthorized }
  })
}

/** The upstream dispatcher: the current agent, swapped for a new one when the settings change. */
export class UpstreamAgent extends Dispatcher {
  #current: TrackingAgent
  #settings: Config['upstream']
  /** Agents replaced by a reload, closing once their calls finish. */
  readonly #retiring = new Map<TrackingAgent, Promise<void>>()

  constructor (upstream: Config['upstream']) {
    super()
    this.#settings = upstream
    this.#current = trackingAgent(upstream)
  }

  override dispatch (opts: Agent.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    return this.#current.dispatch(opts, handler)
  }

  /**
   * Uses `upstream` for every call from now on; returns false when nothing changed. The
   * replaced agent finishes its calls in flight, then closes its connections.
   */
  reconfigure (upstream: Config['upstream']): boolean {
    if (isDeepStrictEqual(upstream, this.#settings)) return false
    const old = this.#current
    this.#current = trackingAgent(upstream)
    this.#settings = upstream
    this.#retiring.set(old, old.close().catch(() => {}).then(() => { this.#retiring.delete(old) }))
    return true
  }

  /** Agents still closing after a reload (tests). */
  get retiring (): number {
    return this.#retiring.size
  }

  /** Closes the current agent and waits for replaced ones (after the server closed). */
  override async close (callback?: () => void): Promise<void> {
    await Promise.all([...this.#retiring.values(), this.#current.close()])
    callback?.()
  }

  /** Destroys every agent at once, calls in flight included. */
  override async destroy (err?: Error | null | (() => void), callback?: () => void): Promise<void> {
    const error = typeof err === 'function' ? null : err ?? null
    await Promise.all([...this.#retiring.keys(), this.#current].map(async (a) => { await a.destroy(error) }))
    if (typeof err === 'function') err()
    callback?.()
  }
}

/** The upstream dispatcher for `upstream` (pool size, keep-alive, timeouts, TLS verification). */
export function createUpstreamAgent (upstream: Config['upstream']): UpstreamAgent {
  return new UpstreamAgent(upstream)
}
