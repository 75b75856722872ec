/**
 * The rollout routes: start one (POST /rollouts), read it (GET /rollout), and steer it
 * (POST /rollout/pause, /resume, /approve, /promote, /abort). Any instance answers them: the
 * document and the lease live in the store, and the driver (src/rollout/driver.ts) on the
 * lease holder takes it from there.
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifyInstance } from 'fastify'
import { ROLLOUT_ACTIONS, type RolloutControl } from '../rollout/control.js'
import { rolloutView } from '../rollout/rollout-view.js'
import type { Rollout } from '../rollout/types.js'
import { sendError } from './admin-errors.js'
import { ROLLOUT_ROUTE_SCHEMAS } from './rollout-schemas.js'

/** What the rollout routes need. */
export interface RolloutRouteDeps {
  readonly control: RolloutControl
  readonly colors: readonly string[]
  readonly now?: () => number
}

/** Registers the rollout routes on the admin server (its auth hook applies to them). */
export function registerRolloutRoutes (server: FastifyInstance, deps: RolloutRouteDeps): void {
  const api = server.withTypeProvider<TypeBoxTypeProvider>()
  const now = deps.now ?? Date.now
  const view = async (r: Rollout): Promise<Record<string, unknown>> => ({ rollout: rolloutView(r, deps.colors, await deps.control.driver(), now()) })

  api.post('/rollouts', { schema: ROLLOUT_ROUTE_SCHEMAS['POST /rollouts'] }, async (request, reply) => {
    const b = request.body
    const out = await deps.control.start({ to: b.to, from: b.from, steps: b.steps, analysis: b.analysis, reason: b.reason }, request.principal?.name ?? 'unknown')
    if (!out.ok) return sendError(reply, out.error.code, out.error.message)
    void reply.code(201)
    return await view(out.value)
  })

  api.get('/rollout', async (_request, reply) => {
    const r = await deps.control.current()
    if (r === null) return sendError(reply, 'SWY_ERR_NO_ROLLOUT', 'there has never been a rollout; start one with POST /rollouts')
    return await view(r)
  })

  for (const action of ROLLOUT_ACTIONS) {
    api.post(`/rollout/${action}`, { schema: ROLLOUT_ROUTE_SCHEMAS[`POST /rollout/${action}`] }, async (request, reply) => {
      const out = await deps.control.act(action, request.principal?.name ?? 'unknown', request.body?.reason)
      if (!out.ok) return sendError(reply, out.error.code, out.error.message)
      return await view(out.value)
    })
  }
}
