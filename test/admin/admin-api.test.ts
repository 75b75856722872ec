import t, { type Test } from 'tap'
import { adminCall, send, startTestSwitchyard, startUpstream, testConfig, type Answer } from '../helpers/services.js'

async function setup (t: Test) {
  const blue = await startUpstream(t, 'blue')
  const green = await startUpstream(t, 'green')
  const sy = await startTestSwitchyard(t, testConfig([blue, green]))
  return { blue, green, sy, admin: sy.adminUrl }
}

/** The JSON body of an answer as a record; fails the test when it is not a JSON object. */
function obj (t: Test, answer: Answer): Record<string, unknown> {
  const j = answer.json
  if (typeof j !== 'object' || j === null || Array.isArray(j)) {
    t.fail(`expected a JSON object, got ${answer.status} ${answer.body}`)
    return {}
  }
  return j as Record<string, unknown>
}

/** Asserts an error answer: exact status, exact code, and exactly `{ error, message }` with a message. */
function isError (t: Test, answer: Answer, status: number, code: string, what: string): void {
  t.equal(answer.status, status, `${what}: status ${status} (body ${answer.body})`)
  const body = obj(t, answer)
  t.same(Object.keys(body).sort(), ['error', 'message'], `${what}: body is exactly { error, message }`)
  t.equal(body.error, code, `${what}: error code ${code}`)
  t.ok(typeof body.message === 'string' && body.message.length > 0, `${what}: a non-empty message`)
}

async function historyOf (t: Test, admin: string, limit?: number): Promise<Array<Record<string, unknown>>> {
  const r = await adminCall(admin, 'GET', limit === undefined ? '/history' : `/history?limit=${limit}`)
  t.equal(r.status, 200, 'GET /history answers 200')
  const entries = obj(t, r).entries
  if (!Array.isArray(entries)) { t.fail('history has an entries list'); return [] }
  return entries as Array<Record<string, unknown>>
}

/** The value of one metric sample line (`name{labels} value`), or undefined when absent. */
function sample (metrics: string, series: string): number | undefined {
  for (const line of metrics.split('\n')) {
    if (line.startsWith(series + ' ')) return Number(line.slice(series.length + 1))
  }
  return undefined
}

t.test('GET /state: version 1, weights in percent, ETag of the version', async (t) => {
  const { admin } = await setup(t)
  const r = await adminCall(admin, 'GET', '/state')
  t.equal(r.status, 200)
  t.equal(r.headers.etag, '"1"')
  const s = obj(t, r)
  t.equal(s.version, 1)
  t.same(s.weights, { blue: 100, green: 0 })
  t.strictSame(s.colors, ['blue', 'green'])
  t.equal(s.previous, null)
})

t.test('PUT /weights sets the split, records previous and history', async (t) => {
  const { admin } = await setup(t)
  const r = await adminCall(admin, 'PUT', '/weights', { weights: { blue: 90, green: 10 }, reason: 'canary' })
  t.equal(r.status, 200, r.body)
  t.equal(r.headers.etag, '"2"')
  t.equal(r.headers['x-switchyard-changed'], 'true')
  const s = obj(t, r)
  t.equal(s.version, 2)
  t.strictSame(s.weights, { blue: 90, green: 10 })
  t.equal(s.reason, 'canary')
  t.equal(s.kind, 'weights')
  t.match(s.previous, { version: 1, weights: { blue: 100, green: 0 } })

  const again = obj(t, await adminCall(admin, 'GET', '/state'))
  t.strictSame(again.weights, { blue: 90, green: 10 }, 'GET /state shows the new split')
  t.equal(again.version, 2)

  const entries = await historyOf(t, admin)
  t.equal(entries.length, 2, 'the seed and the change')
  t.match(entries[0], {
    version: 2,
    kind: 'weights',
    changedBy: 'loopback',
    reason: 'canary',
    before: { version: 1, weights: { blue: 100, green: 0 } },
    after: { version: 2, weights: { blue: 90, green: 10 } }
  })
  t.ok(typeof entries[0]?.changedAt === 'string' && !Number.isNaN(Date.parse(entries[0].changedAt)), 'changedAt is a timestamp')
  t.match(entries[1], { version: 1, kind: 'init', before: null, after: { weights: { blue: 100, green: 0 } } })
})

