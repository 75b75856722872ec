/**
 * `targets add COLOR URL` (POST /targets/:color) and `targets remove COLOR TARGET` (DELETE
 * /targets/:color/:target): change a color's pool, a versioned write shared by every
 * instance. `remove --wait` asks the server to wait until every instance applied the removal
 * and the target has no request in flight (exit 4 if the wait ran out first).
 */
import { CLIENT_OPTIONS, flag, str, type CommandSpec } from '../args.js'
import { clientFor, jsonText, wantsJson, type Command } from '../context.js'
import { EXIT, usageError } from '../exit.js'
import { targetsTable } from '../state-render.js'
import { asRecord, listOf, type TargetBody } from '../views.js'
import { DEFAULT_WAIT_MS, waitOption, writeHeaders, writeSettings } from '../write.js'

/** The longest ?wait the server takes. */
const SERVER_WAIT_MAX_MS = 60_000

const IF_MATCH = { name: 'if-match', type: 'string', value: 'N', description: 'only if the state is still at version N (else 412 SWY_ERR_STATE_VERSION_CONFLICT, exit 1)' } as const
const REASON = { name: 'reason', type: 'string', value: 'TEXT', description: 'why, recorded in the history and the audit log (required for add)' } as const

function waitQuery (ms: number | undefined): string {
  return ms === undefined ? '' : `?wait=${Math.min(SERVER_WAIT_MAX_MS, Math.max(0, Math.round(ms)))}`
}

/** `switchyard targets add COLOR URL`. */
export const add: Command = {
  spec: {
    name: 'targets add',
    summary: "add a target to a color's pool, on every instance (a versioned write)",
    usage: ['targets add COLOR URL --reason TEXT [--id ID] [--disabled] [--wait[=MS]] [--force]'],
    options: [
      REASON,
      { name: 'id', type: 'string', value: 'ID', description: 'its id (default COLOR-HOST:PORT, e.g. blue-10.0.0.21:3000)' },
      { name: 'disabled', type: 'boolean', description: 'add it without traffic (enable it later with switchyard enable)' },
      { name: 'force', type: 'boolean', description: 'add it even while an instance of an older release is live (else 409 SWY_ERR_FLEET_MIXED: a state that instance writes would drop the pool)' },
      IF_MATCH,
      { name: 'wait', type: 'string', value: 'MS', bare: String(DEFAULT_WAIT_MS), description: `wait until every live instance has it (default ${DEFAULT_WAIT_MS / 1000}s, at most 60s); exit 4 if some lag` },
      ...CLIENT_OPTIONS
    ],
    positionals: { min: 2, max: 2, names: ['COLOR', 'URL (http(s)://host:port)'] },
    notes: ['The config\'s targets are only the initial pool: once the store holds a pool, it wins (a start with a differing config warns).'],
    examples: ['targets add blue http://10.0.0.21:3000 --reason "rolling upgrade: v2 instance 1" --wait', 'targets add green http://10.0.1.9:3000 --id green-9 --disabled --reason standby']
  } satisfies CommandSpec,
  run: async (p, ctx) => {
    const [color = '', url = ''] = p.positionals
    const reason = str(p, 'reason')
    if (reason === undefined || reason === '') throw usageError('targets add: --reason TEXT is required (it is recorded in the history)')
    const s = writeSettings(p)
    const id = str(p, 'id')
    const body = { url, reason, ...(id === undefined ? {} : { id }), ...(flag(p, 'disabled') ? { mode: 'disabled' } : {}), ...(flag(p, 'force') ? { force: true } : {}) }
    const a = await clientFor(p, ctx).call({ method: 'POST', path: `/targets/${encodeURIComponent(color)}${waitQuery(s.waitMs)}`, body, headers: writeHeaders(s), ...(s.waitMs === undefined ? {} : { waitMs: s.waitMs }) })
    const target = asRecord(asRecord(a.json).target)
    if (wantsJson(p)) ctx.out(jsonText(a.json))
    else ctx.out(`${color}/${String(target.id)} added: ${String(target.url)} ${String(target.mode)} (state v${String(asRecord(a.json).version)})\n`)
    if (a.status === 202) {
      if (!wantsJson(p)) ctx.err('--wait ran out before every instance applied it (see switchyard instances)\n')
      return EXIT.waitTimedOut
    }
    return EXIT.ok
  }
}

/** `switchyard targets remove COLOR TARGET`. */
export const remove: Command = {
  spec: {
    name: 'targets remove',
    summary: "remove a target from a color's pool: no new requests, those in flight finish, then it is gone, on every instance",
    usage: ['targets remove COLOR TARGET [--reason TEXT] [--wait[=MS]] [--force]'],
    options: [
      REASON,
      IF_MATCH,
      { name: 'wait', type: 'string', value: 'MS', bare: String(DEFAULT_WAIT_MS), description: `wait until every live instance applied it and TARGET has no request in flight (default ${DEFAULT_WAIT_MS / 1000}s, at most 60s); exit 4 if not in time` },
      { name: 'force', type: 'boolean', description: 'remove it even if it is the last usable target of a color that has traffic, or while an instance of an older release is live' },
      ...CLIENT_OPTIONS
    ],
    positionals: { min: 2, max: 2, names: ['COLOR', 'TARGET (its id or URL; see switchyard targets)'] },
    notes: ['Without --force, the last usable target of a color with weight > 0 is refused (409 SWY_ERR_TARGET_LAST_USABLE, exit 1), and so is any removal while an instance of an older switchyard release is live (409 SWY_ERR_FLEET_MIXED: a state it writes would drop the pool).'],
    examples: ['targets remove blue 10.0.0.11:3000 --wait=2m --reason "rolling upgrade: v1 instance 1 out"']
  } satisfies CommandSpec,
  run: async (p, ctx) => {
    const [color = '', target = ''] = p.positionals
    const waitMs = waitOption(p)
    const s = writeSettings(p)
    const reason = str(p, 'reason')
    const body = { ...(reason === undefined ? {} : { reason }), ...(s.force ? { force: true } : {}) }
    const client = clientFor(p, ctx)
    const a = await client.call({ method: 'DELETE', path: `/targets/${encodeURIComponent(color)}/${encodeURIComponent(target)}${waitQuery(waitMs)}`, body, headers: writeHeaders(s), ...(waitMs === undefined ? {} : { waitMs }) })
    const t = asRecord(asRecord(a.json).target)
    if (wantsJson(p)) ctx.out(jsonText(a.json))
    else {
      ctx.out(`${color}/${String(t.id)} removed (state v${String(asRecord(a.json).version)})${waitMs === undefined ? '' : t.drained === true ? ': drained' : `: ${String(t.inFlight)} request(s) still in flight`}\n`)
      const now = await client.call({ method: 'GET', path: '/targets' })
      ctx.out(targetsTable(listOf<TargetBody>(now.json, 'targets').filter((x) => x.color === color), ctx.style, '  '))
    }
    return a.status === 202 ? EXIT.waitTimedOut : EXIT.ok
  }
}
