/**
 * A fast-check fuzzer of the admin API (issue 9, "Tests, measured and kept"): arbitrary
 * methods, routes (known ones and mutations), headers (Authorization, If-Match,
 * Content-Type), query strings and bodies (random JSON, near-valid JSON for each route's
 * schema, huge, deeply nested, wrong types, not JSON at all). Properties: never a 5xx; every
 * 4xx is a `{ error: "SWY_ERR_…", message }` body; and a 4xx never changes the state (the
 * `GET /state` version and `GET /history` are the same before and after).
 *
 * Two instances: token-less on loopback, and one with a write and a read token.
 * `FUZZ_RUNS` sets the number of cases per instance (default 300, so `npm test` stays fast);
 * the full run is `FUZZ_RUNS=10000 npx tap test/admin/admin-fuzz.test.ts`.
 */
import fc from 'fast-check'
import t, { type Test } from 'tap'
import { Pool } from 'undici'
import { startTestSwitchyard, startUpstream, testConfig } from '../helpers/services.js'

const RUNS = Number(process.env.FUZZ_RUNS ?? 300)
// The full run takes minutes on a busy machine: give this file the time its case count needs.
t.setTimeout(Math.max(120_000, RUNS * 60))

const WRITE_TOKEN = 'w'.repeat(8) + 'fuzz-write-token-0123456789abcdef'
const READ_TOKEN = 'r'.repeat(8) + 'fuzz-read-token-0123456789abcdef'

// Methods Node's parser knows (an unknown one is refused by the parser before any route; see SECTEST-FINDINGS F4).
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'PROPFIND', 'TRACE', 'SEARCH']
const ROUTES = ['/state', '/instances', '/weights', '/flip', '/rollback', '/targets', '/history', '/healthz', '/readyz', '/metrics',
  '/targets/blue/{id}/drain', '/targets/blue/{id}/enable', '/targets/blue/{id}/disable', '/targets/green/{id}/drain', '/targets/green/{id}/enable']

/** A path: a known route, maybe mutated. */
function pathArb (ids: readonly string[]): fc.Arbitrary<string> {
  const known = fc.constantFrom(...ROUTES).chain((r) => fc.constantFrom(...ids, 'nope', '%2e%2e', encodeURIComponent('http://127.0.0.1:1')).map((id) => r.replace('{id}', id)))
  const segment = fc.oneof(
    fc.string({ maxLength: 12 }).map((s) => encodeURIComponent(s)),
    fc.constantFrom('..', '.', '%2e%2e', '%00', '%', '%zz', '%c0%ae', 'blue', 'green', 'drain', 'enable', 'x'.repeat(200), '%E9', '~', ';x', '%2F')
  )
  const mutated = fc.tuple(known, fc.oneof(fc.constant(0), fc.constant(0), fc.constant(0), fc.integer({ min: 1, max: 5 })), fc.array(segment, { maxLength: 3 })).map(([p, how, segs]) => {
    switch (how) {
      case 0: return p
      case 1: return p + '/' + segs.join('/')
      case 2: return '/' + segs.join('/')
      case 3: return p.toUpperCase()
      case 4: return p.replace('/', '//')
      default: return p + '/'
    }
  })
  return mutated
}

function queryArb (): fc.Arbitrary<string> {
  const value = fc.oneof(fc.constantFrom('0', '1', '50', '1000', '1001', '60000', '60001', '-1', '1e3', '', '00', '%205', '%00', 'abc', '9'.repeat(30)), fc.string({ maxLength: 8 }).map(encodeURIComponent))
  const pair = fc.tuple(fc.constantFrom('wait', 'limit', 'x', 'wait[]', 'limit', '__proto__', 'constructor'), value).map(([k, v]) => `${k}=${v}`)
  return fc.oneof(fc.constant(''), fc.array(pair, { minLength: 1, maxLength: 3 }).map((ps) => '?' + ps.join('&')), fc.constant('?'), fc.constant('?&&='))
}

function nested (depth: number): string {
  return '{"a":'.repeat(depth) + '1' + '}'.repeat(depth)
}