t.test('PUT /weights takes two decimals and shows them back', async (t) => {
  const { admin } = await setup(t)
  const r = await adminCall(admin, 'PUT', '/weights', { weights: { blue: 99.75, green: 0.25 } })
  t.equal(r.status, 200, r.body)
  t.strictSame(obj(t, r).weights, { blue: 99.75, green: 0.25 })
})

t.test('POST /flip moves everything, POST /rollback restores the previous weights', async (t) => {
  const { admin } = await setup(t)
  t.equal((await adminCall(admin, 'PUT', '/weights', { weights: { blue: 90, green: 10 } })).status, 200)
  const flip = await adminCall(admin, 'POST', '/flip', { to: 'green', reason: 'go live' })
  t.equal(flip.status, 200, flip.body)
  const flipped = obj(t, flip)
  t.strictSame(flipped.weights, { blue: 0, green: 100 })
  t.equal(flipped.version, 3)
  t.equal(flipped.kind, 'flip')
  t.match(flipped.previous, { version: 2, weights: { blue: 90, green: 10 } })

  const back = await adminCall(admin, 'POST', '/rollback', { reason: 'errors up' })
  t.equal(back.status, 200, back.body)
  const rolled = obj(t, back)
  t.strictSame(rolled.weights, { blue: 90, green: 10 }, 'the weights before the flip')
  t.equal(rolled.version, 4, 'a rollback is a new version, never a reused one')
  t.equal(rolled.kind, 'rollback')
  t.equal(rolled.reason, 'errors up')
  t.match(rolled.previous, { version: 3, weights: { blue: 0, green: 100 } })

  const bare = await send(`${admin}/rollback`, { method: 'POST' })
  t.equal(bare.status, 200, `a rollback without a body is accepted (${bare.body})`)
  t.strictSame(obj(t, bare).weights, { blue: 0, green: 100 }, 'rolling back a rollback redoes the flip')
})

t.test('rollback on a fresh instance: 409, nothing to roll back', async (t) => {
  const { admin } = await setup(t)
  const before = await adminCall(admin, 'GET', '/state')
  isError(t, await adminCall(admin, 'POST', '/rollback', {}), 409, 'SWY_ERR_NOTHING_TO_ROLL_BACK', 'rollback with a body')
  isError(t, await send(`${admin}/rollback`, { method: 'POST' }), 409, 'SWY_ERR_NOTHING_TO_ROLL_BACK', 'rollback without a body')
  t.equal((await adminCall(admin, 'GET', '/state')).body, before.body, 'state unchanged')
})

t.test('If-Match: stale → 412 and nothing changes, current → 200, malformed → 400', async (t) => {
  const { admin } = await setup(t)
  t.equal((await adminCall(admin, 'PUT', '/weights', { weights: { blue: 90, green: 10 } })).status, 200)
  const before = await adminCall(admin, 'GET', '/state')
  const historyBefore = (await historyOf(t, admin)).length

  isError(t, await adminCall(admin, 'PUT', '/weights', { weights: { blue: 50, green: 50 } }, { 'if-match': '"1"' }), 412, 'SWY_ERR_STATE_VERSION_CONFLICT', 'stale PUT')
  isError(t, await adminCall(admin, 'POST', '/flip', { to: 'green' }, { 'if-match': '"1"' }), 412, 'SWY_ERR_STATE_VERSION_CONFLICT', 'stale flip')
  isError(t, await adminCall(admin, 'POST', '/rollback', {}, { 'if-match': '"7"' }), 412, 'SWY_ERR_STATE_VERSION_CONFLICT', 'future version')
  const after = await adminCall(admin, 'GET', '/state')
  t.equal(after.body, before.body, 'state byte-for-byte unchanged after the 412s')
  t.equal(obj(t, after).version, 2)
  t.strictSame(obj(t, after).weights, { blue: 90, green: 10 })
  t.equal((await historyOf(t, admin)).length, historyBefore, 'no history entry for a refused write')

  const ok = await adminCall(admin, 'PUT', '/weights', { weights: { blue: 50, green: 50 } }, { 'if-match': '"2"' })
  t.equal(ok.status, 200, ok.body)
  t.equal(obj(t, ok).version, 3)
  t.equal(ok.headers.etag, '"3"')

  const unchanged = await adminCall(admin, 'GET', '/state')
  for (const bad of ['abc', '"x"', '"-1"', '3, 4']) {
    isError(t, await adminCall(admin, 'PUT', '/weights', { weights: { blue: 40, green: 60 } }, { 'if-match': bad }), 400, 'SWY_ERR_ADMIN_INVALID_IF_MATCH', `If-Match ${bad}`)
  }
  t.equal((await adminCall(admin, 'GET', '/state')).body, unchanged.body, 'state unchanged after malformed If-Match')
})

