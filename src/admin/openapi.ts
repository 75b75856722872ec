/**
 * The admin API's OpenAPI 3.1 document, served at GET /openapi.json (no token). Paths,
 * bodies, query strings and path parameters come from the routes' own schemas through
 * @fastify/swagger; the answers come from ROUTE_ANSWERS below, added in `transformObject`
 * and never as fastify `response` schemas, which would make fastify serialize answers
 * through fast-json-stringify and silently drop every field a schema does not name.
 * Each route lists the error codes it can answer, grouped by status; those every route of
 * its kind can answer (auth, bad query, bad body) are added from its access and schemas.
 */
import { readFileSync } from 'node:fs'
import fastifySwagger, { formatParamUrl } from '@fastify/swagger'
import type { FastifyInstance } from 'fastify'
import { ERRORS, type ErrorCode } from '../errors.js'
import { ANSWER_SCHEMAS } from './openapi-schemas.js'

/** Who may call a route: anyone, any token (read or write), or a write token. */
export type Access = 'open' | 'read' | 'write'

/** One success (or non-error) answer of a route. */
export interface Answer {
  readonly description: string
  /** The body: a component of ANSWER_SCHEMAS by name, or none. */
  readonly body?: keyof typeof ANSWER_SCHEMAS
  /** The media type, application/json unless said. */
  readonly type?: string
  /** The answer carries ETag: "<state version>". */
  readonly etag?: true
}

/** What a route answers: its summary, access, answers by status, and its own error codes. */
export interface RouteAnswers {
  readonly summary: string
  readonly access: Access
  readonly answers: Readonly<Record<number, Answer>>
  /** The codes this route answers beyond those of its access and schemas (added by documentFor). */
  readonly errors: readonly ErrorCode[]
  /** The route honours If-Match: "<version>" (a compare-and-set write). */
  readonly ifMatch?: true
}

/** What every write committed through the switchboard can answer. */
export const COMMIT_ERRORS: readonly ErrorCode[] = ['SWY_ERR_ADMIN_INVALID_IF_MATCH', 'SWY_ERR_STATE_VERSION_CONFLICT', 'SWY_ERR_STORE_UNAVAILABLE', 'SWY_ERR_STORE_CORRUPT']
/** What every rollout action can answer (the lead's rollout engine; contract of issue 11). */
export const ROLLOUT_ACTION_ERRORS: readonly ErrorCode[] = ['SWY_ERR_NO_ROLLOUT', 'SWY_ERR_ROLLOUT_NOT_ACTIVE', 'SWY_ERR_ROLLOUT_PHASE', 'SWY_ERR_STORE_UNAVAILABLE']

const changed: Answer = { description: 'changed (or already so: see X-Switchyard-Changed); the new state', body: 'State', etag: true }
const lagging: Answer = { description: 'committed, but with ?wait not yet applied by every live instance in time; `propagation` names who lags', body: 'State', etag: true }
const rollout: Answer = { description: 'the rollout after the action', body: 'RolloutAnswer' }

function rolloutAction (what: string): RouteAnswers {
  return { summary: what, access: 'write', answers: { 200: rollout }, errors: ROLLOUT_ACTION_ERRORS }
}

/**
 * Every admin route's answers, keyed `METHOD /url` as fastify registers it. A registered
 * route missing here fails test/admin/openapi.test.ts: add a row with each new route.
 */
