import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { until } from '../helpers/harness.js'
import { freePort, spawnCli, waitForReady } from '../helpers/process.js'
import { trafficLoop } from '../helpers/rollouts.js'
import { adminCall, send, startUpstream } from '../helpers/services.js'

// One CLI child (node + tsx start of the whole app) on a loaded machine: every wait inside
// is bounded on its own; this only lifts tap's per-file budget.
t.setTimeout(5 * 60_000)

const OLD = 'o'.repeat(32)
const NEW = 'n'.repeat(32)
const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` })

t.test('SIGHUP reloads the config file of `switchyard serve`: a rotated token, a refused file, reloads under load', async (t) => {
  const blue = await startUpstream(t, 'blue')
  const dir = t.testdir({})
  const proxyPort = await freePort()
  const adminPort = await freePort()
  const file = join(dir, 'switchyard.yaml')
  const write = async (tokens: string, extra = ''): Promise<void> => {
    await writeFile(file, `
listen: { host: 127.0.0.1, port: ${proxyPort} }
admin:
  listen: { host: 127.0.0.1, port: ${adminPort} }
  tokens: [${tokens}]
colors:
  blue: { targets: ["${blue.url}"] }
store: { kind: memory }
log: { level: info }
${extra}`)
  }
  await write(`{ name: ci, token: "${OLD}", role: write }`)
  const cli = spawnCli(t, ['serve', '--config', file])
  const adminUrl = `http://127.0.0.1:${adminPort}`
  const proxyUrl = `http://127.0.0.1:${proxyPort}`
  await waitForReady(cli, adminUrl)
  const lines = (what: string): number => cli.stdout().split('\n').filter((l) => l.includes(what)).length
  const status = async (token: string): Promise<number> => (await adminCall(adminUrl, 'GET', '/state', undefined, bearer(token))).status

  t.equal(await status(OLD), 200)
  await write(`{ name: ci2, token: "${NEW}", role: write }`)
  cli.signal('SIGHUP')
  await until('the reload after SIGHUP', () => lines('config reloaded') === 1, { detail: () => cli.stdout() + cli.stderr() })
  t.match(cli.stdout(), /"by":"SIGHUP".*"changed":\["admin.tokens"\].*config reloaded: admin.tokens/, 'the log line says who and what changed')
  t.notMatch(cli.stdout(), NEW, 'never a token in the log')
  t.equal(await status(NEW), 200, 'the new token works right after the reload')
  t.equal(await status(OLD), 401, 'the removed one gets 401')

  // A file with two problems: refused whole, every problem logged, the old config runs on.
  await write(`{ name: ci3, token: "${OLD}", role: write }`, 'upstream: { connectTimeoutMs: 0 }\nhealth: { active: { intervalMs: 1 } }')
  cli.signal('SIGHUP')
  await until('the refusal after SIGHUP', () => lines('config reload refused') === 1, { detail: () => cli.stdout() + cli.stderr() })
  const refusal = cli.stdout().split('\n').find((l) => l.includes('config reload refused')) ?? ''
  t.match(refusal, /SWY_ERR_RELOAD_INVALID/)
  t.match(refusal, /upstream\.connectTimeoutMs/, 'the first problem is named')
  t.match(refusal, /health\.active\.intervalMs/, 'and the second')
  t.equal(await status(NEW), 200, 'the running token still works')
  t.equal(await status(OLD), 401, 'the refused file\'s token does not')

  // Ten reloads under load (each changes the upstream agent's settings): 0 failed requests.
  const loop = trafficLoop(t, proxyUrl, 4)
  await until('traffic flows', () => loop.sent() > 8)
  for (let i = 1; i <= 10; i++) {
    await write(`{ name: ci2, token: "${NEW}", role: write }`, `upstream: { connectTimeoutMs: ${5000 + i} }`)
    cli.signal('SIGHUP')
    await until(`reload ${i} under load`, () => lines('config reloaded') === 1 + i, { detail: () => cli.stdout() + cli.stderr() })
    const before = loop.sent()
    await until(`requests after reload ${i}`, () => loop.sent() >= before + 4)
  }
  await loop.stop()
  t.strictSame(loop.failures(), [], `0 failed requests out of ${loop.sent()}`)
  t.equal((await send(proxyUrl + '/')).body, 'blue')

  cli.signal('SIGTERM')
  t.strictSame(await cli.exited, { code: 0, signal: null }, 'the process ran on through every SIGHUP and exits 0 on SIGTERM')
})
