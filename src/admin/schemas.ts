/**
 * The admin API's bodies, query strings and path parameters, as TypeBox schemas: each is the
 * JSON Schema fastify validates the route with (no coercion, no silent removal of unknown
 * fields) and, through the TypeBox type provider, the type its handler sees. Exported for
 * the OpenAPI document. The semantic checks a schema cannot make (weights summing to 100,
 * two decimals, known colors) are the routing core's, so their errors carry specific codes.
 */
import { Type, type Static } from 'typebox'
import { Dictionary, NullableObject } from '../config/schema-kit.js'
import { ROLLOUT_ROUTE_SCHEMAS } from './rollout-schemas.js'
import { TARGET_ROUTE_SCHEMAS } from './target-schemas.js'

const reason = Type.Optional(Type.String({ maxLength: 500, description: 'why, recorded in the history' }))

/**
 * What sticky clients of a color that drops to 0 do under this change (and this change
 * only; a change without one is immediate): move now, or stay up to `drainSeconds` while it
 * is healthy. `drainSeconds` is required with `drain` (switch-policy-body.ts says so).
 */
export const switchPolicy = Type.Object({
  mode: Type.Enum(['immediate', 'drain']),
  drainSeconds: Type.Optional(Type.Integer({ minimum: 0, maximum: 86400, description: 'with mode drain: how long sticky clients may stay (required)' })),
  seconds: Type.Optional(Type.Integer({ minimum: 0, maximum: 86400, deprecated: true, description: 'deprecated alias of drainSeconds' }))
}, { additionalProperties: false })
/** A switch policy as the API takes it (`drainSeconds`, or its deprecated alias `seconds`). */
export type SwitchPolicyBody = Static<typeof switchPolicy>

/** PUT /weights */
export const putWeightsBody = Type.Object({
  weights: Dictionary(Type.Number(), { minProperties: 1, maxProperties: 16, description: 'percent per color, summing to 100, at most two decimals' }),
  switchPolicy: Type.Optional(switchPolicy),
  force: Type.Optional(Type.Boolean({ description: 'abort an active rollout first (else 409 SWY_ERR_ROLLOUT_ACTIVE)' })),
  reason
}, { additionalProperties: false })

/** POST /flip */
export const flipBody = Type.Object({
  to: Type.String({ minLength: 1, maxLength: 32 }),
  force: Type.Optional(Type.Boolean({ description: 'flip even when the color has no healthy target, and abort an active rollout first' })),
  switchPolicy: Type.Optional(switchPolicy),
  reason
}, { additionalProperties: false })

/** POST /rollback (the body is optional). */
export const rollbackBody = NullableObject(Type.Object({
  force: Type.Optional(Type.Boolean({ description: 'abort an active rollout first (else 409 SWY_ERR_ROLLOUT_ACTIVE)' })),
  reason
}, { additionalProperties: false }))

/** GET /history (query strings are not coerced: limit is a string of 1..1000). */
export const historyQuery = Type.Object({
  limit: Type.Optional(Type.String({ pattern: '^(1000|[1-9][0-9]{0,2})$' }))
}, { additionalProperties: false })

/** Query of every write: `wait` ms (0..60000) for every live instance to apply the change. */
export const writeQuery = Type.Object({
  wait: Type.Optional(Type.String({ pattern: '^(60000|[1-5]?[0-9]{1,4})$' }))
}, { additionalProperties: false })
/** The query of every write. */
export type WriteQuery = Static<typeof writeQuery>

/** POST /targets/:color/:target/:action */
export const targetParams = Type.Object({
  color: Type.String({ minLength: 1, maxLength: 32 }),
  target: Type.String({ minLength: 1, maxLength: 2048 }),
  action: Type.Enum(['drain', 'enable', 'disable'])
}, { additionalProperties: false })

/** Body of a target action (optional). */
export const targetBody = NullableObject(Type.Object({ reason }, { additionalProperties: false }))

/** Body of POST /reload (optional; the reason goes to the log line). */
export const reloadBody = NullableObject(Type.Object({ reason }, { additionalProperties: false }))

/** Every route's schemas, by method and URL (for the OpenAPI document). */
export const ADMIN_ROUTE_SCHEMAS = {
  'PUT /weights': { body: putWeightsBody, querystring: writeQuery },
  'POST /flip': { body: flipBody, querystring: writeQuery },
  'POST /rollback': { body: rollbackBody, querystring: writeQuery },
  'POST /targets/:color/:target/:action': { params: targetParams, body: targetBody, querystring: writeQuery },
  'GET /history': { querystring: historyQuery },
  'POST /reload': { body: reloadBody },
  ...ROLLOUT_ROUTE_SCHEMAS,
  ...TARGET_ROUTE_SCHEMAS
} as const
