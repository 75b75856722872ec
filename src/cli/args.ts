/**
 * Command specs and their parsing: every command declares its options once (name, type,
 * placeholder, description), and that one declaration drives `node:util` parseArgs (strict:
 * unknown options are errors) and the `COMMAND --help` text. Parse failures become one-line
 * usage errors (exit 2), never a stack trace.
 */
import { parseArgs } from 'node:util'
import { usageError } from './exit.js'

/** One option of a command. */
export interface OptionSpec {
  readonly name: string
  readonly type: 'string' | 'boolean'
  readonly short?: string
  /** The value's placeholder in the help (`--limit N`). */
  readonly value?: string
  /**
   * A string option that may also be given bare (`--wait` = `--wait=<this>`). Its value must
   * then be attached with `=` (`--wait=10s`), so a following positional is never taken for it.
   */
  readonly bare?: string
  readonly description: string
}

/** A command's declaration: what `--help` prints and what the parser accepts. */
export interface CommandSpec {
  /** As typed, e.g. `rollout start`. */
  readonly name: string
  /** One line for `switchyard --help`. */
  readonly summary: string
  /** The synopsis lines (without the leading `switchyard `). */
  readonly usage: readonly string[]
  readonly options: readonly OptionSpec[]
  /** Positional arguments: how many are accepted (inclusive), for the error message. */
  readonly positionals: { readonly min: number, readonly max: number, readonly names?: readonly string[] }
  /** Example invocations (without the leading `switchyard `). */
  readonly examples: readonly string[]
  /** More to say in `COMMAND --help`, after the options. */
  readonly notes?: readonly string[]
}

/** What a command receives. */
export interface Parsed {
  readonly values: Readonly<Record<string, string | boolean | undefined>>
  readonly positionals: readonly string[]
}

/** `--help` of every command. */
export const HELP_OPTION: OptionSpec = { name: 'help', short: 'h', type: 'boolean', description: 'print this help and exit' }

/** The options of every command that talks to the admin API. */
export const CLIENT_OPTIONS: readonly OptionSpec[] = [
  { name: 'admin', type: 'string', value: 'URL', description: 'the admin API (default: $SWITCHYARD_ADMIN_URL, else http://127.0.0.1:9090)' },
  { name: 'token-file', type: 'string', value: 'FILE', description: 'read the bearer token from FILE (default: $SWITCHYARD_TOKEN); never pass a token as a flag' },
  { name: 'json', type: 'boolean', description: "print the server's JSON instead of a table" },
  HELP_OPTION
]

/** The usage text of a command: synopsis, options, examples and notes. */
export function commandHelp (spec: CommandSpec): string {
  const lines = [`usage:\n${spec.usage.map((u) => `  switchyard ${u}`).join('\n')}`, '', spec.summary]
  if (spec.options.length > 0) {
    lines.push('', 'options:')
    const flags = spec.options.map((o) => {
      const value = o.bare !== undefined ? `[=${o.value ?? 'VALUE'}]` : o.type === 'string' ? ` ${o.value ?? 'VALUE'}` : ''
      return `${o.short === undefined ? '    ' : `-${o.short}, `}--${o.name}${value}`
    })
    const width = Math.max(...flags.map((f) => f.length))
    spec.options.forEach((o, i) => lines.push(`  ${(flags[i] ?? '').padEnd(width)}  ${o.description}`))
  }
  if (spec.notes !== undefined && spec.notes.length > 0) lines.push('', ...spec.notes)
  if (spec.examples.length > 0) lines.push('', 'examples:', ...spec.examples.map((e) => `  switchyard ${e}`))
  return `${lines.join('\n')}\n`
}

/** The usage lines alone (printed after a usage error). */
export function shortUsage (spec: CommandSpec): string {
  return `usage:\n${spec.usage.map((u) => `  switchyard ${u}`).join('\n')}\n(switchyard ${spec.name} --help for every option)\n`
}

