/**
 * The undici agent every upstream call goes through. It keeps each call's handler on its
 * exchange, so a client that leaves cancels its upstream call (ExchangeLedger.end) instead of
 * holding a pool connection until the upstream answers.
 */
import { Agent, type Dispatcher } from 'undici'
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

/** The upstream agent for `upstream` (pool size, keep-alive, timeouts, TLS verification). */
export function createUpstreamAgent (upstream: Config['upstream']): Agent {
  return new TrackingAgent({
    connections: upstream.connections,
    keepAliveTimeout: upstream.keepAliveTimeoutMs,
    headersTimeout: upstream.responseTimeoutMs,
    bodyTimeout: upstream.bodyTimeoutMs,
    connect: { timeout: upstream.connectTimeoutMs, rejectUnauthorized: upstream.rejectUnauthorized }
  })
}
