import { Ajv2020 } from 'ajv/dist/2020.js'
import { compileErrors, dereference, validate } from '@readme/openapi-parser'
import type { FastifyInstance } from 'fastify'
import t, { type Test } from 'tap'
import { documentKey, ROUTE_ANSWERS } from '../../src/admin/openapi.js'
import { ADMIN_ROUTE_SCHEMAS } from '../../src/admin/schemas.js'
import { ERRORS, type ErrorDef } from '../../src/errors.js'
import { adminCall, startTestSwitchyard, startUpstream, testConfig, type Answer } from '../helpers/services.js'

const WRITE = 'w'.repeat(32)
const READ = 'r'.repeat(32)
const TOKENS = [{ name: 'ci', token: WRITE, role: 'write' }, { name: 'viewer', token: READ, role: 'read' }]
const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` })

type Json = Record<string, unknown>
type Doc = Json & { openapi: string, paths: Record<string, Record<string, Json>>, components: Json & { securitySchemes?: Json, schemas?: Json } }

async function setup (t: Test) {
  const blue = await startUpstream(t, 'blue')
  const green = await startUpstream(t, 'green')
  const sy = await startTestSwitchyard(t, testConfig([blue, green], { admin: { listen: { host: '127.0.0.1', port: 0 }, tokens: TOKENS } }))
  const answer = await adminCall(sy.adminUrl, 'GET', '/openapi.json')
  return { sy, admin: sy.adminUrl, answer, doc: answer.json as Doc, blue }
}

/**
 * The admin server's routes as `METHOD /url`, read from fastify's own route tree
 * (printRoutes), not from anything openapi.ts sees. HEAD twins of GET routes are left out.
 */
export function registeredRoutes (server: FastifyInstance): string[] {
  const stack: string[] = []
  const routes: string[] = []
  for (const line of server.printRoutes({ commonPrefix: false }).split('\n')) {
    const m = /^((?:│ {3}| {4})*)[├└]── (.+?)(?: \(([A-Z, ]+)\))?$/.exec(line)
    if (m === null) continue
    const depth = (m[1] ?? '').length / 4
    stack.length = depth
    stack.push(m[2] ?? '')
    const methods = (m[3] ?? '').split(', ').filter((x) => x !== '')
    for (const method of methods) {
      if (method === 'HEAD' && methods.includes('GET')) continue
      routes.push(`${method} ${stack.join('')}`)
    }
  }
  return routes
}

/** A concrete URL for a route: sample values for its path parameters. */
function sampleUrl (url: string): string {
  return url.replace(':color', 'blue').replace(':target', 'nope').replace(':action', 'drain').replace(/:[A-Za-z0-9_]+/g, 'x')
}

/** The status of a code, undefined for a code that is not in the table. */
function statusOf (code: string): number | undefined {
  return (ERRORS as Readonly<Record<string, ErrorDef | undefined>>)[code]?.status
}

function operations (doc: Doc): Array<[string, Json]> {
  return Object.entries(doc.paths).flatMap(([path, item]) => Object.entries(item).map(([method, op]) => [`${method} ${path}`, op] as [string, Json]))
}

t.test('GET /openapi.json answers without a token when tokens are configured', async (t) => {
  const { admin, answer } = await setup(t)
  t.equal(answer.status, 200)
  t.match(answer.headers['content-type'], /^application\/json/)
  t.equal((await adminCall(admin, 'GET', '/state')).status, 401, 'while the state needs a token')
  const again = await adminCall(admin, 'GET', '/openapi.json', undefined, bearer(READ))
  t.same(again.json, answer.json, 'the same document with a token')
})

t.test('the document validates as OpenAPI 3.1 with a real validator', async (t) => {
  const { doc } = await setup(t)
  t.match(doc.openapi, /^3\.1\./)
  const result = await validate(structuredClone(doc) as never)
  t.ok(result.valid, result.valid ? 'valid' : compileErrors(result))
  t.same(result.warnings, [], 'no warnings')
})

t.test('every registered admin route is in ROUTE_ANSWERS and in the document, and nothing else is', async (t) => {
  const { sy, doc } = await setup(t)
  const routes = registeredRoutes(sy.admin)
  for (const known of ['GET /state', 'PUT /weights', 'POST /targets/:color/:target/:action', 'GET /openapi.json', 'GET /metrics']) {
    t.ok(routes.includes(known), `the route reader finds ${known}`)
  }
  const documented = new Set(operations(doc).map(([k]) => k))
  for (const route of routes) {
    const row = ROUTE_ANSWERS[route]
    t.ok(row, `${route} has a row in ROUTE_ANSWERS (src/admin/openapi.ts)`)
    t.ok(documented.has(documentKey(route)), `${route} is in the document`)
    const op = doc.paths[documentKey(route).split(' ')[1] ?? '']?.[route.split(' ')[0]?.toLowerCase() ?? '']
    t.ok(Object.keys(op?.responses ?? {}).some((s) => /^2\d\d$/.test(s)), `${route} documents a success answer`)
    t.type(op?.summary, 'string', `${route} has a summary`)
  }
  t.same([...documented].filter((k) => !routes.map(documentKey).includes(k)), [], 'no documented route that is not registered')
  for (const key of Object.keys(ROUTE_ANSWERS).filter((k) => !routes.includes(k))) t.comment(`ROUTE_ANSWERS has ${key}, not registered (yet)`)
})

t.test('the routes\' bodies, query strings and parameters come from their schemas', async (t) => {
  const { doc } = await setup(t)
  for (const [route, parts] of Object.entries(ADMIN_ROUTE_SCHEMAS)) {
    const [method = '', path = ''] = documentKey(route).split(' ')
    const op = doc.paths[path]?.[method] as (Json & { parameters?: Json[], requestBody?: { content: Record<string, { schema: Json }> } }) | undefined
    if (!t.ok(op, `${route} documented`) || op === undefined) continue
    if ('body' in parts) t.same(op.requestBody?.content['application/json']?.schema, JSON.parse(JSON.stringify(parts.body)), `${route}: the body schema`)
    if ('querystring' in parts) {
      const names = Object.keys((parts.querystring as { properties: Json }).properties)
      t.same(op.parameters?.filter((p) => p.in === 'query').map((p) => p.name).sort(), names.sort(), `${route}: the query parameters`)
    }
    if ('params' in parts) {
      const names = Object.keys((parts.params as { properties: Json }).properties)
      t.same(op.parameters?.filter((p) => p.in === 'path').map((p) => p.name).sort(), names.sort(), `${route}: the path parameters`)
    }
    t.notOk('response' in parts, `${route}: no fastify response schema (it would drop undocumented fields from answers)`)
  }
})

t.test('the bearer scheme is documented and matches what each route asks for', async (t) => {
  const { sy, admin, doc } = await setup(t)
  t.match(doc.components.securitySchemes, { bearerAuth: { type: 'http', scheme: 'bearer' } })
  for (const route of registeredRoutes(sy.admin)) {
    const [method = '', url = ''] = route.split(' ')
    const op = doc.paths[documentKey(route).split(' ')[1] ?? '']?.[method.toLowerCase()]
    const access = op?.['x-switchyard-access']
    const open = access === 'open'
    t.same(op?.security, open ? [] : [{ bearerAuth: [] }], `${route}: security says ${String(access)}`)
    // What the listener does: open routes answer without a token, the rest ask for one;
    // a read token may not write.
    const none = await adminCall(admin, method, sampleUrl(url), method === 'GET' ? undefined : {})
    if (open) t.not(none.status, 401, `${route}: answers without a token`)
    else t.equal((none.json as Json | undefined)?.error, 'SWY_ERR_AUTH_MISSING_TOKEN', `${route}: asks for a token`)
    if (access === 'write') {
      const read = await adminCall(admin, method, sampleUrl(url), {}, bearer(READ))
      t.equal((read.json as Json | undefined)?.error, 'SWY_ERR_AUTH_FORBIDDEN', `${route}: a read token may not call it`)
    }
    if (access === 'read') t.equal(method, 'GET', `${route}: read access is for GET routes`)
  }
})

t.test('every error code listed exists in src/errors.ts and is documented under its status', async (t) => {
  const { doc } = await setup(t)
  const all = Object.keys(ERRORS)
  t.same((doc.components.schemas as Record<string, { properties: { error: { enum: string[] } } }>).Error?.properties.error.enum, all, 'the Error schema lists every code')
  for (const [key, row] of Object.entries(ROUTE_ANSWERS)) {
    for (const code of row.errors) t.ok(all.includes(code), `${key}: ${code} is in src/errors.ts`)
  }
  for (const [key, op] of operations(doc)) {
    const listed = (op['x-switchyard-errors'] ?? []) as string[]
    t.ok(listed.length > 0, `${key}: lists its error codes`)
    for (const [status, response] of Object.entries(op.responses as Record<string, Json>)) {
      const schema = (response.content as Record<string, { schema: Json }> | undefined)?.['application/json']?.schema
      const errorSchema = (schema?.oneOf as Json[] | undefined)?.[1] ?? schema
      const codes = ((errorSchema?.properties as Json | undefined)?.error as { enum?: string[] } | undefined)?.enum ?? []
      for (const code of codes) {
        t.ok(all.includes(code), `${key} ${status}: ${code} is in src/errors.ts`)
        t.equal(statusOf(code), Number(status), `${key}: ${code} under its own status ${status}`)
        t.ok(listed.includes(code), `${key}: ${code} in x-switchyard-errors`)
        t.match(String(response.description), code, `${key} ${status}: the description names ${code}`)
      }
    }
    for (const code of listed) {
      const status = String(statusOf(code))
      t.ok((op.responses as Json)[status], `${key}: ${code} has its status ${status} documented`)
    }
  }
})

t.test('real answers match the documented schemas', async (t) => {
  const { admin, doc, blue } = await setup(t)
  const deref = await dereference(structuredClone(doc) as never) as unknown as Doc
  const ajv = new Ajv2020({ strict: false, allErrors: true })
  ajv.addFormat('date-time', (s: string) => !Number.isNaN(Date.parse(s)) && /^\d{4}-\d\d-\d\dT/.test(s))
  const check = (method: string, url: string, answer: Answer, what: string): void => {
    const path = Object.keys(deref.paths).find((p) => new RegExp(`^${p.replace(/\{[^}]+\}/g, '[^/]+')}$`).test(url.split('?')[0] ?? ''))
    const response = (deref.paths[path ?? '']?.[method.toLowerCase()]?.responses as Record<string, Json> | undefined)?.[String(answer.status)]
    if (!t.ok(response, `${what}: status ${answer.status} documented for ${method} ${url}`) || response === undefined) return
    const content = (response.content ?? {}) as Record<string, { schema: Json } | undefined>
    const type = String(answer.headers['content-type']).split(';')[0] ?? ''
    const schema = content[type]?.schema
    if (!t.ok(schema, `${what}: ${type} documented`) || schema === undefined) return
    if (type !== 'application/json') return
    const valid = ajv.validate(schema, answer.json)
    t.ok(valid, `${what}: ${method} ${url} ${answer.status} matches its schema`, { errors: ajv.errors, body: answer.json })
  }
  const w = bearer(WRITE)
  const calls: Array<[string, string, unknown, Record<string, string>, string]> = [
    ['GET', '/state', undefined, bearer(READ), 'state'],
    ['GET', '/instances', undefined, bearer(READ), 'instances'],
    ['GET', '/targets', undefined, bearer(READ), 'targets'],
    ['PUT', '/weights?wait=5000', { weights: { blue: 90, green: 10 }, reason: 'canary' }, w, 'weights with ?wait (propagation)'],
    ['POST', '/flip', { to: 'green', switchPolicy: { mode: 'drain', seconds: 30 } }, w, 'flip with a drain policy'],
    ['GET', '/state', undefined, w, 'state after a drain flip'],
    ['POST', '/rollback', undefined, w, 'rollback'],
    ['POST', `/targets/blue/${encodeURIComponent(new URL(blue.url).host)}/drain?wait=2000`, { reason: 'upgrade' }, w, 'drain a target'],
    ['GET', '/history?limit=10', undefined, bearer(READ), 'history'],
    ['GET', '/healthz', undefined, {}, 'healthz'],
    ['GET', '/readyz', undefined, {}, 'readyz'],
    ['GET', '/metrics', undefined, {}, 'metrics'],
    ['PUT', '/weights', { weights: { blue: 90 } }, w, 'weights that do not sum to 100'],
    ['PUT', '/weights', { weights: { blue: 100 }, extra: 1 }, w, 'an unknown property'],
    ['POST', '/flip', { to: 'green' }, { ...w, 'if-match': '"999"' }, 'a stale If-Match'],
    ['GET', '/history?limit=abc', undefined, bearer(READ), 'a bad limit'],
    ['POST', '/targets/purple/x/drain', {}, w, 'an unknown color'],
    ['PUT', '/weights', { weights: { blue: 100 } }, bearer(READ), 'a read token writing'],
    ['GET', '/state', undefined, bearer('x'.repeat(32)), 'a wrong token'],
    ['GET', '/rollout', undefined, bearer(READ), 'no rollout yet'],
    ['POST', '/rollouts', { to: 'green', steps: [{ weight: 10, pauseSeconds: 3600 }, { weight: 100 }], analysis: { intervalSeconds: 1 }, reason: 'v2' }, w, 'start a rollout'],
    ['POST', '/rollouts', { to: 'green', steps: [{ weight: 100 }] }, w, 'a second rollout while one is active'],
    ['PUT', '/weights', { weights: { blue: 50, green: 50 } }, w, 'a manual write during a rollout'],
    ['POST', '/rollout/pause', { reason: 'look' }, w, 'pause'],
    ['GET', '/rollout', undefined, bearer(READ), 'a paused rollout'],
    ['POST', '/rollout/approve', undefined, w, 'approve when not awaiting approval'],
    ['POST', '/rollout/abort', undefined, w, 'abort'],
    ['POST', '/rollout/resume', undefined, w, 'resume an ended rollout'],
    ['POST', '/rollouts', { to: 'green', steps: [{ weight: 10.001 }] }, w, 'an invalid rollout']
  ]
  for (const [method, url, body, headers, what] of calls) {
    const answer = await adminCall(admin, method, url, body, headers)
    check(method, url, answer, what)
  }
})
