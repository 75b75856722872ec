/**
 * The server side of the binary: `serve` (the proxy on a config file), `check` (validate a
 * config and exit) and `sign-override` (print a signed override value). The heavy modules
 * (fastify, pino, the config loader) are imported only here, when one of these runs, so the
 * admin client commands start fast. SIGTERM/SIGINT drain in-flight requests, then exit 0;
 * SIGHUP reloads the config file.
 */
import { HELP_OPTION, str, type CommandSpec, type OptionSpec, type Parsed } from '../args.js'
import type { Command } from '../context.js'
import { EXIT, usageError } from '../exit.js'
import type { RunningInstance } from '../../app.js'
import type { LoadedConfig } from '../../config/load-config.js'

const CONFIG: OptionSpec = { name: 'config', short: 'c', type: 'string', value: 'FILE', description: 'the YAML config file (default: the embedded defaults)' }

/**
 * How a start-up failure is reported (exit 2): a SwitchyardError's message (every config
 * problem listed), a port in use in words, anything else with its stack (a bug).
 */
export function startupFailure (e: unknown): never {
  if (e instanceof Error && e.name === 'SwitchyardError') {
    process.stderr.write(`switchyard: ${e.message}\n`)
  } else if ((e as NodeJS.ErrnoException).code === 'EADDRINUSE') {
    process.stderr.write(`switchyard: ${(e as Error).message}: another process holds that port (set listen.port / admin.listen.port)\n`)
  } else {
    process.stderr.write(`switchyard: ${(e as Error).stack ?? String(e)}\n`)
  }
  process.exit(EXIT.usage)
}

/** Drains on SIGTERM/SIGINT (up to the grace period), runs `extra`, then exits 0. */
export function onSignals (running: Pick<RunningInstance, 'close'>, graceSeconds: number, extra: () => Promise<void> = async () => {}): void {
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
    running.close().then(extra).then(() => process.exit(0), (e: unknown) => startupFailure(e))
  }
  process.on('SIGTERM', () => { stop('SIGTERM') })
  process.on('SIGINT', () => { stop('SIGINT') })
}

/**
 * SIGHUP re-reads the config file (as POST /reload does): the outcome, applied or refused
 * with every problem, is the reloader's log line. The process never dies of a SIGHUP.
 */
export function onReloadSignal (running: RunningInstance): void {
  process.on('SIGHUP', () => {
    running.reloader.reload('SIGHUP').catch((e: unknown) => {
      process.stderr.write(`switchyard: SIGHUP: the reload failed: ${(e as Error).stack ?? String(e)}\n`)
    })
  })
}

/** The config of `--config FILE`, or the embedded defaults. */
export async function loadConfig (p: Parsed): Promise<LoadedConfig> {
  const { defaultConfigInput, loadConfigFile, validateConfig } = await import('../../config/load-config.js')
  const file = str(p, 'config')
  return file === undefined ? validateConfig(defaultConfigInput(), process.env, 'embedded defaults') : await loadConfigFile(file)
}

/** `switchyard serve [--config FILE]`. */
export const serve: Command = {
  spec: {
    name: 'serve',
    summary: 'run the proxy and its admin API',
    usage: ['serve [--config FILE]'],
    options: [CONFIG, HELP_OPTION],
    positionals: { min: 0, max: 0 },
    notes: ['SIGTERM or SIGINT drains requests in flight (up to shutdown.graceSeconds), then exits 0.', 'SIGHUP re-reads the config file: admin tokens, health, upstream timeouts, discovery and log level change live; a file with a problem, or one that changes a setting needing a restart, is refused whole (logged).'],
    examples: ['serve --config config/switchyard.yaml']
  } satisfies CommandSpec,
  run: async (p) => {
    const loaded = await loadConfig(p)
    const { startInstance } = await import('../../app.js')
    const running = await startInstance(loaded, { reloadFrom: async () => await loadConfig(p) })
    onSignals(running, loaded.config.shutdown.graceSeconds)
    onReloadSignal(running)
    return EXIT.ok
  }
}

/** `switchyard check [--config FILE]`. */
export const check: Command = {
  spec: {
    name: 'check',
    summary: "validate a config file (every problem listed) and exit: 0 valid, 2 not; warns where the store's target pool differs from the config's",
    usage: ['check --config FILE'],
    options: [CONFIG, HELP_OPTION],
    positionals: { min: 0, max: 0 },
    examples: ['check --config config/switchyard.yaml']
  },
  run: async (p) => {
    const loaded = await loadConfig(p)
    process.stdout.write(`${str(p, 'config') ?? 'embedded defaults'}: ok (colors ${loaded.colors.join(', ')}; store ${loaded.config.store.kind})\n`)
    // The config's targets are only the initial pool: say where the store's pool differs (it wins at start).
    const { poolReport } = await import('../../state/pool-report.js')
    const { configPool } = await import('../../routing/pool.js')
    const report = await poolReport(loaded.config.store, loaded.colors, configPool(loaded.colors, loaded.targets))
    if (!report.read) process.stdout.write(`target pool: not compared with the store (${report.why})\n`)
    else if (report.version === null) process.stdout.write('target pool: the store is empty; the config\'s targets will be the initial pool\n')
    else if (report.lines.length === 0) process.stdout.write(`target pool: the store (v${report.version}) agrees with the config\n`)
    else for (const line of report.lines) process.stdout.write(`warning: the store's target pool (v${report.version}) differs from the config, and the store wins: ${line}\n`)
    return EXIT.ok
  }
}

/** `switchyard sign-override --config FILE --color NAME`. */
export const signOverride: Command = {
  spec: {
    name: 'sign-override',
    summary: 'print the signed override header value that pins a request to a color',
    usage: ['sign-override --config FILE --color NAME'],
    options: [CONFIG, { name: 'color', type: 'string', value: 'NAME', description: 'the color to pin to (required)' }, HELP_OPTION],
    positionals: { min: 0, max: 0 },
    examples: ['sign-override --config config/switchyard.yaml --color green']
  },
  run: async (p) => {
    const color = str(p, 'color')
    if (color === undefined) throw usageError('sign-override: missing --color NAME')
    const loaded = await loadConfig(p)
    const { SwitchyardError } = await import('../../errors.js')
    const { hmacFor } = await import('../../proxy/sticky-mac.js')
    const { overrideValue } = await import('../../routing/override.js')
    const secret = loaded.config.overrides.secret
    if (!loaded.config.overrides.enabled || secret === undefined) throw new SwitchyardError('SWY_ERR_CONFIG_INVALID', 'sign-override needs overrides.enabled and overrides.secret in the config')
    if (!loaded.colors.includes(color)) throw new SwitchyardError('SWY_ERR_UNKNOWN_COLOR', `--color must be one of ${loaded.colors.join(', ')}`)
    process.stdout.write(`${overrideValue(color, hmacFor(secret, 'override'))}\n`)
    return EXIT.ok
  }
}
