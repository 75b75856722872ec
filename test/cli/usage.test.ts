/**
 * Usage of the `switchyard` binary: --version, --help and COMMAND --help, and every usage
 * mistake answered with one line plus the command's usage and exit 2, never a stack trace.
 * The help of every command is checked in-process (its declaration is the parser's too); the
 * binary itself is run as a child for the paths a user hits.
 */
import { readFile } from 'node:fs/promises'
import t from 'tap'
import { commandHelp, parseCommand, type CommandSpec } from '../../src/cli/args.js'
import { CliError } from '../../src/cli/exit.js'
import { COMMANDS } from '../../src/cli/registry.js'
import { runCli } from '../helpers/process.js'

t.setTimeout(10 * 60_000)

const STACK = /\n\s+at /

async function specs (): Promise<CommandSpec[]> {
  return await Promise.all(COMMANDS.map(async (c) => (await c.load()).spec))
}

function usageErrorOf (spec: CommandSpec, args: string[]): CliError {
  try {
    parseCommand(spec, args)
  } catch (e) {
    if (e instanceof CliError) return e
    throw e
  }
  throw new Error(`${spec.name} ${args.join(' ')} parsed`)
}

t.test('--version prints the version in package.json', async (t) => {
  const pkg = JSON.parse(await readFile('package.json', 'utf8')) as { version: string }
  for (const flag of ['--version', '-v', 'version']) {
    const r = await runCli(t, [flag])
    t.equal(r.code, 0)
    t.equal(r.stdout, `${pkg.version}\n`, flag)
  }
})

t.test('--help lists every command, where to talk to, and the exit codes', async (t) => {
  const r = await runCli(t, ['--help'])
  t.equal(r.code, 0, r.stderr)
  for (const c of COMMANDS) t.match(r.stdout, new RegExp(`\\n  ${c.name}\\s+\\S`), `lists ${c.name}`)
  for (const code of ['0  done', '1  refused by the server', '2  usage error', '3  the admin API is unreachable or answered 5xx', '4  --wait timed out']) t.match(r.stdout, code)
  t.match(r.stdout, /SWITCHYARD_ADMIN_URL/)
  t.match(r.stdout, /SWITCHYARD_TOKEN/)
  t.match(r.stdout, /NO_COLOR/)
  const bare = await runCli(t, [])
  t.equal(bare.stdout, r.stdout, 'no command prints the same help')
})

t.test('every command\'s help lists each of its options and at least one example', async (t) => {
  for (const spec of await specs()) {
    const help = commandHelp(spec)
    t.match(help, `switchyard ${spec.usage[0] ?? ''}`, `${spec.name}: usage`)
    for (const o of spec.options) t.match(help, new RegExp(`--${o.name}\\b.*\\S`), `${spec.name}: --${o.name}`)
    t.match(help, new RegExp(`examples:\\n  switchyard ${spec.name}(\\n| )`), `${spec.name}: an example`)
    const parsed = parseCommand(spec, ['--help'])
    t.equal(parsed.values.help, true, `${spec.name} --help parses`)
  }
})

t.test('COMMAND --help and help COMMAND print the command\'s help', async (t) => {
  for (const args of [['flip', '--help'], ['help', 'flip'], ['rollout', 'start', '-h'], ['serve', '--help']]) {
    const r = await runCli(t, args)
    t.equal(r.code, 0, `${args.join(' ')} (${r.stderr})`)
    t.match(r.stdout, /^usage:\n {2}switchyard /, args.join(' '))
    t.match(r.stdout, /\nexamples:\n/)
  }
  const start = await runCli(t, ['rollout', 'start', '--help'])
  for (const o of ['--to', '--steps', '--pause', '--approval-at', '--interval', '--max-error-delta', '--max-latency-ratio', '--min-requests', '--latency-quantile', '--failure-limit', '--watch']) t.match(start.stdout, o)
})

t.test('usage mistakes: one line, the command\'s usage, exit 2, no stack trace', async (t) => {
  const cases: Array<[string[], RegExp]> = [
    [['serve', '--conifg', 'x'], /^switchyard: unknown option --conifg \(did you mean --config\?\)\nusage:\n {2}switchyard serve /],
    [['check', 'file.yaml'], /^switchyard: unexpected argument "file\.yaml" \(did you mean --config file\.yaml\?\)\nusage:\n {2}switchyard check /],
    [['status', 'now'], /^switchyard: unexpected argument "now" \(status takes options only\)\nusage:\n {2}switchyard status /],
    [['flip', 'green', 'blue'], /^switchyard: unexpected argument "blue"\nusage:\n {2}switchyard flip /],
    [['flip'], /^switchyard: flip: missing COLOR\nusage:\n {2}switchyard flip /],
    [['frobnicate'], /^switchyard: unknown command "frobnicate"\ncommands: serve, /],
    [['rollout', 'frob'], /^switchyard: rollout: unknown subcommand "frob" \(start, status, pause, resume, approve, promote, abort\)\n/],
    [['weights', 'blue=ninety'], /^switchyard: "blue=ninety" is not COLOR=PERCENT \(e\.g\. blue=90\)\nusage:\n {2}switchyard weights /],
    [['status', '--token', 'secret'], /^switchyard: unknown option --token: pass the token in \$SWITCHYARD_TOKEN or --token-file FILE/],
    [['rollout', 'start', '--to', 'green', '--steps', '5,25,50,100', '--pause', 'soon'], /^switchyard: --pause must be a duration such as 90s, 5m, 1h or plain seconds, not "soon"\nusage:\n {2}switchyard rollout start /]
  ]
  for (const [args, expected] of cases) {
    const r = await runCli(t, args, { SWITCHYARD_ADMIN_URL: 'http://127.0.0.1:1' })
    t.equal(r.code, 2, `${args.join(' ')} exits 2`)
    t.match(r.stderr, expected, `${args.join(' ')}: ${r.stderr}`)
    t.notMatch(r.stderr, STACK, `${args.join(' ')}: no stack trace`)
    t.equal(r.stdout, '', `${args.join(' ')}: nothing on stdout`)
  }
})

t.test('the parser: bare --wait, --wait=value, values, positionals', async (t) => {
  const weights = (await COMMANDS.find((c) => c.name === 'weights')?.load())?.spec
  if (weights === undefined) throw new Error('no weights command')
  t.strictSame(parseCommand(weights, ['blue=90', 'green=10', '--wait']).values.wait, '30000', 'a bare --wait waits the default')
  t.strictSame(parseCommand(weights, ['--wait=5s', 'blue=90', 'green=10']).positionals, ['blue=90', 'green=10'], 'a bare or attached --wait never takes a positional')
  t.equal(parseCommand(weights, ['blue=90', 'green=10', '--wait=5s']).values.wait, '5s')
  t.match(usageErrorOf(weights, ['blue=90', '--wait', '5000']).message, '--wait takes its value after "=": --wait=5000')
  t.match(usageErrorOf(weights, ['--reason']).message, 'option --reason needs a value')
  t.match(usageErrorOf(weights, ['--json=yes', 'blue=1']).message, 'option --json takes no value')
  t.match(usageErrorOf(weights, []).message, 'weights: missing COLOR=PERCENT')
  t.match(usageErrorOf(weights, ['--forse']).message, 'unknown option --forse (did you mean --force?)')
  t.equal(usageErrorOf(weights, ['--forse']).exitCode, 2)
})
