import t, { type Test } from 'tap'
import { validateConfig } from '../../src/config/load-config.js'
import { SwitchyardError } from '../../src/errors.js'
import { adminCall, startTestSwitchyard, startUpstream, testConfig, type Answer } from '../helpers/services.js'

const WRITE = 'w'.repeat(32)
const READ = 'r'.repeat(32)
const TOKENS = [{ name: 'ci', token: WRITE, role: 'write' }, { name: 'viewer', token: READ, role: 'read' }]
const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` })

async function setup (t: Test) {
  const blue = await startUpstream(t, 'blue')
  const green = await startUpstream(t, 'green')
  const sy = await startTestSwitchyard(t, testConfig([blue, green], { admin: { listen: { host: '127.0.0.1', port: 0 }, tokens: TOKENS } }))
  return { admin: sy.adminUrl }
}

function errorCode (answer: Answer): unknown {
  const j = answer.json
  return typeof j === 'object' && j !== null ? (j as Record<string, unknown>).error : undefined
}

function jsonOf (answer: Answer): Record<string, unknown> {
  const j = answer.json
  return typeof j === 'object' && j !== null ? j as Record<string, unknown> : {}
}

/** Every header value and the body of an answer, as one string to search. */
function everything (answer: Answer): string {
  return JSON.stringify(answer.headers) + '\n' + answer.body
}

t.test('writes need a valid write token', async (t) => {
  const { admin } = await setup(t)
  const before = await adminCall(admin, 'GET', '/state', undefined, bearer(READ))
  t.equal(before.status, 200, 'a read token reads the state')

  const none = await adminCall(admin, 'PUT', '/weights', { weights: { blue: 50, green: 50 } })
  t.equal(none.status, 401)
  t.equal(errorCode(none), 'SWY_ERR_AUTH_MISSING_TOKEN')
  t.match(none.headers['www-authenticate'], /^Bearer/, 'a 401 names the scheme')

  const noneRead = await adminCall(admin, 'GET', '/state')
  t.equal(noneRead.status, 401, 'reads need a token too')
  t.equal(errorCode(noneRead), 'SWY_ERR_AUTH_MISSING_TOKEN')

  for (const [label, authorization] of [
    ['wrong token', `Bearer ${'x'.repeat(32)}`],
    ['a prefix of the write token', `Bearer ${WRITE.slice(0, 31)}`],
    ['the write token plus one', `Bearer ${WRITE}w`],
    ['basic scheme', `Basic ${Buffer.from(`ci:${WRITE}`).toString('base64')}`],
    ['scheme only', 'Bearer']
  ] as const) {
    const r = await adminCall(admin, 'POST', '/flip', { to: 'green' }, { authorization })
    t.equal(r.status, 401, `${label}: 401`)
    t.equal(errorCode(r), 'SWY_ERR_AUTH_INVALID_TOKEN', `${label}: invalid token`)
    t.match(r.headers['www-authenticate'], /^Bearer/, `${label}: WWW-Authenticate`)
  }

  const readWrites = await adminCall(admin, 'POST', '/flip', { to: 'green' }, bearer(READ))
  t.equal(readWrites.status, 403)
  t.equal(errorCode(readWrites), 'SWY_ERR_AUTH_FORBIDDEN')
  const readRollback = await adminCall(admin, 'POST', '/rollback', {}, bearer(READ))
  t.equal(readRollback.status, 403)

  const after = await adminCall(admin, 'GET', '/state', undefined, bearer(READ))
  t.equal(after.body, before.body, 'no refused write changed the state')
  t.equal(jsonOf(after).version, 1)

  const ok = await adminCall(admin, 'PUT', '/weights', { weights: { blue: 80, green: 20 }, reason: 'ci canary' }, bearer(WRITE))
  t.equal(ok.status, 200, ok.body)
  t.equal(jsonOf(ok).changedBy, 'ci')
  const lower = await adminCall(admin, 'POST', '/flip', { to: 'green' }, { authorization: `bearer ${WRITE}` })
  t.equal(lower.status, 200, 'the scheme is case-insensitive')

  const history = await adminCall(admin, 'GET', '/history?limit=2', undefined, bearer(READ))
  t.equal(history.status, 200)
  const entries = jsonOf(history).entries
  t.match(entries, [{ version: 3, changedBy: 'ci', kind: 'flip' }, { version: 2, changedBy: 'ci', reason: 'ci canary' }])
})

t.test('health, readiness and metrics need no token', async (t) => {
  const { admin } = await setup(t)
  for (const path of ['/healthz', '/readyz', '/metrics']) {
    const r = await adminCall(admin, 'GET', path)
    t.equal(r.status, 200, `${path} answers 200 without a token`)
  }
  const ready = await adminCall(admin, 'GET', '/readyz?x=1')
  t.equal(ready.status, 200, 'a query string does not change that')
})

t.test('tokens never appear in an answer', async (t) => {
  const { admin } = await setup(t)
  t.equal((await adminCall(admin, 'PUT', '/weights', { weights: { blue: 90, green: 10 } }, bearer(WRITE))).status, 200)
  t.equal((await adminCall(admin, 'POST', '/flip', { to: 'green' }, bearer(WRITE))).status, 200)
  const answers = [
    await adminCall(admin, 'GET', '/state', undefined, bearer(WRITE)),
    await adminCall(admin, 'GET', '/state', undefined, bearer(READ)),
    await adminCall(admin, 'GET', '/history', undefined, bearer(READ)),
    await adminCall(admin, 'GET', '/metrics'),
    await adminCall(admin, 'GET', '/readyz'),
    await adminCall(admin, 'POST', '/rollback', {}, bearer(WRITE)),
    await adminCall(admin, 'POST', '/flip', { to: 'green' }, bearer(READ)),
    await adminCall(admin, 'POST', '/flip', { to: 'green' }, { authorization: `Bearer ${WRITE}x` }),
    await adminCall(admin, 'GET', '/nope', undefined, bearer(WRITE))
  ]
  t.equal(answers[0]?.status, 200)
  t.equal(answers[2]?.status, 200)
  t.equal(answers[3]?.status, 200)
  t.equal(answers[5]?.status, 200)
  for (const a of answers) {
    const text = everything(a)
    t.notOk(text.includes(WRITE), `the write token is not in a ${a.status} answer`)
    t.notOk(text.includes(READ), `the read token is not in a ${a.status} answer`)
  }
})

t.test('a non-loopback admin listener needs tokens', async (t) => {
  const base = {
    colors: { blue: { targets: ['http://127.0.0.1:3001'] }, green: { targets: ['http://127.0.0.1:3002'] } },
    store: { kind: 'memory' }
  }
  for (const host of ['0.0.0.0', '::', '10.0.0.5']) {
    const refused = t.throws(() => validateConfig({ ...base, admin: { listen: { host, port: 9090 } } }, {}, 'test'))
    t.ok(refused instanceof SwitchyardError, `${host}: a SwitchyardError`)
    t.equal((refused as SwitchyardError).code, 'SWY_ERR_CONFIG_INVALID', `${host}: config invalid`)
    t.match((refused as SwitchyardError).message, /admin\.listen\.host/, `${host}: the message names admin.listen.host`)
  }
  const accepted = validateConfig({ ...base, admin: { listen: { host: '0.0.0.0', port: 9090 }, tokens: [{ name: 'ci', token: WRITE }] } }, {}, 'test')
  t.equal(accepted.config.admin.listen.host, '0.0.0.0')
  t.equal(accepted.config.admin.tokens[0]?.role, 'write', 'role defaults to write')
  const loopback = validateConfig({ ...base, admin: { listen: { host: '127.0.0.1', port: 9090 } } }, {}, 'test')
  t.equal(loopback.config.admin.tokens.length, 0, 'loopback without tokens is fine')
})
