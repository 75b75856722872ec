import { readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { gate, until } from '../helpers/harness.js'
import { freePort, runCli, spawnCli, waitForReady, type CliProcess } from '../helpers/process.js'
import { adminCall, send, startUpstream, type Answer, type Upstream } from '../helpers/services.js'
import { MANY_PROBLEMS, MANY_PROBLEMS_YAML } from '../helpers/configs.js'

// Nine CLI children, each a node + tsx start of the whole app: minutes, not seconds, on a
// machine whose cores are all busy. Every wait inside is bounded on its own (waitForReady,
// until), so this only lifts tap's per-file budget (package.json tap.timeout, 120 s).
t.setTimeout(10 * 60_000)

interface Served {
  readonly cli: CliProcess
  readonly proxyUrl: string
  readonly adminUrl: string
}

/** Writes a config for the two upstreams, on free ports, with a file store in `dir`. */
async function writeConfig (dir: string, blue: Upstream, green: Upstream, extra = ''): Promise<{ config: string, statePath: string, proxyPort: number, adminPort: number }> {
  const proxyPort = await freePort()
  const adminPort = await freePort()
  const statePath = join(dir, 'data', 'state.json')
  const config = join(dir, 'switchyard.yaml')
  await writeFile(config, `
listen: { host: 127.0.0.1, port: ${proxyPort} }
admin: { listen: { host: 127.0.0.1, port: ${adminPort} } }
colors:
  blue:  { targets: ["${blue.url}"] }
  green: { targets: ["${green.url}"] }
initial: { weights: { blue: 100, green: 0 } }
store: { kind: file, path: "${statePath}" }
log: { level: warn }
shutdown: { graceSeconds: 20 }
${extra}`)
  return { config, statePath, proxyPort, adminPort }
}

async function serve (t: Test, config: string, proxyPort: number, adminPort: number): Promise<Served> {
  const cli = spawnCli(t, ['serve', '--config', config])
  const adminUrl = `http://127.0.0.1:${adminPort}`
  await waitForReady(cli, adminUrl)
  return { cli, proxyUrl: `http://127.0.0.1:${proxyPort}`, adminUrl }
}

function json (answer: Answer): Record<string, unknown> {
  const j = answer.json
  return typeof j === 'object' && j !== null ? j as Record<string, unknown> : {}
}

t.test('the state survives a SIGTERM and a restart on the same file', async (t) => {
  const blue = await startUpstream(t, 'blue')
  const green = await startUpstream(t, 'green')
  const dir = t.testdir({})
  const { config, statePath, proxyPort, adminPort } = await writeConfig(dir, blue, green)

  const first = await serve(t, config, proxyPort, adminPort)
  const initial = json(await adminCall(first.adminUrl, 'GET', '/state'))
  t.match(initial, { version: 1, weights: { blue: 100, green: 0 }, store: 'file' })
  t.equal((await send(first.proxyUrl + '/')).body, 'blue', 'blue serves at first')

  t.equal((await adminCall(first.adminUrl, 'PUT', '/weights', { weights: { blue: 90, green: 10 }, reason: 'canary' })).status, 200)
  const flip = await adminCall(first.adminUrl, 'POST', '/flip', { to: 'green', reason: 'go live' })
  t.equal(flip.status, 200, flip.body)
  const before = json(await adminCall(first.adminUrl, 'GET', '/state'))
  t.match(before, { version: 3, weights: { blue: 0, green: 100 } })
  t.equal((await send(first.proxyUrl + '/')).body, 'green', 'green serves after the flip')

  first.cli.signal('SIGTERM')
  const exit = await first.cli.exited
  t.strictSame(exit, { code: 0, signal: null }, `SIGTERM exits 0 (stderr: ${first.cli.stderr()})`)
  t.equal((await stat(statePath)).mode & 0o777, 0o600, 'the state file is private')

  const second = await serve(t, config, proxyPort, adminPort)
  const after = json(await adminCall(second.adminUrl, 'GET', '/state'))
  t.equal(after.version, before.version, 'the same version as before the stop')
  t.strictSame(after.weights, { blue: 0, green: 100 }, 'green at 100 after the restart')
  t.match(after.previous, { version: 2, weights: { blue: 90, green: 10 } }, 'what rollback restores survived too')
  t.equal((await send(second.proxyUrl + '/')).body, 'green', 'a proxied request answers green after the restart')
  const history = json(await adminCall(second.adminUrl, 'GET', '/history'))
  t.match(history.entries, [{ version: 3, kind: 'flip', reason: 'go live' }, { version: 2, reason: 'canary' }, { version: 1, kind: 'init' }])

  const back = await adminCall(second.adminUrl, 'POST', '/rollback', { reason: 'after restart' })
  t.equal(back.status, 200, back.body)
  t.match(json(back), { version: 4, weights: { blue: 90, green: 10 } }, 'a rollback after the restart restores the pre-flip split')

  second.cli.signal('SIGTERM')
  t.strictSame(await second.cli.exited, { code: 0, signal: null }, 'the second run exits 0 too')
  const onDisk = JSON.parse(await readFile(statePath, 'utf8')) as { state: { version: number } }
  t.equal(onDisk.state.version, 4, 'the last version is on disk')
})

t.test('SIGTERM lets an in-flight request finish', async (t) => {
  // The request is held at the upstream until switchyard has begun its shutdown, so it is
  // in flight at SIGTERM however slow the machine is.
  const held = gate()
  t.teardown(held.open)
  const blue = await startUpstream(t, 'blue', { holdUntil: held.opened })
  const green = await startUpstream(t, 'green')
  const dir = t.testdir({})
  const { config, proxyPort, adminPort } = await writeConfig(dir, blue, green)
  const sy = await serve(t, config, proxyPort, adminPort)
  const inFlight = send(sy.proxyUrl + '/slow')
  await until('the request to reach blue', () => blue.seen.length === 1)
  sy.cli.signal('SIGTERM')
  await until('switchyard to say it drains in-flight requests', () => sy.cli.stderr().includes('draining in-flight requests'), { detail: () => sy.cli.stderr() })
  held.open()
  const answer = await inFlight
  t.equal(answer.status, 200, 'the request in flight at SIGTERM is answered')
  t.equal(answer.body, 'blue')
  t.strictSame(await sy.cli.exited, { code: 0, signal: null }, 'then the process exits 0')
})

t.test('a bad config: check and serve exit 2 and list every problem', async (t) => {
  const dir = t.testdir({ 'bad.yaml': MANY_PROBLEMS_YAML })
  const config = join(dir, 'bad.yaml')
  for (const command of ['check', 'serve']) {
    const r = await runCli(t, [command, '--config', config])
    t.equal(r.code, 2, `${command} exits 2`)
    for (const [what, pattern] of MANY_PROBLEMS) t.match(r.stderr, pattern, `${command}: stderr lists ${what}`)
  }
  const absent = await runCli(t, ['check', '--config', join(dir, 'absent.yaml')])
  t.equal(absent.code, 2, 'a missing config file exits 2')
  t.match(absent.stderr, 'absent.yaml')
})

t.test('check accepts a good config and the shipped one', async (t) => {
  const dir = t.testdir({ 'good.yaml': 'colors: { blue: { targets: ["http://127.0.0.1:3001"] }, green: { targets: ["http://127.0.0.1:3002"] } }\n' })
  const good = await runCli(t, ['check', '--config', join(dir, 'good.yaml')])
  t.equal(good.code, 0, good.stderr)
  t.match(good.stdout, /ok .*blue, green/)
  const shipped = await runCli(t, ['check', '--config', 'config/switchyard.yaml'])
  t.equal(shipped.code, 0, `config/switchyard.yaml checks ok (${shipped.stderr})`)
})

t.test('a corrupt state file stops serve with exit 2 and is left untouched', async (t) => {
  const blue = await startUpstream(t, 'blue')
  const green = await startUpstream(t, 'green')
  const corrupt = '{"format": "switchyard-state/1", "state": {"version": 3, "weights": '
  const dir = t.testdir({ data: { 'state.json': corrupt } })
  const { config, statePath } = await writeConfig(dir, blue, green)
  const r = await runCli(t, ['serve', '--config', config])
  t.equal(r.code, 2, 'serve exits 2')
  t.match(r.stderr, /SWY_ERR_STORE_CORRUPT|state file/, 'stderr says the state file is corrupt')
  t.match(r.stderr, statePath, 'and names it')
  t.equal(await readFile(statePath, 'utf8'), corrupt, 'the file is left untouched')
  t.equal(blue.seen.length + green.seen.length, 0, 'nothing was served')
})
