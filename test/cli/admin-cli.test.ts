/**
 * The admin CLI end to end: a real switchyard in this process (memory store, ports 0), the
 * `switchyard` CLI as a child process against its admin URL, asserting what it prints, what
 * it changed (GET /state) and how it exits.
 */
import { join } from 'node:path'
import t from 'tap'
import { MemoryStore } from '../../src/state/memory-store.js'
import { gate, until } from '../helpers/harness.js'
import { freePort, runCli, spawnCli } from '../helpers/process.js'
import { adminCall, send, startTestSwitchyard, startUpstream, testConfig } from '../helpers/services.js'

// Every CLI child is a node + tsx start: seconds each on a machine whose cores are busy.
t.setTimeout(10 * 60_000)

const STACK = /\n\s+at /

function stateOf (body: unknown): { version: number, weights: Record<string, number>, kind: string, reason: string, changedBy: string } {
  return body as { version: number, weights: Record<string, number>, kind: string, reason: string, changedBy: string }
}

t.test('status, weights, flip, rollback, history, targets, instances and --json against a running switchyard', async (t) => {
  const blue = await startUpstream(t, 'blue')
  const green = await startUpstream(t, 'green')
  const sy = await startTestSwitchyard(t, testConfig([blue, green], { initial: { weights: { blue: 100, green: 0 } } }))
  const env = { SWITCHYARD_ADMIN_URL: sy.adminUrl }
  const state = async (): Promise<ReturnType<typeof stateOf>> => stateOf((await adminCall(sy.adminUrl, 'GET', '/state')).json)

  const status = await runCli(t, ['status'], env)
  t.equal(status.code, 0, status.stderr)
  t.match(status.stdout, /state v1/, 'status names the version')
  t.match(status.stdout, /applied on 1 of 1 instance/, 'and how many instances applied it')
  t.match(status.stdout, /blue\s+█{40}\s+100 %/, 'blue at 100 as a full bar')
  t.match(status.stdout, /green\s+░{40}\s+0 %/, 'green at 0 as an empty bar')
  t.match(status.stdout, new RegExp(`blue\\s+127\\.0\\.0\\.1:${blue.port}\\s+${blue.url.replace(/\./g, '\\.')}\\s+enabled\\s+unknown\\s+0`), 'the targets with mode, health (unknown: not contacted yet), in flight')
  t.match(status.stdout, /last change\s+v1 init/, 'the last change')
  t.notOk(status.stdout.includes('\x1b['), 'no colors when stdout is not a terminal')

  const weights = await runCli(t, ['weights', 'blue=90', 'green=10', '--reason', 'canary 10%'], env)
  t.equal(weights.code, 0, weights.stderr)
  t.match(weights.stdout, /v2 weights by loopback .*"canary 10%"/)
  t.match(await state(), { version: 2, weights: { blue: 90, green: 10 }, reason: 'canary 10%' }, 'GET /state shows the new split')

  const flip = await runCli(t, ['flip', 'green', '--reason', 'go live', '--admin', sy.adminUrl], { SWITCHYARD_ADMIN_URL: 'http://127.0.0.1:1' })
  t.equal(flip.code, 0, `--admin wins over the environment (${flip.stderr})`)
  t.match(await state(), { version: 3, weights: { blue: 0, green: 100 }, kind: 'flip' })
  t.equal((await send(sy.proxyUrl + '/')).body, 'green', 'the proxy answers green after the flip')

  const back = await runCli(t, ['rollback', '--reason', 'bad release', '--if-match', '3'], env)
  t.equal(back.code, 0, back.stderr)
  t.match(back.stdout, /v4 rollback/)
  t.match(await state(), { version: 4, weights: { blue: 90, green: 10 }, kind: 'rollback', reason: 'bad release' })

  const json = await runCli(t, ['status', '--json'], env)
  t.equal(json.code, 0, json.stderr)
  const parsed = JSON.parse(json.stdout) as { state: { version: number, weights: unknown }, targets: { targets: unknown[] }, rollout: unknown }
  t.match(parsed.state, { version: 4, weights: { blue: 90, green: 10 } }, '--json prints the server\'s state')
  t.equal(parsed.targets.targets.length, 2)

  const history = await runCli(t, ['history', '--limit', '2'], env)
  t.equal(history.code, 0, history.stderr)
  t.match(history.stdout, /^VERSION\s+KIND\s+BY\s+WHEN\s+WEIGHTS\s+REASON\n/)
  t.match(history.stdout, /v4\s+rollback\s+loopback\s+.*blue=90 green=10\s+bad release/)
  t.match(history.stdout, /v3\s+flip/)
  t.notMatch(history.stdout, /v2/, '--limit 2 shows two entries')
  const historyJson = await runCli(t, ['history', '--json'], env)
  t.equal((JSON.parse(historyJson.stdout) as { entries: unknown[] }).entries.length, 4)

  const instances = await runCli(t, ['instances'], env)
  t.equal(instances.code, 0, instances.stderr)
  t.match(instances.stdout, /\(this one\)\s+v4/)

  const targets = await runCli(t, ['targets', '--json'], env)
  t.match(JSON.parse(targets.stdout), { version: 4, targets: [{ color: 'blue', mode: 'enabled' }, { color: 'green' }] })
})

