/**
 * `switchyard reload` against a real switchyard in this process whose config source the test
 * changes: it prints what changed, says when nothing did, and exits 1 listing every problem
 * of a refused file while the running config stays.
 */
import t from 'tap'
import type { LoadedConfig } from '../../src/config/load-config.js'
import { runCli } from '../helpers/process.js'
import { startTestSwitchyard, startUpstream, testConfig } from '../helpers/services.js'

t.setTimeout(10 * 60_000)

t.test('switchyard reload: what changed, nothing changed, a refusal with every problem', async (t) => {
  const blue = await startUpstream(t, 'blue')
  const green = await startUpstream(t, 'green')
  const base = testConfig([blue, green])
  let next: LoadedConfig | (() => never) = base
  const sy = await startTestSwitchyard(t, base, {
    reloadFrom: async () => {
      if (typeof next === 'function') return next()
      return next
    }
  })
  const env = { SWITCHYARD_ADMIN_URL: sy.adminUrl }

  next = { ...base, config: { ...base.config, upstream: { ...base.config.upstream, responseTimeoutMs: 1234 }, log: { ...base.config.log, level: 'error' } } }
  const changed = await runCli(t, ['reload', '--reason', 'shorter timeout'], env)
  t.equal(changed.code, 0, changed.stderr)
  t.equal(changed.stdout, 'reloaded: log.level, upstream.responseTimeoutMs\n')

  const same = await runCli(t, ['reload'], env)
  t.equal(same.code, 0, same.stderr)
  t.equal(same.stdout, 'reloaded: nothing changed\n')

  next = { ...next, config: { ...next.config, listen: { ...next.config.listen, port: next.config.listen.port + 1 } } }
  const refused = await runCli(t, ['reload', '--json'], env)
  t.equal(refused.code, 1, 'a refused reload exits 1')
  t.match(refused.stderr, /SWY_ERR_RELOAD_NOT_LIVE[\s\S]*listen\.port/, 'the refusal names the setting that needs a restart')
})