function distance (a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0] as number
    row[0] = i
    for (let j = 1; j <= b.length; j++) {
      const here = row[j] as number
      row[j] = Math.min(here + 1, (row[j - 1] as number) + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1))
      prev = here
    }
  }
  return row[b.length] as number
}

function unknownOption (spec: CommandSpec, given: string): string {
  const name = given.replace(/^-+/, '').split('=', 1)[0] ?? ''
  if (name === 'token') return `unknown option ${given}: pass the token in $SWITCHYARD_TOKEN or --token-file FILE, never on the command line (it would show in ps)`
  const near = spec.options.map((o) => o.name).filter((o) => distance(o, name) <= 2).sort((x, y) => distance(x, name) - distance(y, name))[0]
  return `unknown option ${given}${near === undefined ? '' : ` (did you mean --${near}?)`}`
}

/** The one-line message of a parseArgs failure. */
function parseFailure (spec: CommandSpec, e: Error & { code?: string }): string {
  const quoted = /'([^']+)'/.exec(e.message)?.[1] ?? ''
  switch (e.code ?? '') {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION': return unknownOption(spec, quoted)
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL': return `unexpected argument "${quoted}"`
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE': {
      const flag = /--[a-z-]+/.exec(quoted)?.[0] ?? quoted
      return e.message.includes('does not take an argument') ? `option ${flag} takes no value` : `option ${flag} needs a value`
    }
    default: return (e.message.split('\n', 1)[0] ?? 'bad arguments').replace(/\.$/, '')
  }
}

/**
 * Parses a command's arguments against its spec. Throws a usage error (exit 2, with the
 * command's usage) for an unknown option, a missing value, or too few or too many positionals.
 */
export function parseCommand (spec: CommandSpec, args: readonly string[]): Parsed {
  const usage = shortUsage(spec)
  for (const [i, a] of args.entries()) {
    const o = spec.options.find((x) => x.bare !== undefined && a === `--${x.name}`)
    const next = args[i + 1]
    if (o !== undefined && next !== undefined && /^\d/.test(next)) throw usageError(`--${o.name} takes its value after "=": --${o.name}=${next}`, usage)
  }
  const expanded = args.map((a) => {
    const o = spec.options.find((x) => x.bare !== undefined && a === `--${x.name}`)
    return o === undefined ? a : `--${o.name}=${o.bare ?? ''}`
  })
  const options: Record<string, { type: 'string' | 'boolean', short?: string }> = {}
  for (const o of spec.options) options[o.name] = o.short === undefined ? { type: o.type } : { type: o.type, short: o.short }
  let parsed: Parsed
  try {
    const r = parseArgs({ args: expanded, options, strict: true, allowPositionals: true })
    parsed = { values: r.values, positionals: r.positionals }
  } catch (e) {
    throw usageError(parseFailure(spec, e as Error & { code?: string }), usage)
  }
  if (parsed.values.help === true) return parsed
  const n = parsed.positionals.length
  const { min, max } = spec.positionals
  if (n > max) {
    const extra = parsed.positionals[max] ?? ''
    const hint = /\.(ya?ml|json)$/.test(extra) && spec.options.some((o) => o.name === 'config') ? `did you mean --config ${extra}?` : max === 0 ? `${spec.name} takes options only` : ''
    throw usageError(`unexpected argument "${extra}"${hint === '' ? '' : ` (${hint})`}`, usage)
  }
  if (n < min) throw usageError(`${spec.name}: missing ${spec.positionals.names?.[n] ?? 'argument'}`, usage)
  return parsed
}

/** A string option's value, if given. */
export function str (p: Parsed, name: string): string | undefined {
  const v = p.values[name]
  return typeof v === 'string' ? v : undefined
}

/** A boolean option's value. */
export function flag (p: Parsed, name: string): boolean {
  return p.values[name] === true
}
