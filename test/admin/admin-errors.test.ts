import { connect } from 'node:net'
import t, { type Test } from 'tap'
import { adminFailure } from '../../src/admin/admin-errors.js'
import { ERRORS, SwitchyardError } from '../../src/errors.js'
import { adminCall, send, startTestSwitchyard, startUpstream, testConfig, type Answer } from '../helpers/services.js'

/** Asserts an error answer: status, code, exactly `{ error, message }`, and returns the message. */
function errorOf (t: Test, answer: Answer, status: number, code: string, what: string): string {
  t.equal(answer.status, status, `${what}: status ${status} (body ${answer.body})`)
  const body = answer.json as Record<string, unknown> | undefined
  t.strictSame(Object.keys(body ?? {}).sort(), ['error', 'message'], `${what}: body is exactly { error, message }`)
  t.equal(body?.error, code, `${what}: ${code}`)
  return typeof body?.message === 'string' ? body.message : ''
}

const JSON_TYPE = { 'content-type': 'application/json' }

t.test('each kind of 400 of the admin API keeps its own code and message', async (t) => {
  const blue = await startUpstream(t, 'blue')
  const green = await startUpstream(t, 'green')
  const sy = await startTestSwitchyard(t, testConfig([blue, green]))
  const admin = sy.adminUrl
  const before = (await adminCall(admin, 'GET', '/state')).body

  const schema = errorOf(t, await adminCall(admin, 'PUT', '/weights', { weights: { blue: 'x', green: null } }), 400, 'SWY_ERR_ADMIN_INVALID_BODY', 'a body failing its schema')
  t.match(schema, 'body/weights/blue must be number', "the schema's message, with where")
  t.match(schema, 'body/weights/green must be number', 'every problem of the body')
  t.notMatch(schema, /JSON/, 'a schema failure is not "not valid JSON"')

  const extra = errorOf(t, await adminCall(admin, 'POST', '/flip', { to: 'green', now: true }), 400, 'SWY_ERR_ADMIN_INVALID_BODY', 'an unknown field')
  // Issue 12: an unknown property is named, with the ones allowed (was "must NOT have additional properties").
  t.equal(extra, 'body has an unknown property "now" (allowed: to, force, switchPolicy, reason)')
  t.notMatch(extra, /JSON/)
  const nested = errorOf(t, await adminCall(admin, 'PUT', '/weights', { weights: { blue: 50, green: 50 }, switchPolicy: { mode: 'drain', drainSecs: 30 }, resaon: 'typo' }), 400, 'SWY_ERR_ADMIN_INVALID_BODY', 'unknown properties at two levels')
  t.match(nested, 'body has an unknown property "resaon"', 'the top-level one')
  t.match(nested, 'body/switchPolicy has an unknown property "drainSecs" (allowed: mode, drainSeconds, seconds)', 'and the nested one, with where it is')

  // Issue 12: a bad ?limit= says its range in words (was "querystring/limit must match pattern ^(1000|…)$").
  for (const limit of ['0', '1001', 'ten', '-1']) {
    const query = errorOf(t, await adminCall(admin, 'GET', `/history?limit=${limit}`), 400, 'SWY_ERR_ADMIN_INVALID_QUERY', `?limit=${limit}`)
    t.equal(query, 'limit must be 1..1000', `?limit=${limit}: the range, not a regex`)
  }
  const wait = errorOf(t, await adminCall(admin, 'POST', '/rollback?wait=soon'), 400, 'SWY_ERR_ADMIN_INVALID_QUERY', '?wait=soon')
  t.equal(wait, 'wait must be 0..60000 (milliseconds)')

  const params = errorOf(t, await adminCall(admin, 'POST', '/targets/blue/x/explode', {}), 400, 'SWY_ERR_ADMIN_INVALID_BODY', 'path parameters failing their schema')
  t.match(params, 'params/action must be equal to one of the allowed values')

  const syntax = errorOf(t, await send(`${admin}/weights`, { method: 'PUT', headers: JSON_TYPE, body: '{"weights": {blue: 50' }), 400, 'SWY_ERR_ADMIN_INVALID_BODY', 'a JSON syntax error')
  t.match(syntax, 'the request body is not valid JSON', 'a JSON syntax error stays "not valid JSON"')

  const poisoned = errorOf(t, await send(`${admin}/weights`, { method: 'PUT', headers: JSON_TYPE, body: '{"__proto__": {"admin": true}, "weights": {"blue": 50, "green": 50}}' }), 400, 'SWY_ERR_ADMIN_INVALID_BODY', 'a __proto__ key')
  t.match(poisoned, 'not valid JSON')

  const empty = errorOf(t, await send(`${admin}/weights`, { method: 'PUT', headers: JSON_TYPE, body: '' }), 400, 'SWY_ERR_ADMIN_INVALID_BODY', 'an empty JSON body')
  t.match(empty, 'empty')

  const badPath = errorOf(t, await send(`${admin}/targets/blue/%E0%A4%A/drain`, { method: 'POST' }), 400, 'SWY_ERR_ADMIN_INVALID_PATH', 'a bad percent-encoding in a path parameter')
  t.match(badPath, 'not valid')
  const longPath = errorOf(t, await send(`${admin}/targets/blue/${'x'.repeat(101)}/drain`, { method: 'POST' }), 400, 'SWY_ERR_ADMIN_INVALID_PATH', 'a path parameter over 100 characters')
  t.match(longPath, 'too long')

  const ifMatch = errorOf(t, await adminCall(admin, 'PUT', '/weights', { weights: { blue: 50, green: 50 } }, { 'if-match': 'abc' }), 400, 'SWY_ERR_ADMIN_INVALID_IF_MATCH', 'a malformed If-Match')
  t.equal(ifMatch, ERRORS.SWY_ERR_ADMIN_INVALID_IF_MATCH.message)

  const large = errorOf(t, await send(`${admin}/weights`, { method: 'PUT', headers: JSON_TYPE, body: JSON.stringify({ weights: { blue: 50, green: 50 }, reason: 'r'.repeat(20_000) }) }), 400, 'SWY_ERR_ADMIN_BODY_TOO_LARGE', 'a body over admin.bodyLimit')
  t.match(large, '16384 bytes')

  // Requests Node's parser refuses never reach fastify's routes: still a coded body (sectest F4).
  const port = Number(new URL(admin).port)
  for (const [what, raw] of [['an unknown method', 'FOO /state HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'], ['a bad header line', 'GET /state HTTP/1.1\r\nHost: 127.0.0.1\r\nno colon here\r\n\r\n']] as const) {
    const text = await new Promise<string>((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => socket.end(raw))
      let got = ''
      socket.setEncoding('latin1').on('data', (d: string) => { got += d }).on('close', () => { resolve(got) }).on('error', reject)
    })
    t.match(text, /^HTTP\/1\.1 400 /, `${what}: 400`)
    const body = JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)) as Record<string, unknown>
    t.strictSame(Object.keys(body).sort(), ['error', 'message'], `${what}: body is exactly { error, message }`)
    t.equal(body.error, 'SWY_ERR_ADMIN_BAD_REQUEST', `${what}: SWY_ERR_ADMIN_BAD_REQUEST`)
  }

  t.equal((await adminCall(admin, 'GET', '/state')).body, before, 'no 400 changed anything')
})

