/**
 * The data path: a fastify server with @fastify/http-proxy choosing the upstream per request.
 * A preHandler reads the current route table (one reference, swapped on every state change)
 * and the per-color availability (recomputed on health or mode changes), decides the color
 * from the override, drain window, sticky cookie or header bucket, picks the least-loaded
 * usable target, and leaves the outcome on the request; getUpstream returns the target,
 * rewriteHeaders appends the sticky Set-Cookie, and the raw response's 'close' does the
 * accounting (metrics, in-flight, passive health). No I/O and no await happen between the
 * request and the upstream call. An idempotent request refused or reset before any response
 * byte is sent once more, to another target.
 */
import { randomInt } from 'node:crypto'
import type { IncomingHttpHeaders, ServerResponse } from 'node:http'
import httpProxy from '@fastify/http-proxy'
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'
import { Agent } from 'undici'
import type { Config, TargetConfig } from '../config/config-types.js'
import { errorBody } from '../errors.js'
import { NO_REQUEST_METRICS, type Metrics, type RequestMetrics } from '../metrics/metrics.js'
import { decide } from '../routing/decide.js'
import { nextFreshBucket } from '../routing/fresh-bucket.js'
import { headerBucket, saltToSeed } from '../routing/header-bucket.js'
import { buildRouteTable, type RouteTable } from '../routing/route-table.js'
import { targetMode, type RoutingState } from '../routing/routing-state.js'
import { encodeStickyCookie, readCookie, type Mac } from '../routing/sticky-cookie.js'
import { BUCKETS, REASONS } from '../routing/types.js'
import { colorForBucket } from '../routing/weights.js'
import { hmacFor } from './sticky-mac.js'
import { CoarseClock } from './coarse-clock.js'
import { CookieCache } from './cookie-cache.js'
import { classifyUpstreamError } from './upstream-errors.js'
import { TargetPools, type HealthEvent, type Target } from './target-pool.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** Index of the serving color, -1 before routing or when none can serve. */
    swyColor: number
    /** Index in REASONS of the decision's reason. */
    swyReason: number
    /** The chosen target's origin. */
    swyTarget: string
    /** The chosen target (in-flight and passive health are kept on it). */
    swyTargetRef: Target | null
    /** A sticky cookie to set on the response, '' for none. */
    swyCookie: string
    /** performance.now() when the request was routed. */
    swyStart: number
    /** True once the request was retried on another target. */
    swyRetried: boolean
  }
}

/** The raw response's link back to its request, for the shared 'close' listener. */
const kRequest = Symbol('switchyard.request')
type TaggedResponse = ServerResponse & { [kRequest]?: FastifyRequest | undefined }

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
}

const MODE_NONE = 0
const MODE_COOKIE = 1
const MODE_HEADER = 2

/** The running data path: the fastify server and the hooks to steer it. */
export interface DataPath {
  readonly server: FastifyInstance
  /** Compiles and swaps the route table (and target modes) for a newly applied state. */
  apply (state: RoutingState): void
  /** The route table requests are decided on now. */
  readonly table: RouteTable
  /** Every color's targets, with their health and in-flight counts. */
  readonly pools: TargetPools
  /** Uses a new cookie secret (another instance's won a store re-seed). */
  setSecret (secret: string): void
  /** Closes idle upstream connections (after the server closed). */
  closeUpstreams (): Promise<void>
}

