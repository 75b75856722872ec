/**
 * The data path: a fastify server with @fastify/http-proxy choosing the upstream per request,
 * composed from one piece per concern. The listener (listener.ts) takes connections with the
 * client-side limits; Admission (admission.ts) is the preHandler: it refuses what must be
 * refused, asks the RequestRouter (request-router.ts) for the color and cookie, picks a target
 * and opens the request's Exchange (exchange.ts, one object on `request.swy`); the Forwarder
 * (forwarder.ts) makes the upstream call through the tracking agent (upstream-agent.ts) with
 * the header policy (header-policy.ts) and turns failures into a retry or a coded answer; the
 * ExchangeLedger ends each exchange once (metrics, in-flight, passive health). No I/O and no
 * await happen between the request and the upstream call.
 *
 * At the edge (DATAPATH-SPEC.md): one header policy both ways; bodies are never parsed, only
 * counted against proxy.bodyLimit (body-limit.ts); the client's request must arrive within
 * proxy.requestTimeoutMs (408); passive health counts only what the upstream did; each
 * request's in-flight slot is released once, by one idempotent path (Exchange.release()).
 */
import httpProxy from '@fastify/http-proxy'
import type { FastifyBaseLogger, FastifyInstance } from 'fastify'
import { colorHealths } from '../config/color-health.js'
import type { Config, TargetConfig } from '../config/config-types.js'
import { NO_REQUEST_METRICS, type Metrics, type RequestMetrics } from '../metrics/metrics.js'
import type { RouteTable } from '../routing/route-table.js'
import { targetMode, type RoutingState } from '../routing/routing-state.js'
import type { TlsMaterial } from '../tls.js'
import { Admission } from './admission.js'
import { CoarseClock } from './coarse-clock.js'
import { ExchangeLedger } from './exchange.js'
import { Forwarder } from './forwarder.js'
import { HeaderPolicy } from './header-policy.js'
import { createDataPathServer } from './listener.js'
import { RequestRouter } from './request-router.js'
import { TargetPools, type HealthEvent, type PoolClock } from './target-pool.js'
import { createUpstreamAgent, type UpstreamAgent } from './upstream-agent.js'
import { syncPools } from './pool-sync.js'
import { configPool } from '../routing/pool.js'
import { UpstreamLog } from './upstream-log.js'

/** The per-request record (defined in exchange.ts), kept importable from here for bench/micro/exchange.ts. */
export { Exchange } from './exchange.js'

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
  /** The targets' pools, built by the caller instead (a cluster worker's, whose passive health the primary decides). */
  readonly pools?: TargetPools | undefined
}

/** The running data path: the fastify server and the hooks to steer it. */
export interface DataPath {
  readonly server: FastifyInstance
  /** Compiles and swaps the route table, and brings the pools (members and modes) in step, for a newly applied state. */
  apply (state: RoutingState): void
  /** The route table requests are decided on now. */
  readonly table: RouteTable
  /** The routing step (table, cookie caches, seed). */
  readonly router: RequestRouter
  /** Every color's targets, with their health and in-flight counts. */
  readonly pools: TargetPools
  /** The upstream dispatcher (its settings change live on a config reload). */
  readonly upstream: UpstreamAgent
  /** Uses a new cookie secret (another instance's won a store re-seed). */
  setSecret (secret: string): void
  /** Closes idle upstream connections (after the server closed). */
  closeUpstreams (): Promise<void>
}

/** Builds (does not listen) the data-path server. */
export async function buildDataPath (deps: ProxyDeps): Promise<DataPath> {
  const { config, colors, logger } = deps
  const metrics: RequestMetrics = config.metrics.enabled ? deps.metrics : NO_REQUEST_METRICS
  const clock = deps.clock ?? new CoarseClock().start()
  const pools = deps.pools ?? new TargetPools(colors, deps.targets, colorHealths(config, colors).map((h) => h.passive), deps.onHealth, deps.poolClock)
  // A state without a pool (or a color it does not name) routes to the config's targets.
  const fallback = configPool(colors, deps.targets)
  // A cluster worker's members come from its primary, in the primary's order (add, retire,
  // remove messages): it never brings its pools in step with a state itself.
  const followsPool = deps.pools === undefined
  const router = new RequestRouter({ colors, sticky: config.sticky, overrides: config.overrides, secret: deps.secret, available: pools.available })
  const policy = new HeaderPolicy({ overrideHeader: router.overrideHeader, trustForwarded: config.proxy.trustForwarded, tls: deps.tls !== undefined })
  const ledger = new ExchangeLedger(metrics, pools, clock)
  const admission = new Admission({ router, pools, policy, ledger, bodyLimit: config.proxy.bodyLimit, clock })
  const upstreamLog = new UpstreamLog(logger, clock)
  const forwarder = new Forwarder({ colors, router, pools, policy, ledger, metrics, logger, clock, upstreamLog, retryMethods: config.retry.methods })
  const agent = createUpstreamAgent(config.upstream)

  const server = createDataPathServer({ proxy: config.proxy, logger, tls: deps.tls })
  server.addHook('preClose', (done) => { forwarder.closing = true; done() })
  await server.register(httpProxy, {
    upstream: '',
    ...(config.proxy.websocket ? { websocket: true as const } : { websocket: false as const }),
    disableRequestLogging: true,
    undici: agent,
    preHandler: (request, reply, done) => { admission.admit(request, reply, done) },
    // The listener's pass-through parser (http-proxy's would leave fastify's text/plain one).
    proxyPayloads: false,
    wsClientOptions: forwarder.wsClientOptions,
    wsServerOptions: { maxPayload: config.proxy.websocketMaxPayload },
    replyOptions: forwarder.replyOptions
  })

  return {
    server,
    pools,
    apply (state: RoutingState) {
      if (followsPool) syncPools(pools, colors, state.pool, fallback, (color, id) => targetMode(state, color, id))
      router.apply(state)
      pools.setModes((target) => targetMode(state, target.colorName, target.id))
    },
    get table () { return router.table },
    router,
    upstream: agent,
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