/** Near-valid bodies for each route's schema, plus junk. */
function bodyArb (admitBodyLimit: number): fc.Arbitrary<string | Buffer | undefined> {
  const color = fc.oneof(fc.constantFrom('blue', 'green', 'red', '', 'BLUE', '__proto__', 'x'.repeat(40)), fc.string({ maxLength: 6 }))
  const weight = fc.oneof(fc.constantFrom(0, 50, 100, 100.001, 33.33, 33.333, -1, 101, 1e308, Number.MAX_SAFE_INTEGER), fc.double({ noNaN: true }), fc.integer({ min: -5, max: 105 }))
  const policy = fc.record({ mode: fc.constantFrom('immediate', 'drain', 'slow', 1), seconds: fc.oneof(fc.integer({ min: -5, max: 90000 }), fc.constant('10')), drainSeconds: fc.integer({ min: -1, max: 86401 }) }, { requiredKeys: [] })
  const reason = fc.oneof(fc.string({ maxLength: 20 }), fc.constant('x'.repeat(501)), fc.integer())
  const weights = fc.oneof(
    fc.dictionary(color, weight, { maxKeys: 4 }),
    fc.constantFrom({ blue: 100 }, { blue: 50, green: 50 }, { blue: 100, green: 0 }, { green: 100 }, { blue: '100' }, { blue: null }, [], null, 'blue')
  )
  const nearValid = fc.oneof(
    fc.record({ weights, switchPolicy: policy, reason, extra: fc.jsonValue() }, { requiredKeys: [] }),
    fc.record({ to: color, force: fc.oneof(fc.boolean(), fc.constant('true')), switchPolicy: policy, reason }, { requiredKeys: [] }),
    fc.record({ reason }, { requiredKeys: [] })
  ).map((v) => JSON.stringify(v))
  // Valid bodies for the write routes, so writes succeed and the fuzzer explores changed states.
  const valid = fc.oneof(
    fc.constantFrom(0, 10, 33.33, 50, 99.99, 100).map((b) => ({ weights: { blue: b, green: Math.round((100 - b) * 100) / 100 } })),
    fc.constantFrom('blue', 'green').map((to) => ({ to })),
    fc.record({ to: fc.constantFrom('blue', 'green'), force: fc.boolean(), switchPolicy: fc.constantFrom({ mode: 'immediate' }, { mode: 'drain', seconds: 5 }) }),
    fc.constant({ reason: 'fuzz' }),
    fc.constant(null)
  ).map((v) => JSON.stringify(v))
  return fc.oneof(
    { weight: 3, arbitrary: fc.constant(undefined) },
    { weight: 5, arbitrary: valid },
    { weight: 6, arbitrary: nearValid },
    { weight: 3, arbitrary: fc.jsonValue().map((v) => JSON.stringify(v)) },
    { weight: 1, arbitrary: fc.constantFrom('', '{', '{"to":"blue"', 'null', '[]', '"x"', '1', 'true', '{"to":"blue"}{"to":"green"}', '{"__proto__":{"to":"green"}}', '{"constructor":{"prototype":{"x":1}}}', '\uFEFF{"to":"green"}') },
    { weight: 1, arbitrary: fc.integer({ min: 10, max: 20_000 }).map(nested) },
    { weight: 1, arbitrary: fc.constantFrom(admitBodyLimit + 1, admitBodyLimit * 4).map((n) => JSON.stringify({ reason: 'x'.repeat(n) })) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a)) }
  )
}

interface Case {
  readonly routed: { readonly method: string, readonly path: string }
  readonly query: string
  readonly auth: string | undefined
  readonly ifMatch: string | undefined
  readonly contentType: string | undefined
  readonly body: string | Buffer | undefined
  readonly origin: boolean
}

