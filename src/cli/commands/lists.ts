/**
 * The read-only listings: `history [--limit N]` (GET /history), `instances` (GET
 * /instances) and `targets` (GET /targets), as tables or the server's JSON.
 */
import { CLIENT_OPTIONS, str, type CommandSpec } from '../args.js'
import { clientFor, jsonText, wantsJson, type Command, type Context } from '../context.js'
import { EXIT, usageError, type ExitCode } from '../exit.js'
import { historyTable, instancesTable, targetsTable } from '../state-render.js'
import { parseNumber } from '../values.js'
import { asRecord, listOf, type HistoryBody, type InstanceBody, type TargetBody } from '../views.js'
import type { Parsed } from '../args.js'

async function list (p: Parsed, ctx: Context, path: string, render: (json: unknown) => string): Promise<ExitCode> {
  const a = await clientFor(p, ctx).call({ method: 'GET', path })
  ctx.out(wantsJson(p) ? jsonText(a.json) : render(a.json))
  return EXIT.ok
}

/** `switchyard history [--limit N]`. */
export const history: Command = {
  spec: {
    name: 'history',
    summary: 'the last changes, newest first: version, kind, who, when, weights, why',
    usage: ['history [--limit N]'],
    options: [{ name: 'limit', type: 'string', value: 'N', description: 'how many entries (1..1000, default 50)' }, ...CLIENT_OPTIONS],
    positionals: { min: 0, max: 0 },
    examples: ['history --limit 10', 'history --json | jq ".entries[0]"']
  } satisfies CommandSpec,
  run: async (p, ctx) => {
    const text = str(p, 'limit')
    let query = ''
    if (text !== undefined) {
      const n = parseNumber(text, '--limit', 1, 1000, true)
      if (!n.ok) throw usageError(n.message)
      query = `?limit=${n.value}`
    }
    return await list(p, ctx, `/history${query}`, (j) => historyTable(listOf<HistoryBody>(j, 'entries'), ctx.style))
  }
}

/** `switchyard instances`. */
export const instances: Command = {
  spec: {
    name: 'instances',
    summary: 'the live switchyard instances and the state version each routes by',
    usage: ['instances'],
    options: CLIENT_OPTIONS,
    positionals: { min: 0, max: 0 },
    examples: ['instances', 'instances --json']
  },
  run: async (p, ctx) => await list(p, ctx, '/instances', (j) => {
    const version = asRecord(j).version
    return instancesTable(listOf<InstanceBody>(j, 'instances'), typeof version === 'number' ? version : 0, ctx.style)
  })
}

/** `switchyard targets`. */
export const targets: Command = {
  spec: {
    name: 'targets',
    summary: "every color's targets with mode (enabled, draining, disabled), health and requests in flight",
    usage: ['targets'],
    options: CLIENT_OPTIONS,
    positionals: { min: 0, max: 0 },
    examples: ['targets', 'targets --json | jq ".targets[] | select(.health != \\"healthy\\")"']
  },
  run: async (p, ctx) => await list(p, ctx, '/targets', (j) => targetsTable(listOf<TargetBody>(j, 'targets'), ctx.style))
}
