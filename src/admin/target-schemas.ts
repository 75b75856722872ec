/**
 * The bodies, queries and path parameters of the pool routes (POST /targets/:color,
 * DELETE /targets/:color/:target), as TypeBox schemas merged into ADMIN_ROUTE_SCHEMAS.
 * Shapes only; whether the URL is an origin and the id is new in that color are the routing
 * core's checks (src/routing/pool.ts), with their own codes.
 */
import { Type, type Static } from 'typebox'
import { NullableObject } from '../config/schema-kit.js'

const reason = Type.String({ maxLength: 500, description: 'why, recorded in the history' })
const color = Type.String({ minLength: 1, maxLength: 32 })
const wait = Type.String({ pattern: '^(60000|[1-5]?[0-9]{1,4})$', description: 'ms to wait for every live instance to apply the change (and, for a removal, for the target to have no request in flight)' })

/** A target id: what GET /targets, metrics labels and paths show (letters, digits and . _ : - ; default: COLOR-HOST:PORT). */
export const TARGET_ID_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$'

/** POST /targets/:color path. */
export const addTargetParams = Type.Object({ color }, { additionalProperties: false })

/** POST /targets/:color body. */
export const addTargetBody = Type.Object({
  url: Type.String({ minLength: 1, maxLength: 2048, description: 'the origin http(s)://host:port (no path, query or credentials)' }),
  id: Type.Optional(Type.String({ pattern: TARGET_ID_PATTERN, description: 'default: COLOR-HOST:PORT, e.g. blue-10.0.0.21:3000' })),
  mode: Type.Optional(Type.Enum(['enabled', 'disabled'], { description: 'disabled: in the pool, but no traffic until enabled (default enabled)' })),
  reason: Type.String({ minLength: 1, maxLength: 500, description: 'why, recorded in the history' }),
  force: Type.Optional(Type.Boolean({ description: 'write even while a live instance runs a release without target pools (see SWY_ERR_FLEET_MIXED)' }))
}, { additionalProperties: false })
/** The body of POST /targets/:color. */
export type AddTargetBody = Static<typeof addTargetBody>

/** POST /targets/:color query. */
export const addTargetQuery = Type.Object({ wait: Type.Optional(wait) }, { additionalProperties: false })

/** DELETE /targets/:color/:target path. */
export const removeTargetParams = Type.Object({
  color,
  target: Type.String({ minLength: 1, maxLength: 2048, description: 'its id or URL' })
}, { additionalProperties: false })

/** DELETE /targets/:color/:target query: force and reason may come here too (DELETE bodies are often dropped by clients). */
export const removeTargetQuery = Type.Object({
  wait: Type.Optional(wait),
  force: Type.Optional(Type.Enum(['true', 'false'], { description: 'remove even the last usable target of a color that has traffic, or while a live instance runs a release without target pools' })),
  reason: Type.Optional(reason)
}, { additionalProperties: false })

/** DELETE /targets/:color/:target body (optional). */
export const removeTargetBody = NullableObject(Type.Object({
  force: Type.Optional(Type.Boolean({ description: 'remove even the last usable target of a color that has traffic, or while a live instance runs a release without target pools' })),
  reason: Type.Optional(reason)
}, { additionalProperties: false }))

/** The pool routes' schemas, by method and URL (merged into ADMIN_ROUTE_SCHEMAS). */
export const TARGET_ROUTE_SCHEMAS = {
  'POST /targets/:color': { params: addTargetParams, body: addTargetBody, querystring: addTargetQuery },
  'DELETE /targets/:color/:target': { params: removeTargetParams, body: removeTargetBody, querystring: removeTargetQuery }
} as const
