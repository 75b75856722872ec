/**
 * What a command runs with: where to write, the environment, the styles, a clock, and the
 * admin client built from --admin / --token-file / the environment. Commands take it as an
 * argument, so nothing reads process.* but the entry point.
 */
import { flag, str, type CommandSpec, type Parsed } from './args.js'
import { AdminClient, adminUrl, readToken } from './client.js'
import type { ExitCode } from './exit.js'
import { styleFor, type Style } from './render.js'

/** A command's surroundings. */
export interface Context {
  /** Writes to stdout. */
  out (s: string): void
  /** Writes to stderr. */
  err (s: string): void
  readonly env: NodeJS.ProcessEnv
  /** Styles for stdout. */
  readonly style: Style
  /** True when stdout is a terminal (live views redraw in place). */
  readonly tty: boolean
  /** The terminal's width, when stdout is one. */
  readonly columns: number | undefined
  /** Resolves after `ms`. */
  sleep (ms: number): Promise<void>
}

/** A command's implementation. */
export type Run = (parsed: Parsed, ctx: Context) => Promise<ExitCode>

/** The process's context. */
export function processContext (): Context {
  return {
    out: (s) => { process.stdout.write(s) },
    err: (s) => { process.stderr.write(s) },
    env: process.env,
    style: styleFor(process.stdout, process.env),
    tty: process.stdout.isTTY,
    columns: process.stdout.isTTY ? process.stdout.columns : undefined,
    sleep: async (ms) => { await new Promise((resolve) => setTimeout(resolve, ms)) }
  }
}

/** The admin client for a command's --admin / --token-file (or the environment). */
export function clientFor (parsed: Parsed, ctx: Context): AdminClient {
  return new AdminClient(adminUrl(str(parsed, 'admin'), ctx.env), readToken(str(parsed, 'token-file'), ctx.env))
}

/** True when the command should print the server's JSON. */
export function wantsJson (parsed: Parsed): boolean {
  return flag(parsed, 'json')
}

/** The server's JSON as printed by --json (two-space indented, one trailing newline). */
export function jsonText (value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`
}

/** A command: its declaration and its implementation. */
export interface Command {
  readonly spec: CommandSpec
  readonly run: Run
}