t.test('refusals exit 1 with the code and message in one line; an unreachable admin API exits 3', async (t) => {
  const blue = await startUpstream(t, 'blue')
  const green = await startUpstream(t, 'green')
  const sy = await startTestSwitchyard(t, testConfig([blue, green]))
  const env = { SWITCHYARD_ADMIN_URL: sy.adminUrl }

  const unknown = await runCli(t, ['flip', 'purple'], env)
  t.equal(unknown.code, 1, 'a 400 exits 1')
  t.equal(unknown.stderr, 'switchyard: SWY_ERR_UNKNOWN_COLOR: unknown color "purple"; configured colors are blue, green\n', 'one line: code and message')
  t.equal(unknown.stdout, '')

  const sum = await runCli(t, ['weights', 'blue=60', 'green=10'], env)
  t.equal(sum.code, 1)
  t.match(sum.stderr, /^switchyard: SWY_ERR_WEIGHTS_SUM: .*\n$/)

  const stale = await runCli(t, ['weights', 'blue=50', 'green=50', '--if-match', '7'], env)
  t.equal(stale.code, 1, 'a stale --if-match is refused')
  t.match(stale.stderr, /^switchyard: SWY_ERR_STATE_VERSION_CONFLICT: /)
  t.match(stateOf((await adminCall(sy.adminUrl, 'GET', '/state')).json), { version: 1 }, 'and nothing changed')

  const port = await freePort()
  const down = await runCli(t, ['status'], { SWITCHYARD_ADMIN_URL: `http://127.0.0.1:${port}` })
  t.equal(down.code, 3, 'unreachable exits 3')
  t.match(down.stderr, new RegExp(`^switchyard: cannot reach the admin API at http://127\\.0\\.0\\.1:${port}/?: .*ECONNREFUSED.*\\n$`))
  t.notMatch(down.stderr, STACK)
})

t.test('--wait: shows who lags, exits 4 when the wait runs out, 0 once everyone applied', async (t) => {
  const blue = await startUpstream(t, 'blue')
  const green = await startUpstream(t, 'green')
  const store = new MemoryStore()
  const sy = await startTestSwitchyard(t, testConfig([blue, green]), { store })
  const env = { SWITCHYARD_ADMIN_URL: sy.adminUrl }
  // A second instance on the same store that never applies anything on its own.
  const ghost = async (appliedVersion: number): Promise<void> => { await store.heartbeat({ id: 'ghost', appliedVersion, appliedAt: Date.now(), at: Date.now() }, 3_600_000) }
  await ghost(1)

  const timedOut = await runCli(t, ['weights', 'blue=90', 'green=10', '--wait=1500'], env)
  t.equal(timedOut.code, 4, `a wait that runs out exits 4 (${timedOut.stderr})`)
  t.match(timedOut.stdout, /waiting for v2 on 1 instance: ghost \(v1\)/, 'it shows the lagging instance')
  t.match(timedOut.stderr, /^switchyard: --wait timed out: v2 is not applied on ghost \(v1\)\n$/)
  t.match(stateOf((await adminCall(sy.adminUrl, 'GET', '/state')).json), { version: 2, weights: { blue: 90, green: 10 } }, 'the change itself is committed')

  const asJson = await runCli(t, ['rollback', '--wait=500', '--json'], env)
  t.equal(asJson.code, 4, '--json --wait that runs out exits 4 too')
  t.match(JSON.parse(asJson.stdout), { version: 3, propagation: { converged: false, lagging: [{ id: 'ghost', appliedVersion: 1 }] } }, 'and prints the server\'s 202 body')

  const waiting = spawnCli(t, ['flip', 'green', '--wait=60s'], env)
  await until('the CLI to show the ghost lagging', () => waiting.stdout().includes('waiting for v4 on 1 instance: ghost (v1)'), { detail: () => waiting.stdout() + waiting.stderr() })
  await ghost(4)
  const exit = await waiting.exited
  t.equal(exit.code, 0, `it exits 0 once the ghost applied v4 (${waiting.stderr()})`)
  t.match(waiting.stdout(), /applied on all 2 instances/)
})

