/**
 * `drain|enable|disable COLOR TARGET`: POST /targets/:color/:target/:action. With --wait
 * (drain and disable), polls GET /targets and shows the target's requests in flight over
 * every live instance going down until none are left (exit 0) or the wait runs out (exit 4).
 */
import { CLIENT_OPTIONS, str, type CommandSpec, type Parsed } from '../args.js'
import type { AdminClient } from '../client.js'
import { clientFor, jsonText, wantsJson, type Command, type Context } from '../context.js'
import { CliError, EXIT, type ExitCode } from '../exit.js'
import { rewind, rowsOf } from '../render.js'
import { targetsTable } from '../state-render.js'
import { formatDuration } from '../values.js'
import { asRecord, listOf, type TargetBody } from '../views.js'
import { DEFAULT_WAIT_MS, waitOption } from '../write.js'

type Action = 'drain' | 'enable' | 'disable'

const POLL_MS = 250

const SUMMARY: Readonly<Record<Action, string>> = {
  drain: 'stop sending new clients to a target; sticky clients and requests in flight finish',
  enable: 'put a drained or disabled target back in rotation',
  disable: 'send nothing more to a target (requests in flight finish)'
}

function spec (action: Action): CommandSpec {
  const waits = action !== 'enable'
  return {
    name: action,
    summary: SUMMARY[action],
    usage: [`${action} COLOR TARGET [--reason TEXT]${waits ? ' [--wait[=MS]]' : ''}`],
    options: [
      { name: 'reason', type: 'string', value: 'TEXT', description: 'why, recorded in the history and the audit log' },
      ...(waits ? [{ name: 'wait', type: 'string', value: 'MS', bare: String(DEFAULT_WAIT_MS), description: `show the requests in flight to TARGET going down until none are left (default ${DEFAULT_WAIT_MS / 1000}s; exit 4 if some remain)` } as const] : []),
      ...CLIENT_OPTIONS
    ],
    positionals: { min: 2, max: 2, names: ['COLOR', 'TARGET (its id or URL; see switchyard targets)'] },
    notes: ['TARGET is the id GET /targets shows (e.g. blue-1) or the target\'s URL.', ...(waits ? ['--wait counts the requests in flight on every live instance (GET /targets inFlightAll; only the instance behind --admin with a server that does not report it).'] : [])],
    examples: [`${action} blue blue-1${waits ? ' --wait=2m' : ''} --reason "kernel upgrade"`, `${action} green http://10.0.0.7:8080`]
  }
}

async function waitDrained (client: AdminClient, ctx: Context, color: string, id: string, waitMs: number, quiet: boolean): Promise<ExitCode> {
  const deadline = Date.now() + waitMs
  let drawn = 0
  let shown = ''
  for (;;) {
    const a = await client.call({ method: 'GET', path: '/targets' })
    const t = listOf<TargetBody>(a.json, 'targets').find((x) => x.color === color && x.id === id)
    // Over every live instance (inFlightAll); a server before multi-instance drains has only its own count.
    const inFlight = t?.inFlightAll ?? t?.inFlight ?? 0
    const left = deadline - Date.now()
    if (inFlight === 0) {
      if (!quiet) ctx.out(rewind(drawn) + ctx.style.green(`${color}/${id}: no requests in flight`) + '\n')
      return EXIT.ok
    }
    const line = `${color}/${id}: ${inFlight} request${inFlight === 1 ? '' : 's'} in flight${ctx.tty ? ` (${formatDuration(left / 1000)} left)` : ''}\n`
    if (quiet) { /* --json: only the exit code says */ } else if (ctx.tty) { ctx.out(rewind(drawn) + ctx.style.yellow(line)); drawn = rowsOf(line, ctx.columns) } else if (line !== shown) { ctx.out(line); shown = line }
    if (left <= 0) throw new CliError(EXIT.waitTimedOut, `--wait timed out: ${color}/${id} still has ${inFlight} request${inFlight === 1 ? '' : 's'} in flight`)
    await ctx.sleep(Math.min(POLL_MS, left))
  }
}

function command (action: Action): Command {
  return {
    spec: spec(action),
    run: async (p: Parsed, ctx) => {
      const [color = '', target = ''] = p.positionals
      const waitMs = waitOption(p)
      const reason = str(p, 'reason')
      const client = clientFor(p, ctx)
      const a = await client.call({
        method: 'POST',
        path: `/targets/${encodeURIComponent(color)}/${encodeURIComponent(target)}/${action}`,
        body: reason === undefined ? {} : { reason }
      })
      const id = String(asRecord(asRecord(a.json).target).id ?? target)
      if (wantsJson(p)) ctx.out(jsonText(a.json))
      else {
        const now = await client.call({ method: 'GET', path: '/targets' })
        const row = listOf<TargetBody>(now.json, 'targets').filter((t) => t.color === color && t.id === id)
        ctx.out(`${color}/${id} ${action === 'drain' ? 'draining' : action === 'enable' ? 'enabled' : 'disabled'} (state v${String(asRecord(a.json).version)})\n${targetsTable(row, ctx.style, '  ')}`)
      }
      if (waitMs === undefined) return EXIT.ok
      return await waitDrained(client, ctx, color, id, waitMs, wantsJson(p))
    }
  }
}

/** `switchyard drain COLOR TARGET`. */
export const drain = command('drain')
/** `switchyard enable COLOR TARGET`. */
export const enable = command('enable')
/** `switchyard disable COLOR TARGET`. */
export const disable = command('disable')