t.test('bad bodies: exact status and code, state and history untouched', async (t) => {
  const { admin } = await setup(t)
  t.equal((await adminCall(admin, 'PUT', '/weights', { weights: { blue: 90, green: 10 } })).status, 200)
  const before = await adminCall(admin, 'GET', '/state')
  const historyBefore = (await historyOf(t, admin)).length
  const json = { 'content-type': 'application/json' }
  const big = JSON.stringify({ weights: { blue: 50, green: 50 }, reason: '' })
  const pad = 'x'.repeat(20_000 - big.length)
  const oversized = JSON.stringify({ weights: { blue: 50, green: 50 }, reason: pad })
  t.equal(Buffer.byteLength(oversized), 20_000, 'the oversized body is 20 000 bytes')

  const cases: Array<{ name: string, call: () => Promise<Answer>, status: number, code: string }> = [
    { name: 'sum 90', call: () => adminCall(admin, 'PUT', '/weights', { weights: { blue: 80, green: 10 } }), status: 400, code: 'SWY_ERR_WEIGHTS_SUM' },
    { name: 'sum 110', call: () => adminCall(admin, 'PUT', '/weights', { weights: { blue: 100, green: 10 } }), status: 400, code: 'SWY_ERR_WEIGHTS_SUM' },
    { name: 'unknown color', call: () => adminCall(admin, 'PUT', '/weights', { weights: { blue: 50, red: 50 } }), status: 400, code: 'SWY_ERR_UNKNOWN_COLOR' },
    { name: 'negative', call: () => adminCall(admin, 'PUT', '/weights', { weights: { blue: 110, green: -10 } }), status: 400, code: 'SWY_ERR_WEIGHTS_RANGE' },
    { name: 'over 100', call: () => adminCall(admin, 'PUT', '/weights', { weights: { blue: 150 } }), status: 400, code: 'SWY_ERR_WEIGHTS_RANGE' },
    { name: 'string weight', call: () => adminCall(admin, 'PUT', '/weights', { weights: { blue: 90, green: '10' } }), status: 400, code: 'SWY_ERR_ADMIN_INVALID_BODY' },
    { name: 'null weight', call: () => adminCall(admin, 'PUT', '/weights', { weights: { blue: 100, green: null } }), status: 400, code: 'SWY_ERR_ADMIN_INVALID_BODY' },
    { name: 'three decimals', call: () => adminCall(admin, 'PUT', '/weights', { weights: { blue: 89.745, green: 10.255 } }), status: 400, code: 'SWY_ERR_WEIGHTS_PRECISION' },
    { name: 'no body', call: () => send(`${admin}/weights`, { method: 'PUT' }), status: 400, code: 'SWY_ERR_ADMIN_INVALID_BODY' },
    { name: 'empty JSON body', call: () => send(`${admin}/weights`, { method: 'PUT', headers: json, body: '' }), status: 400, code: 'SWY_ERR_ADMIN_INVALID_BODY' },
    { name: 'not JSON', call: () => send(`${admin}/weights`, { method: 'PUT', headers: json, body: '{"weights": {blue: 50' }), status: 400, code: 'SWY_ERR_ADMIN_INVALID_BODY' },
    { name: 'JSON array', call: () => send(`${admin}/weights`, { method: 'PUT', headers: json, body: '[50, 50]' }), status: 400, code: 'SWY_ERR_ADMIN_INVALID_BODY' },
    { name: 'no weights', call: () => adminCall(admin, 'PUT', '/weights', { reason: 'x' }), status: 400, code: 'SWY_ERR_ADMIN_INVALID_BODY' },
    { name: 'unknown field', call: () => adminCall(admin, 'PUT', '/weights', { weights: { blue: 50, green: 50 }, now: true }), status: 400, code: 'SWY_ERR_ADMIN_INVALID_BODY' },
    { name: 'reason not a string', call: () => adminCall(admin, 'PUT', '/weights', { weights: { blue: 50, green: 50 }, reason: 7 }), status: 400, code: 'SWY_ERR_ADMIN_INVALID_BODY' },
    { name: 'flip to unknown color', call: () => adminCall(admin, 'POST', '/flip', { to: 'red' }), status: 400, code: 'SWY_ERR_UNKNOWN_COLOR' },
    { name: 'flip without to', call: () => adminCall(admin, 'POST', '/flip', { reason: 'x' }), status: 400, code: 'SWY_ERR_ADMIN_INVALID_BODY' },
    { name: 'flip unknown field', call: () => adminCall(admin, 'POST', '/flip', { to: 'green', now: true }), status: 400, code: 'SWY_ERR_ADMIN_INVALID_BODY' },
    { name: 'rollback unknown field', call: () => adminCall(admin, 'POST', '/rollback', { to: 'blue' }), status: 400, code: 'SWY_ERR_ADMIN_INVALID_BODY' },
    { name: 'body over the limit', call: () => send(`${admin}/weights`, { method: 'PUT', headers: json, body: oversized }), status: 400, code: 'SWY_ERR_ADMIN_BODY_TOO_LARGE' },
    { name: 'form-urlencoded', call: () => send(`${admin}/weights`, { method: 'PUT', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'blue=50&green=50' }), status: 400, code: 'SWY_ERR_ADMIN_UNSUPPORTED_MEDIA_TYPE' },
    { name: 'text/plain', call: () => send(`${admin}/weights`, { method: 'PUT', headers: { 'content-type': 'text/plain' }, body: '{"weights":{"blue":50,"green":50}}' }), status: 400, code: 'SWY_ERR_ADMIN_UNSUPPORTED_MEDIA_TYPE' }
  ]
  for (const c of cases) {
    isError(t, await c.call(), c.status, c.code, c.name)
    t.equal((await adminCall(admin, 'GET', '/state')).body, before.body, `${c.name}: GET /state byte-for-byte unchanged`)
    t.equal((await historyOf(t, admin)).length, historyBefore, `${c.name}: history length unchanged`)
  }
})

