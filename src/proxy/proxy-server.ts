/**
 * The data path: a fastify server with @fastify/http-proxy choosing the upstream per request.
 * A preHandler reads the current route table (one reference, swapped on every state change),
 * decides the color from the override, sticky cookie or header bucket, picks a target round
 * robin, and leaves the outcome on the request as primitives; getUpstream returns the target,
 * rewriteHeaders appends the sticky Set-Cookie, onResponse counts the request. No I/O and no
 * await happen between the request and the upstream call.
 */
import { randomInt } from 'node:crypto'
import type { IncomingHttpHeaders, ServerResponse } from 'node:http'
import httpProxy from '@fastify/http-proxy'
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'
import { Agent } from 'undici'
import type { Config } from '../config/config-types.js'
import { errorBody } from '../errors.js'
import type { Metrics } from '../metrics/metrics.js'
import { decide } from '../routing/decide.js'
import { nextFreshBucket } from '../routing/fresh-bucket.js'
import { headerBucket, saltToSeed } from '../routing/header-bucket.js'
import { buildRouteTable, type RouteTable } from '../routing/route-table.js'
import type { RoutingState } from '../routing/routing-state.js'
import { encodeStickyCookie, readCookie, verifyStickyCookie, type Mac } from '../routing/sticky-cookie.js'
import { BUCKETS } from '../routing/types.js'
import { hmacFor } from './sticky-mac.js'
import { classifyUpstreamError } from './upstream-errors.js'
import { UpstreamPool } from './upstream-pool.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** Index of the serving color, -1 before routing. */
    swyColor: number
    /** Index in REASONS of the decision's reason. */
    swyReason: number
    /** The chosen target origin. */
    swyTarget: string
    /** A sticky cookie to set on the response, '' for none. */
    swyCookie: string
    /** performance.now() when the request was routed. */
    swyStart: number
  }
}

/** The raw response's link back to its request, for the shared 'close' listener. */
const kRequest = Symbol('switchyard.request')
type TaggedResponse = ServerResponse & { [kRequest]?: FastifyRequest | undefined }

/** What the data path needs from the rest of switchyard. */
export interface ProxyDeps {
  readonly config: Config
  readonly colors: readonly string[]
  readonly secret: string
  readonly metrics: Metrics
  readonly logger: FastifyBaseLogger
}

const MODE_NONE = 0
const MODE_COOKIE = 1
const MODE_HEADER = 2

/** The running data path: the fastify server and the hook to swap its route table. */
export interface DataPath {
  readonly server: FastifyInstance
  /** Compiles and swaps the route table for a newly applied state. */
  apply (state: RoutingState): void
  /** The route table requests are decided on now. */
  readonly table: RouteTable
  /** Uses a new cookie secret (another instance's won a store re-seed). */
  setSecret (secret: string): void
  /** Closes idle upstream connections (after the server closed). */
  closeUpstreams (): Promise<void>
}

