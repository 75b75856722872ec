#!/usr/bin/env node
/**
 * The `switchyard` command: `serve` (the proxy on a config file), `demo` (two demo upstreams
 * plus the proxy on the embedded defaults) and `check` (validate a config and exit).
 * SIGTERM/SIGINT drain in-flight requests, then exit 0.
 */
import { parseArgs } from 'node:util'
import { startSwitchyard, type Running } from './app.js'
import { defaultConfigInput, loadConfigFile, validateConfig, type LoadedConfig } from './config/load-config.js'
import { startDemo } from './demo/run-demo.js'
import { SwitchyardError } from './errors.js'
import { hmacFor } from './proxy/sticky-mac.js'
import { overrideValue } from './routing/override.js'

const USAGE = `usage:
  switchyard serve [--config config/switchyard.yaml]   run the proxy (embedded defaults without --config)
  switchyard demo [--reset]                             demo upstreams (blue :3001 :3003 :3005, green :3002 :3004 :3006) + the proxy; --reset: fresh ./data/demo-state.json
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
  const { values } = parseArgs({ args: rest, options: { config: { type: 'string', short: 'c' }, color: { type: 'string' }, reset: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } }, allowPositionals: false })
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
      // Three demo upstreams per color, the demo's own state file (--reset: fresh), a banner with the real weights.
      const demo = await startDemo({ ...(values.config === undefined ? {} : { configPath: values.config }), reset: values.reset === true })
      onSignals(demo.running, demo.graceSeconds, demo.closeUpstreams)
      process.stdout.write(demo.banner)
      return
    }
    default:
      process.stderr.write(`switchyard: unknown command "${command}"\n${USAGE}`)
      process.exit(2)
  }
}

main(process.argv.slice(2)).catch(fail)