export const ROUTE_ANSWERS: Readonly<Record<string, RouteAnswers>> = {
  'GET /state': { summary: 'The routing state (weights, colors, policy, last change) and how many instances apply it', access: 'read', answers: { 200: { description: 'the state', body: 'State', etag: true } }, errors: [] },
  'GET /instances': { summary: 'The live instances sharing the store and the state version each applies', access: 'read', answers: { 200: { description: 'the instances', body: 'Instances' } }, errors: ['SWY_ERR_STORE_UNAVAILABLE'] },
  'GET /targets': { summary: "Every color's targets with mode, health and in-flight requests (this instance's view)", access: 'read', answers: { 200: { description: 'the targets', body: 'Targets' } }, errors: [] },
  'GET /history': { summary: 'The last changes, newest first', access: 'read', answers: { 200: { description: 'the history', body: 'History' } }, errors: ['SWY_ERR_STORE_UNAVAILABLE', 'SWY_ERR_STORE_CORRUPT'] },
  'PUT /weights': { summary: 'Set the weights (percent per color, summing to 100)', access: 'write', ifMatch: true, answers: { 200: changed, 202: lagging }, errors: ['SWY_ERR_WEIGHTS_SUM', 'SWY_ERR_WEIGHTS_PRECISION', 'SWY_ERR_WEIGHTS_RANGE', 'SWY_ERR_UNKNOWN_COLOR', 'SWY_ERR_ROLLOUT_ACTIVE', ...COMMIT_ERRORS] },
  'POST /flip': { summary: 'Send all traffic to one color', access: 'write', ifMatch: true, answers: { 200: changed, 202: lagging }, errors: ['SWY_ERR_UNKNOWN_COLOR', 'SWY_ERR_TARGET_UNHEALTHY', 'SWY_ERR_ROLLOUT_ACTIVE', ...COMMIT_ERRORS] },
  'POST /rollback': { summary: 'Go back to the weights before the last change', access: 'write', ifMatch: true, answers: { 200: changed, 202: lagging }, errors: ['SWY_ERR_NOTHING_TO_ROLL_BACK', 'SWY_ERR_ROLLOUT_ACTIVE', ...COMMIT_ERRORS] },
  'POST /targets/:color/:target/:action': { summary: 'Drain, enable or disable one target of a color (?wait: until it has no request in flight here)', access: 'write', ifMatch: true, answers: { 200: { ...changed, body: 'TargetChange' }, 202: { description: 'with ?wait, requests were still in flight to the target when the wait ended', body: 'TargetChange', etag: true } }, errors: ['SWY_ERR_UNKNOWN_COLOR', 'SWY_ERR_UNKNOWN_TARGET', ...COMMIT_ERRORS] },
  'POST /targets/:color': { summary: 'Add a target to a color\'s pool (shared through the store; ?wait: until every instance has it)', access: 'write', ifMatch: true, answers: { 201: { description: 'added; the new state and the target', body: 'TargetChange', etag: true }, 202: { description: 'added, but with ?wait not yet applied by every live instance in time', body: 'TargetChange', etag: true } }, errors: ['SWY_ERR_FLEET_MIXED', 'SWY_ERR_COLOR_NOT_FOUND', 'SWY_ERR_TARGET_INVALID_URL', 'SWY_ERR_TARGET_EXISTS', ...COMMIT_ERRORS] },
  'DELETE /targets/:color/:target': { summary: 'Remove a target from a color\'s pool: each instance stops giving it requests and drops it once those in flight finished (?wait: until then)', access: 'write', ifMatch: true, answers: { 200: { description: 'removed (with ?wait: applied everywhere and drained here)', body: 'TargetChange', etag: true }, 202: { description: 'removed, but with ?wait requests were still in flight or an instance lagged when the wait ended', body: 'TargetChange', etag: true } }, errors: ['SWY_ERR_FLEET_MIXED', 'SWY_ERR_COLOR_NOT_FOUND', 'SWY_ERR_UNKNOWN_TARGET', 'SWY_ERR_TARGET_LAST_USABLE', ...COMMIT_ERRORS] },
  'POST /reload': { summary: 'Re-read the config file (as SIGHUP does): admin tokens, health, upstream timeouts, discovery, log level change live; a file with any problem, or one that changes a setting needing a restart, is refused whole', access: 'write', answers: { 200: { description: 'reloaded (or nothing changed): the settings that changed', body: 'Reload' } }, errors: ['SWY_ERR_RELOAD_INVALID', 'SWY_ERR_RELOAD_NOT_LIVE'] },
  'GET /': { summary: 'An index of the admin routes (JSON, or a links-only HTML page for a browser)', access: 'open', answers: { 200: { description: 'links to /ui, /openapi.json, /state, /rollout, /targets, /history, /metrics and /readyz' } }, errors: [] },
  'GET /ui': { summary: 'The dashboard page (HTML, strict Content-Security-Policy; the page asks for a token and calls this API with it)', access: 'open', answers: { 200: { description: 'the page', type: 'text/html' } }, errors: [] },
  'GET /ui/:file': { summary: "One of the dashboard page's files (JavaScript, CSS, icon)", access: 'open', answers: { 200: { description: 'the file', type: 'text/javascript' } }, errors: ['SWY_ERR_ADMIN_NOT_FOUND'] },
  'GET /ui/api/figures': { summary: "This instance's recent per-color figures (requests per second, 5xx ratio, p99 latency, one point a second) that the dashboard charts", access: 'read', answers: { 200: { description: 'the figures' } }, errors: [] },
  'GET /ui/api/whoami': { summary: "The caller's token name and whether it may write (the dashboard disables its actions for a read token)", access: 'read', answers: { 200: { description: 'who is calling' } }, errors: [] },
  'POST /rollouts': { summary: 'Start a rollout: move traffic to `to` step by step, analysing each interval', access: 'write', answers: { 201: { description: 'the rollout started', body: 'RolloutAnswer' } }, errors: ['SWY_ERR_ROLLOUT_ACTIVE', 'SWY_ERR_ROLLOUT_INVALID', 'SWY_ERR_UNKNOWN_COLOR', 'SWY_ERR_STORE_UNAVAILABLE'] },
  'GET /rollout': { summary: 'The current (or last) rollout', access: 'read', answers: { 200: { description: 'the rollout', body: 'RolloutAnswer' } }, errors: ['SWY_ERR_NO_ROLLOUT', 'SWY_ERR_STORE_UNAVAILABLE'] },
  'POST /rollout/pause': rolloutAction('Pause the rollout (the step clock stops)'),
  'POST /rollout/resume': rolloutAction('Resume a paused rollout'),
  'POST /rollout/approve': rolloutAction('Approve a step waiting for approval'),
  'POST /rollout/promote': rolloutAction('Skip the remaining steps: all traffic to `to` now'),
  'POST /rollout/abort': rolloutAction('Stop the rollout and restore the weights it started from'),
  'GET /healthz': { summary: 'Liveness: the process answers', access: 'open', answers: { 200: { description: 'alive', body: 'Health' } }, errors: [] },
  'GET /readyz': { summary: 'Readiness: started, and not shutting down (a store outage is `degraded`, still 200)', access: 'open', answers: { 200: { description: 'ready or degraded', body: 'Ready' }, 503: { description: 'not ready (starting or shutting down)', body: 'Ready' } }, errors: [] },
  'GET /metrics': { summary: 'Prometheus metrics', access: 'open', answers: { 200: { description: 'the Prometheus text exposition format', type: 'text/plain' } }, errors: [] },
  'GET /openapi.json': { summary: 'This document', access: 'open', answers: { 200: { description: 'the OpenAPI 3.1 document of the admin API' } }, errors: [] }
}