/** Builds (does not listen) the data-path server. */
export async function buildDataPath (deps: ProxyDeps): Promise<DataPath> {
  const { config, colors, metrics } = deps
  const sticky = config.sticky
  const mode = sticky.mode === 'cookie' ? MODE_COOKIE : sticky.mode === 'header' ? MODE_HEADER : MODE_NONE
  let cookieMac: Mac = hmacFor(deps.secret, 'sticky-cookie')
  const overrideMac: Mac | undefined = config.overrides.secret === undefined ? undefined : hmacFor(config.overrides.secret, 'override')
  const overrideHeader = config.overrides.header.toLowerCase()
  const overridesOn = config.overrides.enabled
  const stickyHeader = sticky.header.toLowerCase()
  let seed = saltToSeed(sticky.salt ?? hmacFor(deps.secret, 'header-salt')('salt'))
  const cookieName = sticky.cookie
  const ttl = sticky.ttlSeconds
  const cookieAttrs = `; Path=/; Max-Age=${ttl}; HttpOnly; SameSite=${sticky.sameSite}${sticky.secure || sticky.sameSite === 'None' ? '; Secure' : ''}`
  const pools = colors.map((c) => new UpstreamPool(config.colors[c]?.targets ?? []))
  const overrideRule = { enabled: overridesOn, mac: overrideMac }
  let lastFresh = randomInt(BUCKETS)
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
    bodyLimit: config.proxy.bodyLimit,
    return503OnClosing: true,
    forceCloseConnections: 'idle'
  })
  server.decorateRequest('swyColor', -1)
  server.decorateRequest('swyReason', 0)
  server.decorateRequest('swyTarget', '')
  server.decorateRequest('swyCookie', '')
  server.decorateRequest('swyStart', 0)

  // One listener function for every response ('close' fires for answered and abandoned
  // requests alike, unlike fastify's onResponse), so accounting allocates no closure.
  function onClose (this: TaggedResponse): void {
    const request = this[kRequest]
    if (request === undefined) return
    this[kRequest] = undefined
    metrics.ended(request.swyColor)
    metrics.request(request.swyColor, request.swyReason, this.writableFinished ? this.statusCode : 499, (performance.now() - request.swyStart) / 1000)
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
    if (mode === MODE_COOKIE) {
      const header = headers.cookie
      if (header !== undefined) {
        const raw = readCookie(header, cookieName)
        if (raw !== undefined) {
          const c = verifyStickyCookie(raw, cookieMac, (Date.now() / 1000) | 0, ttl)
          if (c !== undefined) { stickyBucket = c.bucket; cookieColor = c.color }
        }
      }
    } else if (mode === MODE_HEADER) {
      const v = headers[stickyHeader]
      if (typeof v === 'string' && v !== '') stickyBucket = headerBucket(v, seed)
    }
    let fresh = 0
    if (stickyBucket < 0) fresh = lastFresh = nextFreshBucket(lastFresh)
    const decision = decide(t, override, stickyBucket, fresh)
    const color = decision.color
    request.swyColor = color
    request.swyReason = decision.reasonIndex
    request.swyStart = performance.now()
    metrics.started(color)
    const raw = reply.raw as TaggedResponse
    raw[kRequest] = request
    raw.on('close', onClose)
    const target = (pools[color] as UpstreamPool).pick()
    if (target === undefined) {
      reply.code(503).send(errorBody('SWY_ERR_NO_HEALTHY_UPSTREAM', `color "${t.colors[color] ?? '?'}" has no target`))
      return
    }
    request.swyTarget = target
    if (mode === MODE_COOKIE && decision.reason !== 'override') {
      const served = t.colors[color] as string
      if (stickyBucket < 0) {
        request.swyCookie = `${cookieName}=${encodeStickyCookie({ bucket: fresh, color: served, issuedAt: (Date.now() / 1000) | 0 }, cookieMac)}${cookieAttrs}`
      } else if (cookieColor !== served) {
        request.swyCookie = `${cookieName}=${encodeStickyCookie({ bucket: stickyBucket, color: served, issuedAt: (Date.now() / 1000) | 0 }, cookieMac)}${cookieAttrs}`
      }
    }
    done()
  }

  function forwardedHeaders (request: FastifyRequest, headers: IncomingHttpHeaders): IncomingHttpHeaders {
    const ip = request.raw.socket.remoteAddress ?? ''
    const prior = headers['x-forwarded-for']
    headers['x-forwarded-for'] = config.proxy.trustForwarded && typeof prior === 'string' && prior !== '' ? `${prior}, ${ip}` : ip
    if (!config.proxy.trustForwarded || headers['x-forwarded-proto'] === undefined) headers['x-forwarded-proto'] = 'http'
    if (!config.proxy.trustForwarded || headers['x-forwarded-host'] === undefined) {
      const host = request.headers.host
      if (host !== undefined) headers['x-forwarded-host'] = host
    }
    return headers
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
      const out: IncomingHttpHeaders = { ...headers as IncomingHttpHeaders }
      if (request.headers.cookie !== undefined) out.cookie = request.headers.cookie
      return forwardedHeaders(request, out)
    }
  }

  await server.register(httpProxy, {
    upstream: '',
    ...(config.proxy.websocket ? { websocket: true as const } : { websocket: false as const }),
    disableRequestLogging: true,
    undici: agent,
    preHandler: route,
    wsClientOptions,
    replyOptions: {
      getUpstream: (request) => (request as unknown as FastifyRequest).swyTarget,
      rewriteRequestHeaders: (request, headers) => forwardedHeaders(request as unknown as FastifyRequest, headers),
      rewriteHeaders: (headers, request) => {
        const cookie = (request as unknown as FastifyRequest | undefined)?.swyCookie
        if (cookie !== undefined && cookie !== '') {
          const prior = headers['set-cookie']
          headers['set-cookie'] = prior === undefined ? [cookie] : Array.isArray(prior) ? [...prior, cookie] : [prior, cookie]
        }
        return headers
      },
      retryDelay: () => null,
      onError: (reply, { error }) => {
        const request = reply.request as unknown as FastifyRequest
        const failure = classifyUpstreamError(error)
        metrics.upstreamError(request.swyColor, failure.kind)
        const body = errorBody(failure.code, `${errorBody(failure.code).message} (color "${table.colors[request.swyColor] ?? 'none'}")`)
        void reply.code(failure.code === 'SWY_ERR_UPSTREAM_TIMEOUT' ? 504 : 502).send(body)
      }
    }
  })

  return {
    server,
    apply (state: RoutingState) {
      table = buildRouteTable(state.version, colors, state.weights, overrideRule)
    },
    get table () { return table },
    setSecret (secret: string) {
      cookieMac = hmacFor(secret, 'sticky-cookie')
      if (sticky.salt === undefined) seed = saltToSeed(hmacFor(secret, 'header-salt')('salt'))
    },
    async closeUpstreams () {
      await agent.close()
    }
  }
}
