/**
 * The admin API, on its own listener: read the state and history, change weights, flip,
 * roll back, and expose health and metrics. Every body and query is validated by a JSON
 * schema; every failure answers `{ error, message }` with a code from src/errors.ts; writes
 * honour If-Match and run as compare-and-set through the switchboard, so none is half-applied.
 */
import type { Socket } from 'node:net'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'
import type { Config } from '../config/config-types.js'
import { isLoopback } from '../config/load-config.js'
import { rawErrorResponse } from '../errors.js'
import { loadTls } from '../tls.js'
import type { Metrics } from '../metrics/metrics.js'
import { flipTo, rollback, setTargetMode, setWeights, type ChangeMeta } from '../routing/routing-state.js'
import { parseWeights } from '../routing/weights.js'
import type { InFlightCounts, InstanceInfo } from '../state/store.js'
import type { ChangeSuccess, Switchboard, Transition } from '../state/switchboard.js'
import { adminFailure, problemCode, sendError, type FailureLike } from './admin-errors.js'
import { adminIndex, adminIndexHtml, prefersHtml } from './admin-index.js'
import { AdminAuth, type Principal } from './auth.js'
import { drainAnswer, DrainWatch, withFleetInFlight } from './drain-wait.js'
import { registerOpenApi } from './openapi.js'
import { ADMIN_ROUTE_SCHEMAS, type WriteQuery } from './schemas.js'
import { historyView, stateView } from './state-view.js'
import { switchPolicyOf } from './switch-policy-body.js'
import type { RolloutControl } from '../rollout/control.js'
import { registerRolloutRoutes } from './rollout-routes.js'
import { registerTargetRoutes } from './target-routes.js'
import type { Pool } from '../routing/pool.js'
import { registerReloadRoute, type ReloadHandler } from './reload-route.js'
import type { FiguresView } from './recent-figures.js'
import { fromOwnPage, isUiPagePath, loadUiAssets, registerUi } from './ui-routes.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated caller of an admin request. */
    principal: Principal | null
  }
}

/** The admin API's view of the data path's targets (implemented in app.ts). */
export interface TargetAdmin {
  /** Every target with its mode, health and in-flight count (this instance's view). */
  list (): Array<Record<string, unknown>>
  /** The id of a color's target given its id or URL, if it exists. */
  find (color: string, idOrUrl: string): string | undefined
  /** True when the color has a target that can take a request now. */
  canServe (color: string): boolean
  /** Requests in flight to a target on this instance. */
  inFlight (color: string, id: string): number
  /** How many targets of a color, other than `id`, can take a request now on this instance. */
  usableOthers (color: string, id: string): number
  /** This instance's requests in flight per color and target (nonzero only), for multi-instance drains. */
  inFlightByTarget (): InFlightCounts
}

/** What the admin API needs. */
export interface AdminDeps {
  readonly config: Config
  readonly switchboard: Switchboard
  readonly targets: TargetAdmin
  readonly metrics: Metrics
  readonly logger: FastifyBaseLogger
  /** Whether this instance is ready to serve (started, store reachable). */
  readonly ready: () => { ready: boolean, status: string, detail: string }
  /** The clock, for change timestamps. */
  readonly now?: () => Date
  /** Rollouts: the routes, and the guard of manual weight changes while one is active. */
  readonly rollouts?: RolloutControl
  /** The config's targets: the pool of a state (or a color) whose pool names none. */
  readonly pool: Pool
  /** The recent per-color figures the dashboard charts (src/admin/recent-figures.ts). */
  readonly figures?: { view (): FiguresView }
  /** The authenticator, when its tokens change on a reload (default: admin.tokens, fixed). */
  readonly auth?: AdminAuth
  /** POST /reload: re-read the config file (src/admin/reload-route.ts); absent, no such route. */
  readonly reload?: ReloadHandler
}

const OPEN_ROUTES = new Set(['/', '/healthz', '/readyz', '/metrics', '/openapi.json'])

/** True for a Host header naming this machine (a loopback address or localhost, any port). */
export function isLoopbackHost (host: string | undefined): boolean {
  if (host === undefined) return true
  const name = host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.split(':', 1)[0] as string
  return isLoopback(name)
}

/** Parses If-Match: `"12"`, `W/"12"`, `12` or `*`. Undefined when absent or `*`; NaN when malformed. */
export function parseIfMatch (header: string | undefined): number | undefined {
  if (header === undefined || header.trim() === '*') return undefined
  const m = /^\s*(?:W\/)?"?(\d{1,15})"?\s*$/.exec(header)
  return m === null ? Number.NaN : Number(m[1])
}

