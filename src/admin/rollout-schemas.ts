/**
 * The rollout routes' bodies (TypeBox: the JSON Schema fastify validates with, and the type
 * the handler sees). Shapes and ranges only; the rules between fields (known colors, weights
 * that never go down, a pause or an approval) are checked by src/rollout/spec.ts, which lists
 * every problem at once.
 */
import { Type, type Static } from 'typebox'
import { NullableObject } from '../config/schema-kit.js'

const reason = Type.Optional(Type.String({ maxLength: 500, description: 'why, recorded in the history' }))
const color = Type.String({ minLength: 1, maxLength: 32 })

/** One step: `to`'s percent, then a timed pause or an approval (or, for the last step, nothing). */
export const rolloutStep = Type.Object({
  weight: Type.Number({ exclusiveMinimum: 0, maximum: 100, description: "the `to` color's percent, at most two decimals" }),
  pauseSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 604800, description: 'how long the step runs once every instance applied it (and at least one analysis passed)' })),
  pause: Type.Optional(Type.Enum(['approval'], { description: 'the step waits for POST /rollout/approve' }))
}, { additionalProperties: false })

/** How each interval is judged; every field has a default. */
export const rolloutAnalysis = Type.Object({
  intervalSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 86400 })),
  minRequests: Type.Optional(Type.Integer({ minimum: 1, maximum: 1e9 })),
  maxErrorRatioDelta: Type.Optional(Type.Number({ minimum: 0, maximum: 100, description: 'percentage points' })),
  maxLatencyRatio: Type.Optional(Type.Number({ minimum: 1, maximum: 1000 })),
  latencyQuantile: Type.Optional(Type.Number({ minimum: 0.5, maximum: 0.999 })),
  failureLimit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 }))
}, { additionalProperties: false })

/** POST /rollouts */
export const startRolloutBody = Type.Object({
  to: color,
  from: Type.Optional(color),
  steps: Type.Array(rolloutStep, { minItems: 1, maxItems: 20 }),
  analysis: Type.Optional(rolloutAnalysis),
  reason
}, { additionalProperties: false })
/** The body of POST /rollouts. */
export type StartRolloutBody = Static<typeof startRolloutBody>

/** The body of a rollout action (optional). */
export const rolloutActionBody = NullableObject(Type.Object({ reason }, { additionalProperties: false }))

/** The rollout routes' schemas, by method and URL (merged into ADMIN_ROUTE_SCHEMAS). */
export const ROLLOUT_ROUTE_SCHEMAS = {
  'POST /rollouts': { body: startRolloutBody },
  'POST /rollout/pause': { body: rolloutActionBody },
  'POST /rollout/resume': { body: rolloutActionBody },
  'POST /rollout/approve': { body: rolloutActionBody },
  'POST /rollout/promote': { body: rolloutActionBody },
  'POST /rollout/abort': { body: rolloutActionBody }
} as const