t.test('a no-op write answers 200 without a new version', async (t) => {
  const { admin } = await setup(t)
  t.equal((await adminCall(admin, 'PUT', '/weights', { weights: { blue: 90, green: 10 } })).status, 200)
  const historyBefore = (await historyOf(t, admin)).length
  const r = await adminCall(admin, 'PUT', '/weights', { weights: { blue: 90, green: 10 }, reason: 'again' })
  t.equal(r.status, 200, r.body)
  t.equal(r.headers['x-switchyard-changed'], 'false')
  t.equal(obj(t, r).version, 2, 'version unchanged')
  t.equal(r.headers.etag, '"2"')
  t.equal((await historyOf(t, admin)).length, historyBefore, 'no history entry')
  const rollback = await adminCall(admin, 'POST', '/rollback', {})
  t.strictSame(obj(t, rollback).weights, { blue: 100, green: 0 }, 'rollback still restores the state before the real change')
})

t.test('unknown routes and bad history queries', async (t) => {
  const { admin } = await setup(t)
  isError(t, await adminCall(admin, 'GET', '/nope'), 404, 'SWY_ERR_ADMIN_NOT_FOUND', 'GET /nope')
  isError(t, await adminCall(admin, 'DELETE', '/state'), 404, 'SWY_ERR_ADMIN_NOT_FOUND', 'DELETE /state')

  t.equal((await adminCall(admin, 'PUT', '/weights', { weights: { blue: 90, green: 10 } })).status, 200)
  t.equal((await adminCall(admin, 'POST', '/flip', { to: 'green' })).status, 200)
  const one = await historyOf(t, admin, 1)
  t.equal(one.length, 1, 'limit=1 gives one entry')
  t.match(one[0], { version: 3, kind: 'flip' }, 'the newest')
  const all = await historyOf(t, admin, 10)
  t.strictSame(all.map((e) => e.version), [3, 2, 1], 'newest first')

  for (const limit of ['0', 'abc', '5000', '-1', '1.5']) {
    isError(t, await adminCall(admin, 'GET', `/history?limit=${limit}`), 400, 'SWY_ERR_ADMIN_INVALID_QUERY', `limit=${limit}`)
  }
})

