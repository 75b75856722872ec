/**
 * POST /reload: re-read the config file, as SIGHUP does (src/reload/reloader.ts), with a
 * write token. Answers 200 with the settings that changed (none: `reloaded: false`), or the
 * refusal with every problem listed: 400 SWY_ERR_RELOAD_INVALID (the file is not valid) or
 * 409 SWY_ERR_RELOAD_NOT_LIVE (it changes settings that need a restart). Either way a
 * refused file changed nothing.
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifyInstance } from 'fastify'
import { ERRORS, errorBody } from '../errors.js'
import type { ReloadOutcome } from '../reload/reloader.js'
import { ADMIN_ROUTE_SCHEMAS } from './schemas.js'

/** Reloads the config on behalf of `by` (the caller's token name), for `reason`. */
export type ReloadHandler = (by: string, reason: string) => Promise<ReloadOutcome>

/** Adds POST /reload to the admin server. */
export function registerReloadRoute (server: FastifyInstance, reload: ReloadHandler): void {
  server.withTypeProvider<TypeBoxTypeProvider>().post('/reload', { schema: ADMIN_ROUTE_SCHEMAS['POST /reload'] }, async (request, reply) => {
    const outcome = await reload(request.principal?.name ?? 'unknown', request.body?.reason ?? '')
    if (outcome.ok) return { reloaded: outcome.changed.length > 0, changed: outcome.changed }
    const field = outcome.code === 'SWY_ERR_RELOAD_INVALID' ? 'problems' : 'settings'
    return reply.code(ERRORS[outcome.code].status).send({ ...errorBody(outcome.code, outcome.message), [field]: outcome.problems })
  })
}