/** A write that should succeed (so later cases run against changed states), or nearly. */
function writeArb (ids: readonly string[], tokens: boolean): fc.Arbitrary<Case> {
  const target = fc.constantFrom(...ids)
  const write = fc.oneof(
    fc.constantFrom(0, 10, 33.33, 50, 99.99, 100).map((b) => ({ method: 'PUT', path: '/weights', body: { weights: { blue: b, green: Math.round((100 - b) * 100) / 100 } } })),
    fc.record({ to: fc.constantFrom('blue', 'green'), force: fc.boolean() }).map((body) => ({ method: 'POST', path: '/flip', body })),
    fc.constant({ method: 'POST', path: '/rollback', body: { reason: 'fuzz' } }),
    fc.tuple(fc.constantFrom('blue', 'green'), target, fc.constantFrom('drain', 'enable', 'disable', 'enable')).map(([c, id, a]) => ({ method: 'POST', path: `/targets/${c}/${encodeURIComponent(id)}/${a}`, body: null }))
  )
  return fc.record({ write, wait: fc.constantFrom('', '', '?wait=0', '?wait=50'), ifMatch: fc.constantFrom(undefined, 'CURRENT', '"1"') }).map(({ write: w, wait, ifMatch }) => ({
    routed: { method: w.method, path: w.path },
    query: wait,
    auth: tokens ? `Bearer ${WRITE_TOKEN}` : undefined,
    ifMatch,
    contentType: 'application/json',
    body: JSON.stringify(w.body),
    origin: false
  }))
}

function caseArb (ids: readonly string[], tokens: boolean): fc.Arbitrary<Case> {
  return fc.oneof({ weight: 4, arbitrary: anyCaseArb(ids, tokens) }, { weight: 1, arbitrary: writeArb(ids, tokens) })
}

