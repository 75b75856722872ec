/**
 * The CLI's exit codes (documented in `switchyard --help`) and the one error type its
 * commands throw: a message for one line of stderr and the exit code it ends with.
 */

/** Exit codes: scripts and CI pipelines branch on these. */
export const EXIT = Object.freeze({
  /** Done. */
  ok: 0,
  /** The server refused (a 4xx answer), or `rollout status --watch` saw the rollout fail. */
  refused: 1,
  /** A usage error: unknown command or option, a missing or malformed argument. */
  usage: 2,
  /** The admin API is unreachable or answered 5xx. */
  unreachable: 3,
  /** `--wait` timed out: the change is committed but some instances have not applied it. */
  waitTimedOut: 4
})

/** One of the exit codes. */
export type ExitCode = (typeof EXIT)[keyof typeof EXIT]

/** A failure the CLI reports in one line (`switchyard: <message>`) and exits with. */
export class CliError extends Error {
  readonly exitCode: ExitCode
  /** The usage of the command that was misused, printed after the message (usage errors). */
  readonly usage: string | undefined

  constructor (exitCode: ExitCode, message: string, usage?: string) {
    super(message)
    this.name = 'CliError'
    this.exitCode = exitCode
    this.usage = usage
  }
}

/** A usage error (exit 2); the dispatcher adds the command's usage when it knows it. */
export function usageError (message: string, usage?: string): CliError {
  return new CliError(EXIT.usage, message, usage)
}
