/**
 * `switchyard targets add` and `targets remove` as a child process against a real
 * switchyard: what they print, what they changed, how they exit.
 */
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { runCli } from '../helpers/process.js'
import { adminCall, startTestSwitchyard, startUpstream, testConfig } from '../helpers/services.js'

t.setTimeout(10 * 60_000)

t.test('targets add and targets remove', async (t) => {
  const blue = await startUpstream(t, 'blue')
  const green = await startUpstream(t, 'green')
  const fresh = await startUpstream(t, 'blue')
  const sy = await startTestSwitchyard(t, testConfig([blue, green]))
  const env = { SWITCHYARD_ADMIN_URL: sy.adminUrl }
  const pool = async (): Promise<unknown> => ((await adminCall(sy.adminUrl, 'GET', '/state')).json as { pool: unknown }).pool

  const noReason = await runCli(t, ['targets', 'add', 'blue', fresh.url], env)
  t.equal(noReason.code, 2, 'add needs --reason (usage error)')
  t.match(noReason.stderr, /--reason/)

  const add = await runCli(t, ['targets', 'add', 'blue', fresh.url, '--disabled', '--reason', 'v2 instance 1', '--wait=5s'], env)
  t.equal(add.code, 0, add.stderr)
  t.match(add.stdout, `blue/blue-127.0.0.1:${fresh.port} added: ${fresh.url} disabled (state v2)`)
  t.match(await pool(), { blue: [{ id: `127.0.0.1:${blue.port}` }, { id: `blue-127.0.0.1:${fresh.port}`, url: fresh.url }] })

  const dup = await runCli(t, ['targets', 'add', 'blue', fresh.url, '--reason', 'again'], env)
  t.equal(dup.code, 1, 'a refusal exits 1')
  t.match(dup.stderr, /SWY_ERR_TARGET_EXISTS/)

  t.equal((await runCli(t, ['enable', 'blue', `blue-127.0.0.1:${fresh.port}`], env)).code, 0, 'enabled with the existing command')
  const last = await runCli(t, ['targets', 'remove', 'green', green.url, '--reason', 'x'], env)
  t.equal(last.code, 0, `green has no traffic: its last target may go (${last.stderr})`)
  const old = await runCli(t, ['targets', 'remove', 'blue', `127.0.0.1:${blue.port}`, '--wait=10s', '--reason', 'v1 instance 1 out'], env)
  t.equal(old.code, 0, old.stderr)
  t.match(old.stdout, `blue/127.0.0.1:${blue.port} removed (state v5): drained`)
  t.match(old.stdout, `blue-127.0.0.1:${fresh.port}`, 'the color\'s remaining targets')
  const refused = await runCli(t, ['targets', 'remove', 'blue', `blue-127.0.0.1:${fresh.port}`], env)
  t.equal(refused.code, 1)
  t.match(refused.stderr, /SWY_ERR_TARGET_LAST_USABLE/)
  const forced = await runCli(t, ['targets', 'remove', 'blue', fresh.url, '--force', '--json'], env)
  t.equal(forced.code, 0, forced.stderr)
  t.match(JSON.parse(forced.stdout), { target: { color: 'blue', id: `blue-127.0.0.1:${fresh.port}`, removed: true } })
  t.same(await pool(), { blue: [], green: [] })
})

t.test('switchyard check names where the store\'s pool differs from the config', async (t) => {
  const blue = await startUpstream(t, 'blue')
  const green = await startUpstream(t, 'green')
  const fresh = await startUpstream(t, 'blue')
  const dir = t.testdir({})
  const path = join(dir, 'state.json')
  const config = (file: string): Record<string, unknown> => ({ colors: { blue: { targets: [blue.url] }, green: { targets: [green.url] } }, store: { kind: 'file', path: file } })
  await writeFile(join(dir, 'config.json'), JSON.stringify(config(path)))
  const empty = await runCli(t, ['check', '--config', join(dir, 'config.json')])
  t.equal(empty.code, 0, empty.stderr)
  t.match(empty.stdout, 'target pool: the store is empty; the config\'s targets will be the initial pool')
  const sy = await startTestSwitchyard(t, testConfig([blue, green], { store: { kind: 'file', path } }))
  const agrees = await runCli(t, ['check', '--config', join(dir, 'config.json')])
  t.match(agrees.stdout, 'target pool: the store (v1) agrees with the config')
  t.equal((await adminCall(sy.adminUrl, 'POST', '/targets/blue', { url: fresh.url, id: 'b-new', reason: 'scale out' })).status, 201)
  const differs = await runCli(t, ['check', '--config', join(dir, 'config.json')])
  t.equal(differs.code, 0, 'a difference is a warning: the config is valid')
  t.match(differs.stdout, `warning: the store's target pool (v2) differs from the config, and the store wins: blue: the store's pool has b-new (${fresh.url}), which the config does not list`)
  t.notMatch(differs.stdout, /green:/, 'only the color that differs')
})
