import t from 'tap'
import { gate } from '../helpers/harness.js'
import { adminCall, send, startTestSwitchyard, startUpstream, testConfig, until } from '../helpers/services.js'

t.test('GET /targets and target modes through the admin API', async (t) => {
  const a = await startUpstream(t, 'blue')
  const b = await startUpstream(t, 'blue')
  const g = await startUpstream(t, 'green')
  const sy = await startTestSwitchyard(t, testConfig([a, b, g], {
    admin: { listen: { host: '127.0.0.1', port: 0 }, tokens: [{ name: 'ops', token: 'o'.repeat(32), role: 'write' }, { name: 'viewer', token: 'v'.repeat(32), role: 'read' }] }
  }))
  const ops = { authorization: `Bearer ${'o'.repeat(32)}` }
  const list = await adminCall(sy.adminUrl, 'GET', '/targets', undefined, ops)
  t.equal(list.status, 200)
  const targets = (list.json as { targets: Array<Record<string, unknown>> }).targets
  // No active check and no request yet: nothing has shown these targets up, so `unknown` (issue 12; was `healthy`).
  t.same(targets.map((x) => [x.color, x.id, x.mode, x.health, x.inFlight]), [
    ['blue', `127.0.0.1:${a.port}`, 'enabled', 'unknown', 0],
    ['blue', `127.0.0.1:${b.port}`, 'enabled', 'unknown', 0],
    ['green', `127.0.0.1:${g.port}`, 'enabled', 'unknown', 0]
  ])

  const byUrl = encodeURIComponent(b.url)
  const disabled = await adminCall(sy.adminUrl, 'POST', `/targets/blue/${byUrl}/disable`, { reason: 'bad host' }, ops)
  t.equal(disabled.status, 200, 'a target can be named by its URL')
  t.same((disabled.json as { target: unknown }).target, { color: 'blue', id: `127.0.0.1:${b.port}`, mode: 'disabled' })
  const seenBefore = b.seen.length
  for (let i = 0; i < 10; i++) await send(sy.proxyUrl + '/')
  t.equal(b.seen.length, seenBefore, 'a disabled target takes no request')
  t.equal(a.seen.length >= 10, true)
  const seen = ((await adminCall(sy.adminUrl, 'GET', '/targets', undefined, ops)).json as { targets: Array<{ id: string, health: string }> }).targets
  t.same(seen.map((x) => x.health), ['healthy', 'unknown', 'unknown'], 'a target that answered a request is healthy; the others are still unknown')
  const state = (await adminCall(sy.adminUrl, 'GET', '/state', undefined, ops)).json as { version: number, weights: unknown }
  t.equal(state.version, 2, 'a target change is a new version')
  t.same(state.weights, { blue: 100, green: 0 })
  const history = (await adminCall(sy.adminUrl, 'GET', '/history?limit=1', undefined, ops)).json as { entries: Array<{ kind: string, changedBy: string, reason: string, after: { targets: unknown } }> }
  t.same(history.entries[0], { ...history.entries[0], kind: 'target', changedBy: 'ops', reason: 'bad host' })
  t.same(history.entries[0]?.after.targets, { blue: { [`127.0.0.1:${b.port}`]: 'disabled' } })

  t.equal((await adminCall(sy.adminUrl, 'POST', `/targets/blue/${byUrl}/enable`, {}, { ...ops, 'if-match': '"1"' })).status, 412, 'If-Match holds for target changes')
  t.equal((await adminCall(sy.adminUrl, 'POST', `/targets/blue/${byUrl}/enable`, {}, { authorization: `Bearer ${'v'.repeat(32)}` })).status, 403, 'a read token cannot change targets')
  const enabled = await adminCall(sy.adminUrl, 'POST', `/targets/blue/${byUrl}/enable`, {}, ops)
  t.equal(enabled.status, 200)
  for (let i = 0; i < 10; i++) await send(sy.proxyUrl + '/')
  t.ok(b.seen.length > seenBefore, 'enabled again, it takes traffic')

  const unknownColor = await adminCall(sy.adminUrl, 'POST', '/targets/red/x/drain', {}, ops)
  t.equal((unknownColor.json as { error: string }).error, 'SWY_ERR_UNKNOWN_COLOR')
  const unknownTarget = await adminCall(sy.adminUrl, 'POST', '/targets/blue/nope/drain', {}, ops)
  t.equal(unknownTarget.status, 404)
  t.equal((unknownTarget.json as { error: string }).error, 'SWY_ERR_UNKNOWN_TARGET')
  const badAction = await adminCall(sy.adminUrl, 'POST', `/targets/blue/${byUrl}/explode`, {}, ops)
  t.equal(badAction.status, 400)
  t.equal((badAction.json as { error: string }).error, 'SWY_ERR_ADMIN_INVALID_BODY')
})

t.test('drain?wait answers when in-flight requests have finished (202 if the wait ran out)', async (t) => {
  // The slow target holds its request until the test opens the gate: in flight for as long as
  // the test needs, whatever the machine's speed (no delay to race against).
  const held = gate()
  t.teardown(held.open)
  const slow = await startUpstream(t, 'blue', { holdUntil: held.opened })
  const other = await startUpstream(t, 'blue')
  const g = await startUpstream(t, 'green')
  const sy = await startTestSwitchyard(t, testConfig([slow, other, g]))
  const id = encodeURIComponent(`127.0.0.1:${slow.port}`)
  const pending = send(sy.proxyUrl + '/')
  await until('the request to reach the slow target', () => slow.seen.length === 1, { detail: () => `slow saw ${slow.seen.length}, other saw ${other.seen.length}` })
  const short = await adminCall(sy.adminUrl, 'POST', `/targets/blue/${id}/drain?wait=50`)
  t.equal(short.status, 202, 'still one request in flight after 50 ms')
  // A memory store: this instance is the whole fleet, and names itself as the one pending.
  t.same((short.json as { target: unknown }).target, {
    color: 'blue',
    id: `127.0.0.1:${slow.port}`,
    mode: 'draining',
    inFlight: 1,
    inFlightAll: 1,
    drained: false,
    pending: [{ instance: sy.switchboard.instanceId, inFlight: 1, appliedVersion: sy.switchboard.state.version, waitingFor: 'requests' }],
    notReporting: []
  })
  held.open()
  const long = await adminCall(sy.adminUrl, 'POST', `/targets/blue/${id}/drain?wait=5000`)
  t.equal(long.status, 200)
  t.equal((long.json as { target: { drained: boolean } }).target.drained, true)
  t.equal(long.headers['x-switchyard-changed'], 'false', 'draining a draining target is a no-op')
  t.equal((await pending).body, 'blue', 'the in-flight request finished normally')
})
