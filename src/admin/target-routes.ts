/**
 * The pool routes: POST /targets/:color adds a target, DELETE /targets/:color/:target removes
 * one. Both are versioned writes of the routing state's pool (If-Match, history, audit line,
 * ?wait), so every instance's pool changes together; a removal retires the target on each
 * instance (no new requests; those in flight finish), and its ?wait also waits for the
 * target to have no request in flight, through the same wait as a drain.
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { defaultTargetId, findInPool, poolTargets, targetOrigin, type Pool } from '../routing/pool.js'
import { addTarget, removeTarget } from '../routing/routing-state.js'
import { weightOf } from '../routing/weights.js'
import type { ChangeSuccess, Switchboard, Transition } from '../state/switchboard.js'
import { sendError } from './admin-errors.js'
import { drainAnswer, type DrainOutcome } from './drain-wait.js'
import type { TargetAdmin } from './admin-server.js'
import { TARGET_ROUTE_SCHEMAS } from './target-schemas.js'

/** What the pool routes need from the admin server. */
export interface TargetRouteDeps {
  readonly switchboard: Switchboard
  readonly targets: TargetAdmin
  /** The config's targets (the pool of a state, or a color, whose pool names none). */
  readonly fallback: Pool
  /** Commits a change (If-Match, who, why); undefined when it failed (the error is answered). */
  commit (request: FastifyRequest, reply: FastifyReply, transition: Transition, reason: string | undefined): Promise<ChangeSuccess | undefined>
  /** The answer to a committed write, after ?wait's propagation wait. */
  propagated (reply: FastifyReply, done: ChangeSuccess, wait: string | undefined): Promise<{ body: Record<string, unknown>, converged: boolean }>
  /**
   * The live instances of a release before target pools (their heartbeats carry no in-flight
   * counts): a state such an instance writes drops the pool, so pool writes wait for them.
   */
  olderReleases (): Promise<readonly string[]>
  /** The drain route's wait (drain-wait.ts): until no live instance at `version` or newer has a request in flight to the target. */
  waitDrained (color: string, id: string, waitMs: number, version: number): Promise<DrainOutcome>
}

/** Registers the pool routes on the admin server (its auth hook applies to them). */
export function registerTargetRoutes (server: FastifyInstance, deps: TargetRouteDeps): void {
  const api = server.withTypeProvider<TypeBoxTypeProvider>()
  const { switchboard } = deps

  function noColor (reply: FastifyReply, color: string): FastifyReply {
    return sendError(reply, 'SWY_ERR_COLOR_NOT_FOUND', `no color "${color}"; configured colors are ${switchboard.state.colors.join(', ')}`)
  }

  /** Answers 409 SWY_ERR_FLEET_MIXED (and returns true) when an older release is live and the write is not forced. */
  async function mixedFleet (reply: FastifyReply, force: boolean): Promise<boolean> {
    if (force) return false
    // A store that cannot be read now: the commit that follows answers for it.
    const older = await deps.olderReleases().catch(() => [])
    if (older.length === 0) return false
    void sendError(reply, 'SWY_ERR_FLEET_MIXED', `live instance${older.length === 1 ? '' : 's'} ${older.join(', ')} run${older.length === 1 ? 's' : ''} a switchyard release without target pools: a state ${older.length === 1 ? 'it writes' : 'they write'} would drop the pool and every instance would route to the config's targets again. Upgrade ${older.length === 1 ? 'it' : 'them'} first, or send force`)
    return true
  }

  api.post('/targets/:color', { schema: TARGET_ROUTE_SCHEMAS['POST /targets/:color'] }, async (request, reply) => {
    const { color } = request.params
    const { url, mode = 'enabled', reason } = request.body
    if (!switchboard.state.colors.includes(color)) return noColor(reply, color)
    const origin = targetOrigin(url)
    if (!origin.ok) return sendError(reply, 'SWY_ERR_TARGET_INVALID_URL', `url: ${origin.error}`)
    const id = request.body.id ?? defaultTargetId(color, origin.value)
    const target = { id, url: origin.value }
    if (await mixedFleet(reply, request.body.force === true)) return reply
    const done = await deps.commit(request, reply, (s, m) => addTarget(s, deps.fallback, color, target, mode, m), reason)
    if (done === undefined) return reply
    const { body, converged } = await deps.propagated(reply, done, request.query.wait)
    if (converged) void reply.code(201)
    return { ...body, target: { color, ...target, mode } }
  })

  api.delete('/targets/:color/:target', { schema: TARGET_ROUTE_SCHEMAS['DELETE /targets/:color/:target'] }, async (request, reply) => {
    const started = Date.now()
    const { color, target } = request.params
    const state = switchboard.state
    if (!state.colors.includes(color)) return noColor(reply, color)
    const entry = findInPool(poolTargets(state.pool, deps.fallback, color), target)
    if (entry === undefined) {
      const local = deps.targets.find(color, target)
      return sendError(reply, 'SWY_ERR_UNKNOWN_TARGET', local === undefined
        ? `color "${color}" has no target "${target}" (use its id or URL; see GET /targets)`
        : `"${local}" of color "${color}" is not in the pool: DNS discovery found it on this instance, and it leaves when DNS stops returning it`)
    }
    const force = request.query.force === 'true' || request.body?.force === true
    if (!force && weightOf(state.weights, color) > 0 && deps.targets.usableOthers(color, entry.id) === 0) {
      return sendError(reply, 'SWY_ERR_TARGET_LAST_USABLE', `"${entry.id}" is the last usable target of "${color}", which has ${weightOf(state.weights, color) / 100} % of the traffic: add or enable another target first, move the traffic away, or send force`)
    }
    if (await mixedFleet(reply, force)) return reply
    const done = await deps.commit(request, reply, (s, m) => removeTarget(s, deps.fallback, color, entry.id, m), request.body?.reason ?? request.query.reason)
    if (done === undefined) return reply
    const wait = request.query.wait
    const removed = { color, id: entry.id, url: entry.url, removed: true }
    if (wait === undefined) return { ...(await deps.propagated(reply, done, undefined)).body, target: removed }
    // Every instance retires it on applying the removal; wait (the drain route's wait) until
    // no live instance has a request in flight to it, then answer with the propagation too.
    const o = await deps.waitDrained(color, entry.id, Number(wait), done.state.version)
    const { body, converged } = await deps.propagated(reply, done, String(Math.max(0, Number(wait) - (Date.now() - started))))
    void reply.code(converged && o.drained ? 200 : 202)
    return { ...body, target: { ...removed, ...drainAnswer(o, deps.targets.inFlight(color, entry.id)) } }
  })
}
