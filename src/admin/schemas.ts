/**
 * JSON Schemas of the admin API's bodies and query strings. fastify validates every route
 * with them (no coercion, no silent removal of unknown fields); the semantic checks that a
 * schema cannot make (weights summing to 100, two decimals, known colors) are the routing
 * core's, so their errors carry specific codes.
 */

const reason = { type: 'string', maxLength: 500 } as const

/** What sticky clients of a color that drops to 0 do: move now, or stay up to `seconds` while it is healthy. */
const switchPolicy = {
  type: 'object',
  additionalProperties: false,
  required: ['mode'],
  properties: {
    mode: { enum: ['immediate', 'drain'] },
    seconds: { type: 'integer', minimum: 0, maximum: 86400 },
    drainSeconds: { type: 'integer', minimum: 0, maximum: 86400 }
  }
} as const

/** PUT /weights */
export const putWeightsBody = {
  type: 'object',
  additionalProperties: false,
  required: ['weights'],
  properties: {
    weights: { type: 'object', minProperties: 1, maxProperties: 16, additionalProperties: { type: 'number' } },
    switchPolicy,
    reason
  }
} as const

/** POST /flip */
export const flipBody = {
  type: 'object',
  additionalProperties: false,
  required: ['to'],
  properties: {
    to: { type: 'string', minLength: 1, maxLength: 32 },
    force: { type: 'boolean' },
    switchPolicy,
    reason
  }
} as const

/** POST /rollback (the body is optional). */
export const rollbackBody = {
  type: ['object', 'null'],
  additionalProperties: false,
  properties: { reason }
} as const

/** GET /history (query strings are not coerced: limit is a string of 1..1000). */
export const historyQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { limit: { type: 'string', pattern: '^(1000|[1-9][0-9]{0,2})$' } }
} as const

/** Query of every write: `wait` ms (0..60000) for every live instance to apply the change. */
export const writeQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { wait: { type: 'string', pattern: '^(60000|[1-5]?[0-9]{1,4})$' } }
} as const

/** POST /targets/:color/:target/:action */
export const targetParams = {
  type: 'object',
  additionalProperties: false,
  required: ['color', 'target', 'action'],
  properties: {
    color: { type: 'string', minLength: 1, maxLength: 32 },
    target: { type: 'string', minLength: 1, maxLength: 2048 },
    action: { enum: ['drain', 'enable', 'disable'] }
  }
} as const

/** Body of a target action (optional). */
export const targetBody = {
  type: ['object', 'null'],
  additionalProperties: false,
  properties: { reason }
} as const
