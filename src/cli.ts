#!/usr/bin/env node
/**
 * The `switchyard` command: `serve` (the proxy on a config file), `demo` (two demo upstreams
 * plus the proxy on the embedded defaults) and `check` (validate a config and exit).
 * SIGTERM/SIGINT drain in-flight requests, then exit 0.
 */
import { parseArgs } from 'node:util'
import { startSwitchyard, type Running } from './app.js'
import { defaultConfigInput, loadConfigFile, validateConfig, type LoadedConfig } from './config/load-config.js'
import { startDemoUpstream, type DemoUpstream } from './demo/demo-upstreams.js'
import { SwitchyardError } from './errors.js'
import { hmacFor } from './proxy/sticky-mac.js'
import { overrideValue } from './routing/override.js'

const USAGE = `usage:
  switchyard serve [--config config/switchyard.yaml]   run the proxy (embedded defaults without --config)
  switchyard demo                                       demo upstreams on :3001 (blue) and :3002 (green) + the proxy
  switchyard check --config FILE                        validate a config file and exit
  switchyard sign-override --config FILE --color NAME   print the signed override value for a color
`

function fail (e: unknown): never {
  if (e instanceof SwitchyardError) {
    process.stderr.write(`switchyard: ${e.message}\n`)
  } else if ((e as NodeJS.ErrnoException).code === 'EADDRINUSE') {
    process.stderr.write(`switchyard: ${(e as Error).message}: another process holds that port (set listen.port / admin.listen.port)\n`)
  } else {
    process.stderr.write(`switchyard: ${(e as Error).stack ?? String(e)}\n`)
  }
  process.exit(2)
}

function onSignals (running: Running, graceSeconds: number, extra: () => Promise<void> = async () => {}): void {
  let stopping = false
  const stop = (signal: string): void => {
    if (stopping) return
    stopping = true
    process.stderr.write(`switchyard: ${signal}: draining in-flight requests (up to ${graceSeconds}s)\n`)
    const timer = setTimeout(() => {
      process.stderr.write('switchyard: grace period over, exiting with requests still in flight\n')
      process.exit(1)
    }, graceSeconds * 1000)
    timer.unref()
    running.close().then(extra).then(() => process.exit(0), (e: unknown) => fail(e))
  }
  process.on('SIGTERM', () => { stop('SIGTERM') })
  process.on('SIGINT', () => { stop('SIGINT') })
}

async function main (argv: string[]): Promise<void> {
  const [command, ...rest] = argv
  const { values } = parseArgs({ args: rest, options: { config: { type: 'string', short: 'c' }, color: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, allowPositionals: false })
  if (command === undefined || command === 'help' || command === '--help' || command === '-h' || values.help === true) {
    process.stdout.write(USAGE)
    return
  }
  const load = async (): Promise<LoadedConfig> => values.config === undefined ? validateConfig(defaultConfigInput(), process.env, 'embedded defaults') : await loadConfigFile(values.config)
  switch (command) {
    case 'check': {
      const loaded = await load()
      process.stdout.write(`${values.config ?? 'embedded defaults'}: ok (colors ${loaded.colors.join(', ')}; store ${loaded.config.store.kind})\n`)
      return
    }
    case 'sign-override': {
      const loaded = await load()
      const secret = loaded.config.overrides.secret
      const color = values.color ?? ''
      if (!loaded.config.overrides.enabled || secret === undefined) throw new SwitchyardError('SWY_ERR_CONFIG_INVALID', 'sign-override needs overrides.enabled and overrides.secret in the config')
      if (!loaded.colors.includes(color)) throw new SwitchyardError('SWY_ERR_UNKNOWN_COLOR', `--color must be one of ${loaded.colors.join(', ')}`)
      process.stdout.write(`${overrideValue(color, hmacFor(secret, 'override'))}\n`)
      return
    }
    case 'serve': {
      const loaded = await load()
      const running = await startSwitchyard(loaded)
      onSignals(running, loaded.config.shutdown.graceSeconds)
      return
    }
    case 'demo': {
      // The demo starts at 50/50 on an empty store, so a newcomer sees both colors answer.
      const loaded = values.config === undefined
        ? validateConfig({ ...defaultConfigInput(), initial: { weights: { blue: 50, green: 50 } } }, process.env, 'demo defaults')
        : await load()
      const upstreams: DemoUpstream[] = []
      for (const [i, color] of loaded.colors.entries()) {
        const target = new URL(loaded.targets[i]?.[0]?.url ?? '')
        upstreams.push(await startDemoUpstream(color, Number(target.port), target.hostname))
      }
      const running = await startSwitchyard(loaded)
      onSignals(running, loaded.config.shutdown.graceSeconds, async () => { await Promise.all(upstreams.map((u) => u.close())) })
      const p = running.proxyUrl
      const a = running.adminUrl
      process.stdout.write(`
switchyard demo is up
  proxy     ${p}
  admin     ${a}
  upstreams ${upstreams.map((u) => `${u.color} ${u.url}`).join(', ')}

try:
  curl -s ${p}/                                   # answers with the serving color
  for i in $(seq 100); do curl -s ${p}/; done | sort | uniq -c      # blue and green, about half each
  curl -s -X PUT ${a}/weights -H 'content-type: application/json' -d '{"weights":{"blue":90,"green":10},"reason":"demo canary"}'
  curl -s -X POST ${a}/flip -H 'content-type: application/json' -d '{"to":"green"}'
  curl -s -X POST ${a}/rollback
  curl -s ${a}/state
  curl -s ${a}/history
  curl -s ${a}/metrics | grep ^switchyard_requests_total
(Ctrl-C to stop)
`)
      return
    }
    default:
      process.stderr.write(`switchyard: unknown command "${command}"\n${USAGE}`)
      process.exit(2)
  }
}

main(process.argv.slice(2)).catch(fail)