t.test('adminFailure: the kinds no socket test can reach, and the unknown', async (t) => {
  t.strictSame(adminFailure({ message: 'Request body size did not match Content-Length', code: 'FST_ERR_CTP_INVALID_CONTENT_LENGTH', statusCode: 400 }, 16384),
    { code: 'SWY_ERR_ADMIN_INVALID_BODY', message: 'the request body is not as long as its Content-Length says' })
  const reset = adminFailure({ name: 'Error', message: 'aborted', code: 'ECONNRESET', statusCode: 400 }, 16384)
  t.equal(reset?.code, 'SWY_ERR_ADMIN_INVALID_BODY', 'a body stream that failed')
  t.match(reset?.message, 'could not be read: aborted')
  t.notMatch(reset?.message, /JSON/)
  t.strictSame(adminFailure(new SwitchyardError('SWY_ERR_STORE_UNAVAILABLE', 'redis down'), 16384), { code: 'SWY_ERR_STORE_UNAVAILABLE', message: 'redis down' })
  t.strictSame(adminFailure(new SwitchyardError('SWY_ERR_STATE_VERSION_CONFLICT', 'stale'), 16384), { code: 'SWY_ERR_STATE_VERSION_CONFLICT', message: 'stale' })
  t.strictSame(adminFailure(new SwitchyardError('SWY_ERR_STORE_CORRUPT', 'bad value'), 16384), { code: 'SWY_ERR_STORE_CORRUPT', message: 'bad value' }, 'a corrupt store says so')
  t.equal(adminFailure(new SwitchyardError('SWY_ERR_INTERNAL', 'oops'), 16384), undefined, 'another 5xx is logged and answered as SWY_ERR_INTERNAL')
  t.equal(adminFailure(new SwitchyardError('SWY_ERR_CONFIG_INVALID', 'x'), 16384), undefined)
  t.equal(adminFailure(new SyntaxError('Unexpected token'), 16384), undefined, 'a SyntaxError thrown by code is a bug, not the client\'s JSON')
  t.strictSame(adminFailure(Object.assign(new Error('odd'), { statusCode: 400, code: 'FST_ERR_SOMETHING_NEW' }), 16384),
    { code: 'SWY_ERR_ADMIN_INVALID_BODY', message: 'the request was refused: odd' }, 'an unknown framework 400 stays a 400, said as it is')
  t.equal(adminFailure(new TypeError('x is undefined'), 16384), undefined)
})