const AUTH_ERRORS: Readonly<Record<Access, readonly ErrorCode[]>> = {
  open: [],
  read: ['SWY_ERR_AUTH_MISSING_TOKEN', 'SWY_ERR_AUTH_INVALID_TOKEN'],
  write: ['SWY_ERR_AUTH_MISSING_TOKEN', 'SWY_ERR_AUTH_INVALID_TOKEN', 'SWY_ERR_AUTH_FORBIDDEN']
}
const EVERY_ROUTE: readonly ErrorCode[] = ['SWY_ERR_ADMIN_CROSS_ORIGIN', 'SWY_ERR_ADMIN_INVALID_PATH', 'SWY_ERR_INTERNAL']
const BODY_ERRORS: readonly ErrorCode[] = ['SWY_ERR_ADMIN_INVALID_BODY', 'SWY_ERR_ADMIN_BODY_TOO_LARGE', 'SWY_ERR_ADMIN_UNSUPPORTED_MEDIA_TYPE']
const ACCESS_TEXT: Readonly<Record<Access, string>> = {
  open: 'No token, even when admin.tokens are configured.',
  read: 'Needs a bearer token (role read or write) when admin.tokens are configured; a loopback-only listener without tokens needs none.',
  write: 'Needs a bearer token of role write when admin.tokens are configured; a loopback-only listener without tokens needs none.'
}

type Json = Record<string, unknown>
type Operation = Json & { parameters?: Json[], requestBody?: Json & { content?: Record<string, { schema?: Json }> } }

/** `PUT /targets/:color` → `put /targets/{color}`: a route key as the document spells it (@fastify/swagger's own conversion). */
export function documentKey (routeKey: string): string {
  const [method = '', url = ''] = routeKey.split(' ', 2)
  return `${method.toLowerCase()} ${formatParamUrl(url)}`
}

/** Every error code a route can answer, in table order, given its row and what its schemas take. */
export function routeErrors (row: RouteAnswers, takes: { readonly query: boolean, readonly body: boolean }): ErrorCode[] {
  const codes = new Set<ErrorCode>([...EVERY_ROUTE, ...AUTH_ERRORS[row.access], ...row.errors])
  if (takes.query) codes.add('SWY_ERR_ADMIN_INVALID_QUERY')
  if (takes.body) for (const c of BODY_ERRORS) codes.add(c)
  return (Object.keys(ERRORS) as ErrorCode[]).filter((c) => codes.has(c))
}

function responsesOf (row: RouteAnswers, errors: readonly ErrorCode[]): Json {
  const out: Json = {}
  for (const [status, a] of Object.entries(row.answers)) {
    const type = a.type ?? 'application/json'
    out[status] = {
      description: a.description,
      ...(a.etag === true ? { headers: { ETag: { description: 'the state version, quoted: send it back as If-Match', schema: { type: 'string' } } } } : {}),
      content: { [type]: { schema: a.body === undefined ? (type === 'application/json' ? { type: 'object' } : { type: 'string' }) : { $ref: `#/components/schemas/${a.body}` } } }
    }
  }
  const byStatus = new Map<number, ErrorCode[]>()
  for (const code of errors) byStatus.set(ERRORS[code].status, [...(byStatus.get(ERRORS[code].status) ?? []), code])
  for (const [status, codes] of [...byStatus].sort((a, b) => a[0] - b[0])) {
    const description = codes.map((c) => `- \`${c}\`: ${ERRORS[c].message}`).join('\n')
    const schema = { allOf: [{ $ref: '#/components/schemas/Error' }], properties: { error: { enum: codes } } }
    const existing = out[status] as Json | undefined
    // A status that is both an answer and an error (503 of /readyz): either body.
    out[status] = existing === undefined
      ? { description, content: { 'application/json': { schema } } }
      : { ...existing, description: `${String(existing.description)}, or an error:\n${description}`, content: { 'application/json': { schema: { oneOf: [(existing.content as Record<string, { schema: Json }>)['application/json']?.schema ?? {}, schema] } } } }
  }
  return out
}