t.test('/healthz, /readyz and /metrics', async (t) => {
  const { admin } = await setup(t)
  const health = await adminCall(admin, 'GET', '/healthz')
  t.equal(health.status, 200)
  const ready = await adminCall(admin, 'GET', '/readyz')
  t.equal(ready.status, 200)
  // No request yet and no active check: no target is known healthy, so not `ready` (issue 12), but 200 (see src/health/readiness.ts).
  t.match(obj(t, ready), { status: 'unverified', version: 1, detail: /no target known healthy yet for blue .*unknown.*no active health check is configured/ })

  const m0 = (await adminCall(admin, 'GET', '/metrics')).body
  t.equal(sample(m0, 'switchyard_weight{color="green"}'), 0)
  t.equal(sample(m0, 'switchyard_weight{color="blue"}'), 100)
  t.equal(sample(m0, 'switchyard_state_version'), 1)
  t.equal(sample(m0, 'switchyard_switches_total{kind="flip"}'), 0)

  t.equal((await adminCall(admin, 'PUT', '/weights', { weights: { blue: 87.5, green: 12.5 } })).status, 200)
  const m1 = (await adminCall(admin, 'GET', '/metrics')).body
  t.equal(sample(m1, 'switchyard_weight{color="green"}'), 12.5)
  t.equal(sample(m1, 'switchyard_weight{color="blue"}'), 87.5)
  t.equal(sample(m1, 'switchyard_state_version'), 2)
  t.equal(sample(m1, 'switchyard_switches_total{kind="weights"}'), 1)

  t.equal((await adminCall(admin, 'POST', '/flip', { to: 'green' })).status, 200)
  t.equal((await adminCall(admin, 'POST', '/flip', { to: 'blue' })).status, 200)
  t.equal((await adminCall(admin, 'POST', '/flip', { to: 'blue' })).status, 200, 'a no-op flip')
  const m2 = (await adminCall(admin, 'GET', '/metrics')).body
  t.equal(sample(m2, 'switchyard_switches_total{kind="flip"}'), 2, 'two flips counted, the no-op not')
  t.equal(sample(m2, 'switchyard_weight{color="green"}'), 0)
  t.equal(sample(m2, 'switchyard_state_version'), 4)
  const r2 = await adminCall(admin, 'GET', '/readyz')
  t.match(obj(t, r2), { version: 4 })
})

t.test('the proxy follows the admin API', async (t) => {
  const { admin, sy } = await setup(t)
  t.equal((await send(sy.proxyUrl + '/')).body, 'blue')
  t.equal((await adminCall(admin, 'POST', '/flip', { to: 'green' })).status, 200)
  t.equal((await send(sy.proxyUrl + '/')).body, 'green')
})

t.test('20 concurrent writes with the same If-Match: exactly one wins', async (t) => {
  const { admin } = await setup(t)
  const initial = obj(t, await adminCall(admin, 'GET', '/state')).version as number
  const answers = await Promise.all(Array.from({ length: 20 }, (_, i) =>
    adminCall(admin, 'PUT', '/weights', { weights: { blue: 99 - i, green: 1 + i } }, { 'if-match': `"${initial}"` })))
  const statuses = answers.map((a) => a.status)
  t.equal(statuses.filter((s) => s === 200).length, 1, `one 200 (${statuses.join(',')})`)
  t.equal(statuses.filter((s) => s === 412).length, 19, 'nineteen 412')
  for (const a of answers.filter((x) => x.status === 412)) t.equal(obj(t, a).error, 'SWY_ERR_STATE_VERSION_CONFLICT')
  const winner = answers.find((a) => a.status === 200)
  const final = obj(t, await adminCall(admin, 'GET', '/state'))
  t.equal(final.version, initial + 1)
  t.strictSame(final.weights, winner === undefined ? undefined : obj(t, winner).weights, 'the winner\'s weights are the state')
  t.equal((await historyOf(t, admin)).length, 2, 'one history entry for the winner')
})
