/**
 * `switchyard reload`: POST /reload, the config file re-read by the running instance (as
 * SIGHUP does, but from any machine that reaches the admin API, with a write token). Prints
 * the settings that changed; a refused file exits 1 with every problem listed.
 */
import { CLIENT_OPTIONS, str, type CommandSpec } from '../args.js'
import { clientFor, jsonText, wantsJson, type Command } from '../context.js'
import { EXIT } from '../exit.js'
import { asRecord } from '../views.js'

/** `switchyard reload [--reason TEXT]`. */
export const reload: Command = {
  spec: {
    name: 'reload',
    summary: 'make the instance re-read its config file (tokens, health, upstream, discovery, log level change live)',
    usage: ['reload [--reason TEXT]'],
    options: [
      { name: 'reason', type: 'string', value: 'TEXT', description: 'why, recorded in the reload\'s log line' },
      ...CLIENT_OPTIONS
    ],
    positionals: { min: 0, max: 0 },
    notes: ['A file with any problem, or one changing a setting that needs a restart (listen addresses, store, colors, targets, …), is refused whole: exit 1 with every problem listed; the running config stays.'],
    examples: ['reload --reason "rotate the deploy token"', 'reload --json']
  } satisfies CommandSpec,
  run: async (p, ctx) => {
    const reason = str(p, 'reason')
    const a = await clientFor(p, ctx).call({ method: 'POST', path: '/reload', body: reason === undefined ? {} : { reason } })
    if (wantsJson(p)) {
      ctx.out(jsonText(a.json))
      return EXIT.ok
    }
    const body = asRecord(a.json)
    const changed = Array.isArray(body.changed) ? body.changed.map(String) : []
    ctx.out(body.reloaded === true ? `reloaded: ${changed.join(', ')}\n` : 'reloaded: nothing changed\n')
    return EXIT.ok
  }
}
