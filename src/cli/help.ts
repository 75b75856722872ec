/**
 * `switchyard --help`: every command with its one-line summary, where the CLI talks to and
 * with which token, the output modes, and the exit codes.
 */
import { DEFAULT_ADMIN_URL } from './client.js'
import { COMMANDS, type Entry } from './registry.js'

const GROUPS: ReadonlyArray<readonly [Entry['group'], string]> = [
  ['server', 'run switchyard'],
  ['admin', 'operate a running switchyard (its admin API)'],
  ['rollout', 'progressive rollouts']
]

/** The global help text (loads every command's declaration for its summary). */
export async function globalHelp (version: string): Promise<string> {
  const specs = await Promise.all(COMMANDS.map(async (c) => ({ c, spec: (await c.load()).spec })))
  const width = Math.max(...COMMANDS.map((c) => c.name.length))
  const lines = [`switchyard ${version}: a reverse proxy that switches traffic between colors (blue/green, canary, rollouts)`, '',
    'usage: switchyard COMMAND [options]     switchyard COMMAND --help   (every option, with examples)']
  for (const [group, title] of GROUPS) {
    lines.push('', `${title}:`)
    for (const { c, spec } of specs) if (c.group === group) lines.push(`  ${c.name.padEnd(width)}  ${spec.summary}`)
  }
  lines.push('',
    'where the admin commands talk to:',
    `  --admin URL         or $SWITCHYARD_ADMIN_URL (default ${DEFAULT_ADMIN_URL})`,
    '  --token-file FILE   or $SWITCHYARD_TOKEN: the bearer token (never as a flag value: it would show in ps)',
    '',
    'output:',
    '  tables by default (colors only on a terminal; NO_COLOR=1 turns them off); --json prints the server\'s JSON.',
    '  errors are one line on stderr: switchyard: CODE: message',
    '',
    'exit codes:',
    '  0  done',
    '  1  refused by the server (a 4xx: bad request, conflict, no token, ...), or a watched rollout failed',
    '  2  usage error (unknown command or option, missing or bad argument)',
    '  3  the admin API is unreachable or answered 5xx',
    '  4  --wait timed out: the change is committed, but some instances have not applied it yet',
    '',
    'examples:',
    '  switchyard status',
    '  switchyard weights blue=90 green=10 --reason "canary" --wait',
    '  switchyard rollout start --to green --steps 5,25,50,100 --pause 5m --approval-at 50',
    '  switchyard rollout status --watch',
    '  switchyard rollback --reason "5xx on green"',
    '',
    'switchyard --version prints the version.')
  return `${lines.join('\n')}\n`
}