/** A stable operationId from a route key: `POST /targets/:color/:target/:action` → `postTargetsColorTargetAction`, `GET /ui/*` → `getUiAny`. */
export function operationId (routeKey: string): string {
  return routeKey.toLowerCase().replaceAll('*', ' any ').split(/[^a-z0-9]+/).filter((w) => w !== '').map((w, i) => i === 0 ? w : w[0]?.toUpperCase() + w.slice(1)).join('')
}

function tagOf (routeKey: string, access: Access): string {
  if (access === 'open') return 'operations'
  const first = routeKey.split(' ', 2)[1]?.split('/')[1] ?? ''
  return first.startsWith('rollout') ? 'rollouts' : first === 'targets' ? 'targets' : 'state'
}

/** Completes one operation of the generated document from its row (in place). */
function complete (op: Operation, key: string, row: RouteAnswers): void {
  const params = op.parameters ?? []
  const body = op.requestBody?.content?.['application/json']?.schema
  const errors = routeErrors(row, { query: params.some((p) => p.in === 'query'), body: op.requestBody !== undefined || params.some((p) => p.in === 'path') })
  op.operationId = operationId(key)
  op.summary = row.summary
  op.tags = [tagOf(key, row.access)]
  op.description = `${ACCESS_TEXT[row.access]} Errors answer \`{ "error": CODE, "message": text }\`; this route's codes are listed under each status.`
  op.security = row.access === 'open' ? [] : [{ bearerAuth: [] }]
  op['x-switchyard-access'] = row.access
  op['x-switchyard-errors'] = errors
  if (op.requestBody !== undefined && body !== undefined && Array.isArray(body.type) && body.type.includes('null')) op.requestBody.required = false
  if (row.ifMatch === true) {
    op.parameters = [...params, { in: 'header', name: 'If-Match', required: false, description: 'apply only if the state is still at this version ("12"); else 412 SWY_ERR_STATE_VERSION_CONFLICT', schema: { type: 'string' } }]
  }
  op.responses = responsesOf(row, errors)
}

/** Fills the answers, errors and security of the document @fastify/swagger generated. */
export function completeDocument (doc: Json, rows: Readonly<Record<string, RouteAnswers>> = ROUTE_ANSWERS): Json {
  const byKey = new Map(Object.entries(rows).map(([k, v]) => [documentKey(k), [k, v] as const]))
  for (const [path, item] of Object.entries((doc.paths ?? {}) as Record<string, Record<string, Operation>>)) {
    for (const [method, op] of Object.entries(item)) {
      const found = byKey.get(`${method} ${path}`)
      if (found !== undefined) complete(op, found[0], found[1])
    }
  }
  const components = (doc.components ?? {}) as Json
  return {
    ...doc,
    components: {
      ...components,
      schemas: { ...(components.schemas as Json | undefined), ...ANSWER_SCHEMAS },
      securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', description: 'an admin token from admin.tokens (role read: GET routes; role write: everything)' } }
    }
  }
}

function packageVersion (): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown }
    return typeof pkg.version === 'string' ? pkg.version : '0.0.0'
  } catch { return '0.0.0' }
}

/**
 * Registers the OpenAPI generator on the admin server and serves GET /openapi.json. Call it
 * before any route is added: @fastify/swagger documents the routes added after it.
 */
export async function registerOpenApi (server: FastifyInstance): Promise<void> {
  await server.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      tags: [
        { name: 'state', description: 'read and change the routing state' },
        { name: 'targets', description: "each color's targets" },
        { name: 'rollouts', description: 'progressive rollouts with analysis' },
        { name: 'operations', description: 'health, readiness, metrics and this document (no token)' }
      ],
      info: { title: 'switchyard admin API', version: packageVersion(), description: 'The control API of switchyard, on its own listener (admin.listen). Every failure answers `{ "error": CODE, "message": text }` with a code of docs/errors.md.' }
    },
    transformObject: (generated) => completeDocument(('openapiObject' in generated ? generated.openapiObject : {}) as Json)
  })
  server.get('/openapi.json', async () => server.swagger())
}
