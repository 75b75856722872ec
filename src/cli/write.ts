/**
 * A routing write (weights, flip, rollback) with the options they share: `--reason`,
 * `--if-match N` (sent as If-Match: "N"), `--force`, and `--wait[=MS]`. With --wait the
 * server is asked to wait a moment (`?wait`), then, while some instances lag, the CLI polls
 * GET /instances and shows who is still behind, until all have applied the new version
 * (exit 0) or the wait runs out (exit 4, naming the laggards).
 */
import { flag, str, type OptionSpec, type Parsed } from './args.js'
import type { AdminClient, Answer } from './client.js'
import { jsonText, type Context } from './context.js'
import { CliError, EXIT, usageError, type ExitCode } from './exit.js'
import { rewind, rowsOf } from './render.js'
import { changeLine, laggingText, weightBars } from './state-render.js'
import { parseDuration, parseNumber, formatDuration } from './values.js'
import { listOf, type InstanceBody, type StateBody } from './views.js'

/** How long `--wait` alone waits. */
export const DEFAULT_WAIT_MS = 30_000
/** The longest `?wait` the server takes; longer waits go on by polling. */
const SERVER_WAIT_MAX_MS = 60_000
/** How long the server is asked to wait before the CLI starts showing who lags. */
const FIRST_WAIT_MS = 1000
const POLL_MS = 500

/** `--reason`, `--if-match`, `--wait` (with `--force` described per command). */
export function writeOptions (force: string): OptionSpec[] {
  return [
    { name: 'reason', type: 'string', value: 'TEXT', description: 'why, recorded in the history and the audit log' },
    { name: 'if-match', type: 'string', value: 'N', description: 'only if the state is still at version N (else 412 SWY_ERR_STATE_VERSION_CONFLICT, exit 1)' },
    { name: 'wait', type: 'string', value: 'MS', bare: String(DEFAULT_WAIT_MS), description: `wait until every live instance applied the change (default ${DEFAULT_WAIT_MS / 1000}s; MS or 10s, 2m); exit 4 if some still lag` },
    { name: 'force', type: 'boolean', description: force }
  ]
}

/** What the shared write options say. */
export interface WriteSettings {
  readonly reason: string | undefined
  readonly ifMatch: number | undefined
  readonly waitMs: number | undefined
  readonly force: boolean
}

/** Reads the shared write options (usage errors for a bad --if-match or --wait). */
export function writeSettings (p: Parsed): WriteSettings {
  const ifMatchText = str(p, 'if-match')
  let ifMatch: number | undefined
  if (ifMatchText !== undefined) {
    const n = parseNumber(ifMatchText.replace(/^W\//, '').replace(/"/g, ''), '--if-match', 1, Number.MAX_SAFE_INTEGER, true)
    if (!n.ok) throw usageError(n.message)
    ifMatch = n.value
  }
  return { reason: str(p, 'reason'), ifMatch, waitMs: waitOption(p), force: flag(p, 'force') }
}

/** `--wait[=MS]` in milliseconds, or undefined when not given (a usage error when malformed). */
export function waitOption (p: Parsed): number | undefined {
  const waitText = str(p, 'wait')
  if (waitText === undefined) return undefined
  const d = parseDuration(waitText, '--wait', 'ms')
  if (!d.ok) throw usageError(d.message)
  return d.value
}

/** The headers of a write (If-Match). */
export function writeHeaders (s: WriteSettings): Record<string, string> {
  return s.ifMatch === undefined ? {} : { 'if-match': `"${s.ifMatch}"` }
}

function withWait (path: string, ms: number): string {
  return `${path}${path.includes('?') ? '&' : '?'}wait=${Math.min(SERVER_WAIT_MAX_MS, Math.max(0, Math.round(ms)))}`
}

/** Prints a state answer: the change line and the weights. */
export function printState (ctx: Context, state: StateBody): void {
  ctx.out(`${ctx.style.bold(changeLine(state))}\n${weightBars(state, ctx.style)}`)
}

/**
 * Sends a routing write and reports it: the server's JSON with --json, else the new state.
 * Honours --wait as described in the header. Returns the exit code.
 */
export async function routingWrite (client: AdminClient, ctx: Context, json: boolean, method: 'PUT' | 'POST', path: string, body: unknown, s: WriteSettings): Promise<ExitCode> {
  const headers = writeHeaders(s)
  if (s.waitMs === undefined) {
    const a = await client.call({ method, path, body, headers })
    if (json) ctx.out(jsonText(a.json))
    else printState(ctx, a.json as StateBody)
    return EXIT.ok
  }
  const started = Date.now()
  const deadline = started + s.waitMs
  if (json) {
    const a = await client.call({ method, path: withWait(path, s.waitMs), body, headers, waitMs: s.waitMs })
    ctx.out(jsonText(a.json))
    return a.status === 202 ? EXIT.waitTimedOut : EXIT.ok
  }
  const first = Math.min(s.waitMs, FIRST_WAIT_MS)
  const a: Answer = await client.call({ method, path: withWait(path, first), body, headers, waitMs: first })
  const state = a.json as StateBody
  printState(ctx, state)
  const p = state.propagation
  if (p === undefined) return EXIT.ok
  if (p.converged) {
    ctx.out(ctx.style.green(`applied on all ${p.applied.length} instance${p.applied.length === 1 ? '' : 's'}`) + `${p.slowestMs === null ? '' : ` (slowest ${Math.round(p.slowestMs)} ms)`}\n`)
    return EXIT.ok
  }
  return await waitForInstances(client, ctx, p.version, deadline, p.lagging)
}

/** Polls GET /instances until every live instance applied `version` or `deadline` passes. */
async function waitForInstances (client: AdminClient, ctx: Context, version: number, deadline: number, initial: readonly InstanceBody[]): Promise<ExitCode> {
  let lagging = initial
  let total = 0
  let shown = ''
  let drawn = 0
  for (;;) {
    const left = deadline - Date.now()
    const line = `waiting for v${version} on ${lagging.length} instance${lagging.length === 1 ? '' : 's'}: ${laggingText(lagging)}${ctx.tty ? ` (${formatDuration(left / 1000)} left)` : ''}\n`
    if (ctx.tty) { ctx.out(rewind(drawn) + ctx.style.yellow(line)); drawn = rowsOf(line, ctx.columns) } else if (line !== shown) { ctx.out(line); shown = line }
    if (left <= 0) throw new CliError(EXIT.waitTimedOut, `--wait timed out: v${version} is not applied on ${laggingText(lagging)}`)
    await ctx.sleep(Math.min(POLL_MS, left))
    const a = await client.call({ method: 'GET', path: '/instances' })
    const all = listOf<InstanceBody>(a.json, 'instances')
    total = all.length
    lagging = all.filter((i) => i.appliedVersion < version)
    if (lagging.length === 0) {
      ctx.out(rewind(drawn) + ctx.style.green(`applied on all ${total} instance${total === 1 ? '' : 's'}`) + '\n')
      return EXIT.ok
    }
  }
}