/** Builds (does not listen) the data-path server. */
export async function buildDataPath (deps: ProxyDeps): Promise<DataPath> {
  const { config, colors } = deps
  const metrics: RequestMetrics = config.metrics.enabled ? deps.metrics : NO_REQUEST_METRICS
  const sticky = config.sticky
  const mode = sticky.mode === 'cookie' ? MODE_COOKIE : sticky.mode === 'header' ? MODE_HEADER : MODE_NONE
  let cookieMac: Mac = hmacFor(deps.secret, 'sticky-cookie')
  const cookies = new CookieCache(cookieMac)
  const overrideMac: Mac | undefined = config.overrides.secret === undefined ? undefined : hmacFor(config.overrides.secret, 'override')
  const overrideHeader = config.overrides.header.toLowerCase()
  const overridesOn = config.overrides.enabled
  const stickyHeader = sticky.header.toLowerCase()
  let seed = saltToSeed(sticky.salt ?? hmacFor(deps.secret, 'header-salt')('salt'))
  const cookieName = sticky.cookie
  const ttl = sticky.ttlSeconds
  const cookieAttrs = `; Path=/; Max-Age=${ttl}; HttpOnly; SameSite=${sticky.sameSite}${sticky.secure || sticky.sameSite === 'None' ? '; Secure' : ''}`
  const pools = new TargetPools(colors, deps.targets, config.health.passive, deps.onHealth)
  const available = pools.available
  const retryMethods = new Set(config.retry.methods)
  const overrideRule = { enabled: overridesOn, mac: overrideMac }
  let lastFresh = randomInt(BUCKETS)
  const clock = new CoarseClock().start()
  // Signed Set-Cookie values per (bucket, color), reused within their minute: a new client
  // costs an array read instead of an HMAC (issuedAt is rounded down to the minute).
  const minted: Array<string | undefined> = new Array<string | undefined>(BUCKETS * colors.length).fill(undefined)
  const mintedMinute = new Int32Array(BUCKETS * colors.length)
  let table: RouteTable = buildRouteTable(0, colors, Object.fromEntries(colors.map((c, i) => [c, i === 0 ? BUCKETS : 0])), overrideRule)

  const agent = new Agent({
    connections: config.upstream.connections,
    keepAliveTimeout: config.upstream.keepAliveTimeoutMs,
    headersTimeout: config.upstream.responseTimeoutMs,
    bodyTimeout: config.upstream.bodyTimeoutMs,
    connect: { timeout: config.upstream.connectTimeoutMs, rejectUnauthorized: config.upstream.rejectUnauthorized }
  })

  const server = Fastify({
    loggerInstance: deps.logger,
    logController: new LogController({ disableRequestLogging: true }),
    // Requests are not logged on the data path, so no per-request child logger (a pino
    // child per request showed in the profile); errors still log through the parent.
    childLoggerFactory: (logger) => logger,
    bodyLimit: config.proxy.bodyLimit,
    return503OnClosing: true,
    forceCloseConnections: 'idle'
  })
  server.decorateRequest('swyColor', -1)
  server.decorateRequest('swyReason', 0)
  server.decorateRequest('swyTarget', '')
  server.decorateRequest('swyTargetRef', null)
  server.decorateRequest('swyCookie', '')
  server.decorateRequest('swyStart', 0)
  server.decorateRequest('swyRetried', false)

  // One listener function for every response ('close' fires for answered and abandoned
  // requests alike, unlike fastify's onResponse), so accounting allocates no closure.
  function onClose (this: TaggedResponse): void {
    const request = this[kRequest]
    if (request === undefined) return
    this[kRequest] = undefined
    const status = this.writableFinished ? this.statusCode : 499
    const target = request.swyTargetRef
    if (target !== null) {
      // The upstream answered (our own 502/504s clear the target in onError).
      target.inFlight--
      if (status !== 499) pools.outcome(target, status < 500, clock.ms)
      if (status >= 500) metrics.upstreamError(request.swyColor, '5xx')
    }
    metrics.ended(request.swyColor)
    metrics.request(request.swyColor, request.swyReason, status, (performance.now() - request.swyStart) / 1000)
  }

  function route (request: FastifyRequest, reply: FastifyReply, done: () => void): void {
    const headers = request.headers
    const t = table
    let override: string | undefined
    if (overridesOn) {
      const v = headers[overrideHeader]
      if (typeof v === 'string') override = v
    }
    let stickyBucket = -1
    let cookieColor = ''
    const now = clock.ms
    if (mode === MODE_COOKIE) {
      const header = headers.cookie
      if (header !== undefined) {
        const raw = readCookie(header, cookieName)
        if (raw !== undefined) {
          const c = cookies.verify(raw, (now / 1000) | 0, ttl)
          if (c !== undefined) { stickyBucket = c.bucket; cookieColor = c.color }
        }
      }
    } else if (mode === MODE_HEADER) {
      const v = headers[stickyHeader]
      if (typeof v === 'string' && v !== '') stickyBucket = headerBucket(v, seed)
    }
    let fresh = 0
    if (stickyBucket < 0) fresh = lastFresh = nextFreshBucket(lastFresh)
    const lastColor = cookieColor === '' ? -1 : (t.colorIndex.get(cookieColor) ?? -1)
    const decision = decide(t, override, stickyBucket, fresh, lastColor, now / 1000, available)
    const color = decision.color
    request.swyColor = color
    request.swyReason = decision.reasonIndex
    request.swyStart = performance.now()
    metrics.started(color)
    const raw = reply.raw as TaggedResponse
    raw[kRequest] = request
    raw.on('close', onClose)
    const target = color < 0 ? undefined : pools.pick(color)
    if (target === undefined) {
      reply.code(503).send(errorBody('SWY_ERR_NO_HEALTHY_UPSTREAM', override !== undefined && t.overrides.has(override)
        ? `the color forced by ${overrideHeader} has no healthy target`
        : 'no color with weight has a healthy target'))
      return
    }
    target.inFlight++
    request.swyTargetRef = target
    request.swyTarget = target.origin
    // The cookie records the color the weights chose for this client (not a fallback), so
    // it returns there when that color recovers, and drain knows where it was.
    if (mode === MODE_COOKIE && decision.reason !== 'override' && decision.reason !== 'fallback') {
      const served = t.colors[color] as string
      if (stickyBucket < 0) request.swyCookie = mint(fresh, color, now)
      else if (cookieColor !== served) request.swyCookie = mint(stickyBucket, color, now)
    } else if (mode === MODE_COOKIE && stickyBucket < 0 && decision.reason === 'fallback') {
      request.swyCookie = mint(fresh, colorForBucket(t.thresholds, fresh), now)
    }
    done()
  }

  /** The Set-Cookie for a bucket and color index; signed once per minute, remembered as verified. */
  function mint (bucket: number, color: number, now: number): string {
    const minute = Math.floor(now / 60_000)
    const i = bucket * colors.length + color
    const known = minted[i]
    if (known !== undefined && mintedMinute[i] === minute) return known
    const cookie = { bucket, color: colors[color] as string, issuedAt: minute * 60 }
    const value = encodeStickyCookie(cookie, cookieMac)
    cookies.remember(value, cookie)
    const header = `${cookieName}=${value}${cookieAttrs}`
    minted[i] = header
    mintedMinute[i] = minute
    return header
  }

  /** Another target for a retry: the same color first, else the next color with weight that can serve. */
  function retryTarget (color: number, failed: Target): Target | undefined {
    const same = pools.pick(color, failed)
    if (same !== undefined) return same
    const n = colors.length
    for (let k = 1; k < n; k++) {
      const c = (color + k) % n
      if (table.weighted[c] === 1 && available[c] === 1) {
        const other = pools.pick(c, failed)
        if (other !== undefined) return other
      }
    }
    return undefined
  }

  function forwardedHeaders (request: FastifyRequest, headers: IncomingHttpHeaders): IncomingHttpHeaders {
    // Copy first: adding keys to reply-from's spread copy of the request headers is slow in
    // V8 (≈0.8 µs a key); Object.assign into a fresh object, then setting, is ≈0.2 µs in all.
    const out: IncomingHttpHeaders = Object.assign({}, headers)
    const ip = request.raw.socket.remoteAddress ?? ''
    const prior = out['x-forwarded-for']
    out['x-forwarded-for'] = config.proxy.trustForwarded && typeof prior === 'string' && prior !== '' ? `${prior}, ${ip}` : ip
    if (!config.proxy.trustForwarded || out['x-forwarded-proto'] === undefined) out['x-forwarded-proto'] = 'http'
    if (!config.proxy.trustForwarded || out['x-forwarded-host'] === undefined) {
      const host = request.headers.host
      if (host !== undefined) out['x-forwarded-host'] = host
    }
    return out
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
    rewriteRequestHeaders: (headers: Record<string, unknown>, request: FastifyRequest): IncomingHttpHeaders => {
      const out = forwardedHeaders(request, headers as IncomingHttpHeaders)
      if (request.headers.cookie !== undefined) out.cookie = request.headers.cookie
      return out
    }
  }

  const replyOptions = {
    getUpstream: (request: FastifyRequest) => request.swyTarget,
    rewriteRequestHeaders: (request: FastifyRequest, headers: IncomingHttpHeaders) => forwardedHeaders(request, headers),
    rewriteHeaders: (headers: IncomingHttpHeaders, request?: FastifyRequest) => {
      const cookie = request?.swyCookie
      if (cookie !== undefined && cookie !== '') {
        const prior = headers['set-cookie']
        headers['set-cookie'] = prior === undefined ? [cookie] : Array.isArray(prior) ? [...prior, cookie] : [prior, cookie]
      }
      return headers
    },
    retryDelay: () => null,
    onError: (reply: FastifyReply, { error }: { error: unknown }) => {
      const request = reply.request
      const failure = classifyUpstreamError(error)
      metrics.upstreamError(request.swyColor, failure.kind)
      const failed = request.swyTargetRef
      if (failed !== null) {
        failed.inFlight--
        pools.outcome(failed, false, Date.now())
        request.swyTargetRef = null
        if (!request.swyRetried && (failure.kind === 'connect' || failure.kind === 'reset') && retryMethods.has(request.method)) {
          const next = retryTarget(failed.color, failed)
          if (next !== undefined) {
            request.swyRetried = true
            if (next.color !== request.swyColor) {
              metrics.ended(request.swyColor)
              metrics.started(next.color)
              request.swyColor = next.color
              request.swyReason = FALLBACK_REASON
            }
            next.inFlight++
            request.swyTargetRef = next
            request.swyTarget = next.origin
            reply.from(undefined, replyOptions as unknown as Parameters<FastifyReply['from']>[1])
            return
          }
        }
      }
      const body = errorBody(failure.code, `${errorBody(failure.code).message} (color "${table.colors[request.swyColor] ?? 'none'}")`)
      void reply.code(failure.code === 'SWY_ERR_UPSTREAM_TIMEOUT' ? 504 : 502).send(body)
    }
  }

  await server.register(httpProxy, {
    upstream: '',
    ...(config.proxy.websocket ? { websocket: true as const } : { websocket: false as const }),
    disableRequestLogging: true,
    undici: agent,
    preHandler: route,
    wsClientOptions,
    replyOptions: replyOptions as unknown as NonNullable<Parameters<typeof httpProxy>[1]['replyOptions']>
  })

  return {
    server,
    pools,
    apply (state: RoutingState) {
      table = buildRouteTable(state.version, colors, state.weights, overrideRule, state.drainUntil)
      pools.setModes((target) => targetMode(state, target.colorName, target.id))
    },
    get table () { return table },
    setSecret (secret: string) {
      cookieMac = hmacFor(secret, 'sticky-cookie')
      cookies.reset(cookieMac)
      minted.fill(undefined)
      if (sticky.salt === undefined) seed = saltToSeed(hmacFor(secret, 'header-salt')('salt'))
    },
    async closeUpstreams () {
      clock.stop()
      pools.close()
      await agent.close()
    }
  }
}

const FALLBACK_REASON = REASONS.indexOf('fallback')