function anyCaseArb (ids: readonly string[], tokens: boolean): fc.Arbitrary<Case> {
  const auth = tokens
    ? fc.constantFrom(undefined, `Bearer ${WRITE_TOKEN}`, `Bearer ${WRITE_TOKEN}`, `Bearer ${WRITE_TOKEN}`, `Bearer ${READ_TOKEN}`, 'Bearer nope', `bearer  ${WRITE_TOKEN} `, `Basic ${Buffer.from(`x:${WRITE_TOKEN}`).toString('base64')}`, 'Bearer', '', `Bearer ${WRITE_TOKEN}x`, `Bearer ${WRITE_TOKEN.slice(0, -1)}`)
    : fc.constantFrom(undefined, undefined, 'Bearer anything', 'Basic eDp5', '')
  const ifMatch = fc.oneof(fc.constant(undefined), fc.constant(undefined), fc.constant('CURRENT'), fc.constantFrom('"0"', '"1"', '*', 'W/"1"', '"-1"', '"abc"', '"99999999999999999999"', '1', '""', 'W/', '"1", "2"'))
  const contentType = fc.constantFrom(undefined, 'application/json', 'application/json', 'application/json', 'application/json', 'application/json', 'application/json; charset=utf-8', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/json; charset=latin1', 'APPLICATION/JSON', 'application/jsonx', 'application/merge-patch+json')
  const routed = fc.tuple(pathArb(ids), fc.constantFrom(...METHODS), fc.integer({ min: 0, max: 3 })).map(([path, random, pick]) => {
    if (pick === 0) return { path, method: random }
    const base = path.split('?', 1)[0] as string
    const method = /\/(weights)$/.test(base) ? 'PUT' : /\/(flip|rollback|drain|enable|disable)$/.test(base) ? 'POST' : 'GET'
    return { path, method }
  })
  return fc.record({
    routed,
    query: queryArb(),
    auth,
    ifMatch,
    contentType,
    body: bodyArb(16_384),
    origin: fc.boolean().map((b) => b && Math.random() < 0.1)
  })
}

/** Runs the fuzzer against one instance. */
async function fuzz (t: Test, tokens: boolean): Promise<void> {
  const blue = await startUpstream(t, 'blue')
  const blue2 = await startUpstream(t, 'blue')
  const green = await startUpstream(t, 'green')
  const sy = await startTestSwitchyard(t, testConfig([blue, blue2, green], tokens
    ? { admin: { listen: { host: '127.0.0.1', port: 0 }, tokens: [{ name: 'ops', token: WRITE_TOKEN, role: 'write' }, { name: 'viewer', token: READ_TOKEN, role: 'read' }] } }
    : {}))
  // A hang is a failure too: bounded waits for the answer, so the counterexample is reported.
  const pool = new Pool(sy.adminUrl, { connections: 4, headersTimeout: 15_000, bodyTimeout: 15_000 })
  t.teardown(() => pool.close())
  const readHeaders: Record<string, string> = tokens ? { authorization: `Bearer ${READ_TOKEN}` } : {}
  const get = async (path: string): Promise<{ status: number, body: string }> => {
    const r = await pool.request({ method: 'GET', path, headers: readHeaders })
    return { status: r.statusCode, body: await r.body.text() }
  }
  const snapshot = async (): Promise<{ version: number, history: string }> => {
    const state = await get('/state')
    const history = await get('/history?limit=1000')
    if (state.status !== 200 || history.status !== 200) throw new Error(`snapshot failed: /state ${state.status}, /history ${history.status}`)
    return { version: (JSON.parse(state.body) as { version: number }).version, history: history.body }
  }
  const ids = ((JSON.parse((await get('/targets')).body) as { targets: Array<{ id: string }> }).targets).map((x) => x.id)

  let baseline = await snapshot()
  const statuses = new Map<number, number>()
  let sent = 0
  let refusedByClient = 0
  await fc.assert(fc.asyncProperty(caseArb(ids, tokens), async (c) => {
    const headers: Record<string, string> = {}
    if (c.auth !== undefined) headers.authorization = c.auth
    if (c.ifMatch !== undefined) headers['if-match'] = c.ifMatch === 'CURRENT' ? `"${baseline.version}"` : c.ifMatch
    if (c.contentType !== undefined) headers['content-type'] = c.contentType
    if (c.origin) headers.origin = 'https://evil.example'
    let status: number
    let text: string
    try {
      const r = await pool.request({ method: c.routed.method, path: c.routed.path + c.query, headers, body: c.body ?? null, signal: AbortSignal.timeout(20_000) })
      status = r.statusCode
      text = await r.body.text()
    } catch (e) {
      // The client library refused to send it (e.g. a body on a method it forbids): not a server answer.
      const code = (e as { code?: string }).code
      if (code === 'UND_ERR_INVALID_ARG' || code === 'UND_ERR_NOT_SUPPORTED') { refusedByClient++; return true }
      throw new Error(`no answer (${String(code ?? (e as Error).name)}: ${(e as Error).message}): ${c.routed.method} ${c.routed.path}${c.query}`)
    }
    sent++
    statuses.set(status, (statuses.get(status) ?? 0) + 1)
    const label = `${c.routed.method} ${c.routed.path}${c.query} (status ${status}, body ${text.slice(0, 200)})`
    if (status >= 500) throw new Error(`a 5xx: ${label}`)
    if (status >= 400) {
      if (c.routed.method !== 'HEAD') {
        let body: unknown
        try { body = JSON.parse(text) } catch { throw new Error(`a 4xx without a JSON body: ${label}`) }
        const b = body as { error?: unknown, message?: unknown }
        if (typeof b.error !== 'string' || !b.error.startsWith('SWY_ERR_') || typeof b.message !== 'string') throw new Error(`a 4xx whose body is not { error: SWY_ERR_…, message }: ${label}`)
      }
      const after = await snapshot()
      if (after.version !== baseline.version) throw new Error(`a 4xx changed the state version ${baseline.version} → ${after.version}: ${label}`)
      if (after.history !== baseline.history) throw new Error(`a 4xx changed the history: ${label}`)
    } else {
      baseline = await snapshot()
    }
    return true
  }), { numRuns: RUNS })
  t.ok(sent > RUNS * 0.9, `the server answered ${sent} of ${RUNS} cases (${refusedByClient} refused by the client library)`)
  t.comment(`${tokens ? 'with tokens' : 'token-less'}: ${sent} answered; statuses ${JSON.stringify(Object.fromEntries([...statuses].sort((a, b) => a[0] - b[0])))}; final version ${baseline.version}`)
  t.ok([...statuses.keys()].some((s) => s < 300), 'some cases were accepted (the fuzzer reaches the routes)')
  t.ok([...statuses.keys()].some((s) => s >= 400), 'some cases were refused')
}

t.test(`admin API fuzz, token-less loopback: never a 5xx, never a state change on a 4xx (${RUNS} cases)`, async (t) => { await fuzz(t, false) })
t.test(`admin API fuzz, with write and read tokens: never a 5xx, never a state change on a 4xx (${RUNS} cases)`, async (t) => { await fuzz(t, true) })