t.test('drain --wait shows the requests in flight going down, then exits 0', async (t) => {
  const held = gate()
  t.teardown(held.open)
  const blue = await startUpstream(t, 'blue', { holdUntil: held.opened })
  const green = await startUpstream(t, 'green')
  const sy = await startTestSwitchyard(t, testConfig([blue, green]))
  const env = { SWITCHYARD_ADMIN_URL: sy.adminUrl }
  const inFlight = send(sy.proxyUrl + '/slow')
  await until('the request to reach blue', () => blue.seen.length === 1)
  const id = `127.0.0.1:${blue.port}`

  const draining = spawnCli(t, ['drain', 'blue', id, '--wait=60s', '--reason', 'kernel upgrade'], env)
  await until('the CLI to show one request in flight', () => draining.stdout().includes(`blue/${id}: 1 request in flight`), { detail: () => draining.stdout() + draining.stderr() })
  t.match(draining.stdout(), new RegExp(`blue/${id} draining \\(state v2\\)\\n.*\\n.*draining\\s+unknown\\s+1`), 'it printed the target, draining, with one in flight')
  held.open()
  t.equal((await inFlight).body, 'blue', 'the request in flight finishes')
  const exit = await draining.exited
  t.equal(exit.code, 0, draining.stderr())
  t.match(draining.stdout(), new RegExp(`blue/${id}: no requests in flight\\n$`))

  const enable = await runCli(t, ['enable', 'blue', blue.url], env)
  t.equal(enable.code, 0, enable.stderr)
  t.match(enable.stdout, /enabled \(state v3\)/, 'a target is also found by its URL')
  const unknownTarget = await runCli(t, ['disable', 'blue', 'nope'], env)
  t.equal(unknownTarget.code, 1)
  t.match(unknownTarget.stderr, /^switchyard: SWY_ERR_UNKNOWN_TARGET: /)
})

t.test('the token: none is refused, $SWITCHYARD_TOKEN and --token-file are sent, a read token cannot write', async (t) => {
  const blue = await startUpstream(t, 'blue')
  const green = await startUpstream(t, 'green')
  const tokens = [{ name: 'ops', token: 'ops-token-0123456789abcdef' }, { name: 'viewer', token: 'viewer-token-0123456789abcdef', role: 'read' }]
  const sy = await startTestSwitchyard(t, testConfig([blue, green], { admin: { listen: { host: '127.0.0.1', port: 0 }, tokens } }))
  const dir = t.testdir({ 'ops-token': 'ops-token-0123456789abcdef\n', 'viewer-token': 'viewer-token-0123456789abcdef\n', empty: '' })
  const env = { SWITCHYARD_ADMIN_URL: sy.adminUrl, SWITCHYARD_TOKEN: '' }

  const none = await runCli(t, ['status'], env)
  t.equal(none.code, 1, 'no token: refused, exit 1')
  t.match(none.stderr, /^switchyard: SWY_ERR_AUTH_MISSING_TOKEN: /)

  const fromEnv = await runCli(t, ['weights', 'blue=80', 'green=20'], { ...env, SWITCHYARD_TOKEN: 'ops-token-0123456789abcdef' })
  t.equal(fromEnv.code, 0, `the token from $SWITCHYARD_TOKEN (${fromEnv.stderr})`)
  t.match(fromEnv.stdout, /v2 weights by ops/)

  const fromFile = await runCli(t, ['flip', 'green', '--token-file', join(dir, 'ops-token')], { ...env, SWITCHYARD_TOKEN: 'wrong-token-0123456789abcdef' })
  t.equal(fromFile.code, 0, `--token-file wins over the environment (${fromFile.stderr})`)
  t.match(stateOf((await adminCall(sy.adminUrl, 'GET', '/state', undefined, { authorization: 'Bearer ops-token-0123456789abcdef' })).json), { version: 3, changedBy: 'ops' })

  const reader = await runCli(t, ['status', '--token-file', join(dir, 'viewer-token')], env)
  t.equal(reader.code, 0, `a read token reads (${reader.stderr})`)
  const readerWrites = await runCli(t, ['rollback', '--token-file', join(dir, 'viewer-token')], env)
  t.equal(readerWrites.code, 1, 'and cannot write')
  t.match(readerWrites.stderr, /^switchyard: SWY_ERR_AUTH_FORBIDDEN: /)

  const empty = await runCli(t, ['status', '--token-file', join(dir, 'empty')], env)
  t.equal(empty.code, 2, 'an empty token file is a usage error')
  t.match(empty.stderr, /^switchyard: --token-file .*empty is empty\n/)
})
