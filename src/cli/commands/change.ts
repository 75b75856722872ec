/**
 * `weights`, `flip` and `rollback`: the routing writes (PUT /weights, POST /flip, POST
 * /rollback), each with --reason, --if-match, --wait and --force.
 */
import { CLIENT_OPTIONS, str, type CommandSpec } from '../args.js'
import { clientFor, wantsJson, type Command } from '../context.js'
import { usageError } from '../exit.js'
import { parseAssignments, parseDuration } from '../values.js'
import { routingWrite, writeOptions, writeSettings } from '../write.js'

const ROLLOUT_FORCE = 'if a rollout is active, abort it first (else 409 SWY_ERR_ROLLOUT_ACTIVE)'

const drainOption = { name: 'drain', type: 'string', value: 'DURATION', description: 'sticky clients of a color that drops to 0 stay up to DURATION while it is healthy (default: move now)' } as const

function switchPolicy (drain: string | undefined): Record<string, unknown> {
  if (drain === undefined) return {}
  const d = parseDuration(drain, '--drain')
  if (!d.ok) throw usageError(d.message)
  return { switchPolicy: { mode: 'drain', drainSeconds: Math.round(d.value / 1000) } }
}

const weightsSpec: CommandSpec = {
  name: 'weights',
  summary: 'set the traffic split: a percent per color, summing to 100',
  usage: ['weights COLOR=PERCENT... [--reason TEXT] [--if-match N] [--wait[=MS]] [--force] [--drain DURATION]'],
  options: [...writeOptions(ROLLOUT_FORCE), drainOption, ...CLIENT_OPTIONS],
  positionals: { min: 1, max: 16, names: ['COLOR=PERCENT (e.g. blue=90 green=10)'] },
  examples: ['weights blue=90 green=10 --reason "canary 10%"', 'weights blue=0 green=100 --wait --if-match 7']
}

const flipSpec: CommandSpec = {
  name: 'flip',
  summary: 'send all traffic to one color (refused if it has no healthy target, unless --force)',
  usage: ['flip COLOR [--reason TEXT] [--if-match N] [--wait[=MS]] [--force] [--drain DURATION]'],
  options: [...writeOptions('flip even if the color has no healthy target, and abort an active rollout first'), drainOption, ...CLIENT_OPTIONS],
  positionals: { min: 1, max: 1, names: ['COLOR'] },
  examples: ['flip green --reason "release 2.4" --wait', 'flip blue --drain 5m']
}

const rollbackSpec: CommandSpec = {
  name: 'rollback',
  summary: 'restore the weights before the last change (immediately)',
  usage: ['rollback [--reason TEXT] [--if-match N] [--wait[=MS]] [--force]'],
  options: [...writeOptions(ROLLOUT_FORCE), ...CLIENT_OPTIONS],
  positionals: { min: 0, max: 0 },
  examples: ['rollback --reason "5xx on green"', 'rollback --wait=10s --json']
}

/** `switchyard weights blue=90 green=10`. */
export const weights: Command = {
  spec: weightsSpec,
  run: async (p, ctx) => {
    const w = parseAssignments(p.positionals)
    if (!w.ok) throw usageError(w.message)
    const s = writeSettings(p)
    const body = { weights: w.value, ...switchPolicy(str(p, 'drain')), ...(s.reason === undefined ? {} : { reason: s.reason }), ...(s.force ? { force: true } : {}) }
    return await routingWrite(clientFor(p, ctx), ctx, wantsJson(p), 'PUT', '/weights', body, s)
  }
}

/** `switchyard flip green`. */
export const flip: Command = {
  spec: flipSpec,
  run: async (p, ctx) => {
    const s = writeSettings(p)
    const body = { to: p.positionals[0], ...switchPolicy(str(p, 'drain')), ...(s.reason === undefined ? {} : { reason: s.reason }), ...(s.force ? { force: true } : {}) }
    return await routingWrite(clientFor(p, ctx), ctx, wantsJson(p), 'POST', '/flip', body, s)
  }
}

/** `switchyard rollback`. */
export const rollback: Command = {
  spec: rollbackSpec,
  run: async (p, ctx) => {
    const s = writeSettings(p)
    const body = { ...(s.reason === undefined ? {} : { reason: s.reason }), ...(s.force ? { force: true } : {}) }
    return await routingWrite(clientFor(p, ctx), ctx, wantsJson(p), 'POST', '/rollback', body, s)
  }
}
