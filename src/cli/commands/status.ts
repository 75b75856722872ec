/**
 * `switchyard status`: the state at a glance, from GET /state, /targets and /rollout in
 * parallel: weights as bars, the version and how many instances applied it, the targets
 * with mode and health, the active rollout, and the last change.
 */
import { CLIENT_OPTIONS, type CommandSpec } from '../args.js'
import { refusal, type AdminClient, type Answer } from '../client.js'
import { clientFor, jsonText, wantsJson, type Command } from '../context.js'
import { EXIT } from '../exit.js'
import { rolloutLine, rolloutOf } from '../rollout-view.js'
import { appliedLine, changeLine, targetsTable, weightBars } from '../state-render.js'
import { listOf, type StateBody, type TargetBody } from '../views.js'

const spec: CommandSpec = {
  name: 'status',
  summary: 'weights, state version, instances, targets, the active rollout and the last change',
  usage: ['status [--admin URL] [--json]'],
  options: CLIENT_OPTIONS,
  positionals: { min: 0, max: 0 },
  examples: ['status', 'status --admin http://10.0.0.5:9090 --token-file ~/.switchyard-token', 'status --json | jq .state.weights']
}

/** GET /rollout, or null when there is none (404), or when this server has no rollout API. */
async function rolloutAnswer (client: AdminClient): Promise<unknown> {
  const call = { method: 'GET', path: '/rollout' } as const
  const a: Answer = await client.send(call)
  if (a.status === 200) return a.json
  if (a.status === 404) return null
  throw refusal(call, a)
}

/** `switchyard status`. */
export const status: Command = {
  spec,
  run: async (p, ctx) => {
    const client = clientFor(p, ctx)
    const [stateA, targetsA, rolloutJson] = await Promise.all([
      client.call({ method: 'GET', path: '/state' }),
      client.call({ method: 'GET', path: '/targets' }),
      rolloutAnswer(client)
    ])
    if (wantsJson(p)) {
      ctx.out(jsonText({ state: stateA.json, targets: targetsA.json, rollout: rolloutJson === null ? null : (rolloutJson as { rollout?: unknown }).rollout ?? null }))
      return EXIT.ok
    }
    const state = stateA.json as StateBody
    const st = ctx.style
    const lines: string[] = []
    lines.push(`${st.bold('switchyard')} ${client.base}  ${st.bold(`state v${state.version}`)}  ${appliedLine(state, st)}${state.store === undefined ? '' : st.dim(`  store ${state.store}`)}`)
    lines.push('', st.bold('weights'), weightBars(state, st).trimEnd())
    lines.push('', st.bold('targets'), targetsTable(listOf<TargetBody>(targetsA.json, 'targets'), st, '  ').trimEnd())
    const r = rolloutOf(rolloutJson)
    lines.push('', `${st.bold('rollout'.padEnd(12))} ${r === undefined ? 'none' : `${r.active ? '' : st.dim('(ended) ')}${rolloutLine(r, st)}`}`)
    lines.push(`${st.bold('last change'.padEnd(12))} ${changeLine(state)}`)
    ctx.out(`${lines.join('\n')}\n`)
    return EXIT.ok
  }
}