/** Builds (does not listen) the admin server. */
export async function buildAdminServer (deps: AdminDeps): Promise<FastifyInstance> {
  const { config, switchboard, metrics } = deps
  const now = deps.now ?? (() => new Date())
  const auth = deps.auth ?? new AdminAuth(config.admin.tokens)
  const server = Fastify({
    loggerInstance: deps.logger,
    // A bad percent-encoding or an over-long path segment, answered from the error table.
    frameworkErrors: (error, _request, reply) => { const f = adminFailure(error, config.admin.bodyLimit); void sendError(reply, f?.code ?? 'SWY_ERR_INTERNAL', f?.message) },
    // A request Node's parser refuses (unknown method, bad header line): coded JSON too.
    clientErrorHandler: (error: Error & { code?: string }, socket: Socket) => {
      if (error.code !== 'ECONNRESET' && socket.writable) socket.end(rawErrorResponse('SWY_ERR_ADMIN_BAD_REQUEST', error.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400))
      socket.destroySoon()
    },
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: config.admin.bodyLimit,
    return503OnClosing: true,
    // verbose: an unknown property's error carries its object's schema, to list the allowed ones.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: true, allErrors: true, verbose: true } },
    // HTTPS when admin.listen.tls is set (PEM files read now; app.ts checked them at start).
    ...(config.admin.listen.tls === undefined ? {} : { https: loadTls(config.admin.listen.tls, 'admin.listen.tls') ?? null })
  })
  server.decorateRequest('principal', null)
  // The same instance, typed by the route schemas: handlers get their types from schemas.ts.
  const api = server.withTypeProvider<TypeBoxTypeProvider>()
  // Only JSON bodies: fastify's default text/plain parser would turn a wrong content type
  // into a confusing schema error instead of SWY_ERR_ADMIN_UNSUPPORTED_MEDIA_TYPE.
  server.removeContentTypeParser('text/plain')
  const loopbackOnly = isLoopback(config.admin.listen.host)
  // Before any route: the OpenAPI document lists the routes added after it (GET /openapi.json).
  await registerOpenApi(server)
  const tls = config.admin.listen.tls !== undefined
  const uiAssets = loadUiAssets()
  // Drains wait for every live instance (src/admin/drain-wait.ts).
  const drains = new DrainWatch({ store: switchboard.store, instanceId: switchboard.instanceId, version: () => switchboard.state.version, inFlightByTarget: () => deps.targets.inFlightByTarget() })

  server.addHook('onRequest', async (request, reply) => {
    // The admin API is not for browsers, on every route. A web page the operator has open
    // could otherwise send a "simple" cross-site POST (no preflight), e.g. /rollback, to a
    // token-less loopback listener, or read /metrics (target addresses, error counts) after
    // rebinding its own name to 127.0.0.1; browsers always mark such requests with Origin or
    // Sec-Fetch-Site. A loopback listener also only answers loopback Host names, against DNS
    // rebinding. Scrapers, probes and scripts send neither header and a loopback Host. The one
    // browser caller is the dashboard (/ui), served here: same-origin, with its own Origin,
    // and only on the routes that need a token or are the page's own files. The open routes
    // (/metrics, /readyz, /healthz, /, /openapi.json) answer no browser at all: on a listener
    // that is not loopback-only, a DNS-rebound page is "same-origin" with itself and would
    // otherwise read /metrics (target addresses, error counts) without a token.
    const site = request.headers['sec-fetch-site']
    const path = request.url.split('?', 1)[0] as string
    if ((request.headers.origin !== undefined || (site !== undefined && site !== 'none')) && (OPEN_ROUTES.has(path) || !fromOwnPage(request.headers, tls))) {
      return sendError(reply, 'SWY_ERR_ADMIN_CROSS_ORIGIN')
    }
    if (loopbackOnly && !isLoopbackHost(request.headers.host)) {
      return sendError(reply, 'SWY_ERR_ADMIN_CROSS_ORIGIN', `Host "${request.headers.host ?? ''}" is not a loopback name; this admin API listens on loopback only`)
    }
    // Health and metrics need no token (probes and Prometheus carry none).
    if (OPEN_ROUTES.has(path) || isUiPagePath(path)) return
    const write = request.method !== 'GET' && request.method !== 'HEAD'
    const outcome = auth.authenticate(request.headers.authorization, write)
    if (!outcome.ok) {
      if (outcome.code !== 'SWY_ERR_AUTH_FORBIDDEN') void reply.header('www-authenticate', 'Bearer realm="switchyard"')
      return sendError(reply, outcome.code)
    }
    request.principal = outcome.principal
  })

  // Every JSON answer ends with a newline, so a shell prompt after `curl` starts on its own
  // line (/metrics, text, is left as it is).
  server.addHook('onSend', async (_request, reply, payload) => {
    if (typeof payload !== 'string' || payload.endsWith('\n')) return payload
    const type = reply.getHeader('content-type')
    return typeof type === 'string' && type.startsWith('application/json') ? payload + '\n' : payload
  })

  server.setNotFoundHandler((request, reply) => sendError(reply, 'SWY_ERR_ADMIN_NOT_FOUND', `no admin route ${request.method} ${request.url.split('?', 1)[0] ?? ''}`))

  server.setErrorHandler((error: Error & FailureLike, request, reply) => {
    const failure = adminFailure(error, config.admin.bodyLimit)
    if (failure !== undefined) return sendError(reply, failure.code, failure.message)
    request.log.error({ err: error }, 'admin request failed')
    return sendError(reply, 'SWY_ERR_INTERNAL')
  })

  function current (reply: FastifyReply): Record<string, unknown> {
    const state = switchboard.state
    void reply.header('etag', `"${state.version}"`)
    return stateView(state, switchboard.store.kind)
  }

  function instanceView (i: InstanceInfo): Record<string, unknown> {
    return { id: i.id, appliedVersion: i.appliedVersion, appliedAt: new Date(i.appliedAt).toISOString(), lastSeen: new Date(i.at).toISOString(), self: i.id === switchboard.instanceId }
  }

  /**
   * Commits one change (If-Match, who, why) through the switchboard. Answers the error and
   * returns undefined when it fails; else sets x-switchyard-changed and returns the outcome.
   */
  async function commit (request: FastifyRequest, reply: FastifyReply, transition: Transition, reason: string | undefined): Promise<ChangeSuccess | undefined> {
    const expected = parseIfMatch(request.headers['if-match'])
    if (Number.isNaN(expected)) { sendError(reply, 'SWY_ERR_ADMIN_INVALID_IF_MATCH'); return undefined }
    const meta: ChangeMeta = { changedBy: request.principal?.name ?? 'unknown', reason: reason ?? '', at: now().toISOString() }
    const outcome = await switchboard.change(transition, meta, expected)
    if (!outcome.ok) { sendError(reply, outcome.error.code, outcome.error.message); return undefined }
    void reply.header('x-switchyard-changed', String(outcome.value.changed))
    return outcome.value
  }

  /**
   * A routing write: the rollout guard (409 while one is active, unless forced), commit,
   * then with ?wait=ms wait until every live instance applied it.
   */
  async function write (request: FastifyRequest, reply: FastifyReply, query: WriteQuery, transition: Transition, reason: string | undefined, force: boolean | undefined): Promise<unknown> {
    if (deps.rollouts !== undefined) {
      const refused = await deps.rollouts.guard(force === true, request.principal?.name ?? 'unknown', `${request.method} ${request.url.split('?', 1)[0] ?? ''}`)
      if (refused !== undefined) return sendError(reply, refused.code, refused.message)
    }
    const done = await commit(request, reply, transition, reason)
    if (done === undefined) return reply
    return (await propagated(reply, done, query.wait)).body
  }

  /** The answer to a committed write: the state, and with ?wait=ms, once every live instance applied it (202 naming who lags, if not in time). */
  async function propagated (reply: FastifyReply, done: ChangeSuccess, wait: string | undefined): Promise<{ body: Record<string, unknown>, converged: boolean }> {
    const body = current(reply)
    if (wait === undefined) return { body, converged: true }
    const p = await switchboard.waitFor(done.state.version, Number(wait))
    const converged = p.lagging.length === 0
    // 202: accepted and committed, but not yet applied everywhere; the body names who lags.
    void reply.code(converged ? 200 : 202)
    return {
      converged,
      body: {
        ...body,
        propagation: {
          version: p.version,
          converged,
          applied: p.applied.map(instanceView),
          lagging: p.lagging.map(instanceView),
          slowestMs: converged ? Math.max(0, ...p.applied.map((i) => i.appliedAt - done.committedAt)) : null
        }
      }
    }
  }

  server.get('/state', async (_request, reply) => {
    const body = current(reply)
    try {
      const p = await switchboard.propagation(switchboard.state.version)
      return { ...body, instances: { applied: p.applied.length, total: p.applied.length + p.lagging.length } }
    } catch {
      return { ...body, instances: null }
    }
  })

  server.get('/instances', async () => {
    const version = switchboard.state.version
    const p = await switchboard.propagation(version)
    return { version, instances: [...p.applied, ...p.lagging].map(instanceView) }
  })

  api.put('/weights', { schema: ADMIN_ROUTE_SCHEMAS['PUT /weights'] }, async (request, reply) => {
    const parsed = parseWeights(switchboard.state.colors, request.body.weights)
    if (!parsed.ok) return sendError(reply, problemCode(parsed.error), parsed.error.message)
    const policy = switchPolicyOf(request.body.switchPolicy)
    if (!policy.ok) return sendError(reply, 'SWY_ERR_ADMIN_INVALID_BODY', policy.error)
    return write(request, reply, request.query, (s, meta) => ({ ok: true, value: setWeights(s, parsed.value, meta, policy.value) }), request.body.reason, request.body.force)
  })

  api.post('/flip', { schema: ADMIN_ROUTE_SCHEMAS['POST /flip'] }, async (request, reply) => {
    const { to, force } = request.body
    const policy = switchPolicyOf(request.body.switchPolicy)
    if (!policy.ok) return sendError(reply, 'SWY_ERR_ADMIN_INVALID_BODY', policy.error)
    if (switchboard.state.colors.includes(to) && force !== true && !deps.targets.canServe(to)) {
      return sendError(reply, 'SWY_ERR_TARGET_UNHEALTHY', `color "${to}" has no healthy, enabled target on this instance; send "force": true to flip anyway`)
    }
    return write(request, reply, request.query, (s, meta) => flipTo(s, to, meta, policy.value), request.body.reason, force)
  })

  server.get('/targets', async () => {
    const version = switchboard.state.version
    const targets = deps.targets.list()
    // With the store unreadable, this instance's own counts only (no inFlightAll).
    const fleet = await drains.fleet().catch(() => undefined)
    return { version, targets: fleet === undefined ? targets : withFleetInFlight(targets, fleet) }
  })

  api.post('/targets/:color/:target/:action', { schema: ADMIN_ROUTE_SCHEMAS['POST /targets/:color/:target/:action'] }, async (request, reply) => {
    const { color, target, action } = request.params
    if (!switchboard.state.colors.includes(color)) return sendError(reply, 'SWY_ERR_UNKNOWN_COLOR', `unknown color "${color}"; configured colors are ${switchboard.state.colors.join(', ')}`)
    const id = deps.targets.find(color, target)
    if (id === undefined) return sendError(reply, 'SWY_ERR_UNKNOWN_TARGET', `color "${color}" has no target "${target}" (use its id or URL; see GET /targets)`)
    const mode = action === 'drain' ? 'draining' : action === 'enable' ? 'enabled' : 'disabled'
    const done = await commit(request, reply, (s, m) => ({ ok: true, value: setTargetMode(s, color, id, mode, m) }), request.body?.reason)
    if (done === undefined) return reply
    const body = { ...current(reply), target: { color, id, mode } }
    if (request.query.wait === undefined || mode === 'enabled') return body
    // Wait until no live instance has a request in flight to the target (drain-wait.ts).
    const o = await drains.waitDrained(color, id, Number(request.query.wait), done.state.version)
    void reply.code(o.drained ? 200 : 202)
    return { ...body, target: { color, id, mode, ...drainAnswer(o, deps.targets.inFlight(color, id)) } }
  })

  api.post('/rollback', { schema: ADMIN_ROUTE_SCHEMAS['POST /rollback'] }, async (request, reply) =>
    write(request, reply, request.query, (s, meta) => rollback(s, meta), request.body?.reason, request.body?.force))

  registerTargetRoutes(api, { switchboard, targets: deps.targets, fallback: deps.pool, commit, propagated, olderReleases: async () => (await drains.fleet()).filter((i) => i.counts === null).map((i) => i.instance), waitDrained: (color, id, ms, version) => drains.waitDrained(color, id, ms, version) })

  if (deps.rollouts !== undefined) registerRolloutRoutes(server, { control: deps.rollouts, colors: switchboard.state.colors })

  api.get('/history', { schema: ADMIN_ROUTE_SCHEMAS['GET /history'] }, async (request) => {
    const limit = request.query.limit === undefined ? 50 : Number(request.query.limit)
    const entries = await switchboard.store.history(limit)
    const colors = switchboard.state.colors
    return { entries: entries.map((e) => historyView(colors, e)) }
  })

  // An index of links (no token: it names routes only; see admin-index.ts).
  server.get('/', async (request, reply) => {
    if (!prefersHtml(request.headers.accept)) return adminIndex()
    return reply.type('text/html; charset=utf-8').header('content-security-policy', "default-src 'none'").send(adminIndexHtml())
  })
  registerUi(server, { figures: deps.figures, colors: switchboard.state.colors, get tokensConfigured () { return auth.configured } }, uiAssets)
  if (deps.reload !== undefined) registerReloadRoute(server, deps.reload)

  server.get('/healthz', async () => ({ status: 'ok' }))

  server.get('/readyz', async (_request, reply) => {
    const r = deps.ready()
    void reply.code(r.ready ? 200 : 503)
    return { status: r.status, detail: r.detail, version: switchboard.state.version, storeUp: switchboard.storeUp }
  })

  server.get('/metrics', async (_request, reply) => {
    void reply.header('content-type', metrics.registry.contentType)
    return await metrics.registry.metrics()
  })

  return server
}
