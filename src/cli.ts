#!/usr/bin/env node
/**
 * The `switchyard` command. Server side: `serve`, `demo`, `check`, `sign-override`. Client
 * side, against a running instance's admin API: `status`, `weights`, `flip`, `rollback`,
 * `drain|enable|disable`, `targets`, `instances`, `history` and `rollout ...`.
 *
 * Each command is loaded only when it runs (src/cli/registry.ts): the client commands never
 * import fastify, pino or the config loader, so they start in well under 150 ms. Usage errors
 * are one line plus the command's usage and exit 2; see `switchyard --help` for exit codes.
 */
import { commandHelp, parseCommand, shortUsage } from './cli/args.js'
import { processContext, type Context } from './cli/context.js'
import { CliError, EXIT } from './cli/exit.js'
import { COMMANDS, lookup } from './cli/registry.js'
import { packageVersion } from './cli/version.js'

function commandList (): string {
  const names = [...new Set(COMMANDS.map((c) => c.name.split(' ', 1)[0] ?? ''))]
  return `commands: ${names.join(', ')}\n(switchyard --help for what each does, switchyard COMMAND --help for its options)\n`
}

function unknown (argv: readonly string[]): string {
  const [first = '', second] = argv
  if (first.startsWith('-')) return `unknown option ${first} before the command: options go after it (switchyard COMMAND [options])\n`
  if (first === 'rollout') {
    const subs = COMMANDS.filter((c) => c.name.startsWith('rollout ')).map((c) => c.name.slice(8))
    return second === undefined ? `rollout: missing SUBCOMMAND (${subs.join(', ')})\n` : `rollout: unknown subcommand "${second}" (${subs.join(', ')})\n`
  }
  const near = COMMANDS.map((c) => c.name).find((n) => n.startsWith(first.slice(0, 3)) && first.length >= 3)
  return `unknown command "${first}"${near === undefined ? '' : ` (did you mean ${near}?)`}\n`
}

async function main (argv: readonly string[], ctx: Context): Promise<number> {
  const [first] = argv
  if (first === undefined || first === '--help' || first === '-h' || (first === 'help' && argv.length === 1)) {
    const { globalHelp } = await import('./cli/help.js')
    ctx.out(await globalHelp(packageVersion()))
    return EXIT.ok
  }
  if (first === '--version' || first === '-v' || first === 'version') {
    ctx.out(`${packageVersion()}\n`)
    return EXIT.ok
  }
  const asked = first === 'help' ? argv.slice(1) : argv
  const found = lookup(asked)
  if (found === undefined) {
    ctx.err(`switchyard: ${unknown(asked)}${commandList()}`)
    return EXIT.usage
  }
  const command = await found.entry.load()
  if (found.entry.group !== 'server') {
    // `switchyard history | head -3`: a reader that stops early is not an error.
    process.stdout.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code !== 'EPIPE') throw e
      process.exit(EXIT.ok)
    })
  }
  if (first === 'help') {
    ctx.out(commandHelp(command.spec))
    return EXIT.ok
  }
  try {
    const parsed = parseCommand(command.spec, argv.slice(found.words))
    if (parsed.values.help === true) {
      ctx.out(commandHelp(command.spec))
      return EXIT.ok
    }
    return await command.run(parsed, ctx)
  } catch (e) {
    if (!(e instanceof CliError)) throw e
    ctx.err(`switchyard: ${e.message}\n`)
    if (e.exitCode === EXIT.usage) ctx.err(e.usage ?? shortUsage(command.spec))
    return e.exitCode
  }
}

main(process.argv.slice(2), processContext()).then((code) => { process.exitCode = code }, async (e: unknown) => {
  const { startupFailure } = await import('./cli/commands/server.js')
  startupFailure(e)
})
