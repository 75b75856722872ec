/**
 * The admin API's answers as JSON Schemas (OpenAPI 3.1 components), for the document only:
 * fastify never sees them, so they cannot change what a route answers. They say what each
 * answer has at least (extra fields are allowed, so an addition is not a break);
 * test/admin/openapi.test.ts checks real answers against them.
 */
import { ERRORS } from '../errors.js'

const ref = (name: string): Record<string, string> => ({ $ref: `#/components/schemas/${name}` })
const str = (description?: string): Record<string, unknown> => ({ type: 'string', ...(description === undefined ? {} : { description }) })
const int = { type: 'integer', minimum: 0 }
const time = { type: 'string', format: 'date-time' }
const nullable = (schema: Record<string, unknown>): Record<string, unknown> => ({ oneOf: [schema, { type: 'null' }] })
/** An object with these properties required, and optional ones. */
function object (required: Record<string, unknown>, description?: string, optional: Record<string, unknown> = {}): Record<string, unknown> {
  return { type: 'object', required: Object.keys(required), properties: { ...required, ...optional }, ...(description === undefined ? {} : { description }) }
}

const side = object({ requests: int, errorRatio: { type: 'number', minimum: 0, maximum: 1 }, latency: nullable({ type: 'number', description: 'the configured latency quantile, seconds' }) })

/** Every answer schema, by component name. */
export const ANSWER_SCHEMAS: Readonly<Record<string, Record<string, unknown>>> = {
  Error: {
    ...object({ error: { type: 'string', enum: Object.keys(ERRORS), description: 'a stable code of docs/errors.md' }, message: str('what went wrong, in words') }),
    additionalProperties: false
  },
  Weights: { type: 'object', additionalProperties: { type: 'number', minimum: 0, maximum: 100 }, description: 'percent per color, in color order' },
  SwitchPolicy: { type: 'object', required: ['mode'], properties: { mode: { enum: ['immediate', 'drain'] } }, description: 'what sticky clients of a color dropping to 0 do' },
  TargetModes: { type: 'object', additionalProperties: { type: 'object', additionalProperties: str('draining | disabled') }, description: 'per color and target id, the targets not enabled' },
  Settings: object({ version: int, weights: ref('Weights'), switchPolicy: ref('SwitchPolicy'), targets: ref('TargetModes') }, 'the settings of one version'),
  State: object({
    version: int,
    colors: { type: 'array', items: str() },
    weights: ref('Weights'),
    switchPolicy: ref('SwitchPolicy'),
    targets: ref('TargetModes'),
    previous: nullable(ref('Settings')),
    kind: str('init | weights | flip | rollback | target | rollout'),
    changedBy: str('the token name that made the change'),
    reason: str(),
    changedAt: time,
    store: str('file | memory | redis')
  }, 'the routing state', {
    drainUntil: { type: 'object', additionalProperties: time, description: 'per color draining under the drain policy: until when its sticky clients may stay' },
    instances: { ...nullable(object({ applied: int, total: int })), description: 'GET /state only: live instances applying this version (null when the store is unreachable)' },
    propagation: { ...ref('Propagation'), description: 'writes with ?wait only' }
  }),
  Instance: object({ id: str(), appliedVersion: int, appliedAt: time, lastSeen: time, self: { type: 'boolean' } }),
  Instances: object({ version: int, instances: { type: 'array', items: ref('Instance') } }),
  Propagation: object({ version: int, converged: { type: 'boolean' }, applied: { type: 'array', items: ref('Instance') }, lagging: { type: 'array', items: ref('Instance') }, slowestMs: nullable({ type: 'number', minimum: 0, description: 'ms from the commit until the slowest instance applied it' }) }),
  Target: object({ color: str(), id: str(), url: str(), mode: str('enabled | draining | disabled'), health: str(), inFlight: int }, undefined, { ejectedUntil: time, source: str('config | api | dns: the config\'s initial pool, the admin API, or this instance\'s DNS discovery') }),
  Targets: object({ version: int, targets: { type: 'array', items: ref('Target') } }),
  TargetChange: {
    allOf: [ref('State'), object({ target: object({ color: str(), id: str(), mode: str() }, 'the target changed', { inFlight: int, drained: { type: 'boolean' } }) })]
  },
  HistoryEntry: object({ version: int, kind: str(), changedBy: str(), reason: str(), changedAt: time, before: nullable(ref('Settings')), after: ref('Settings') }),
  History: object({ entries: { type: 'array', items: ref('HistoryEntry'), description: 'newest first' } }),
  Health: object({ status: { const: 'ok' } }),
  Ready: object({ status: str('ready | degraded | shutting down'), detail: str(), version: int, storeUp: { type: 'boolean' } }),
  Analysis: object({ at: time, step: int, from: side, to: side, verdict: { enum: ['pass', 'fail', 'inconclusive'] }, why: str() }),
  Rollout: object({
    id: str(),
    phase: { enum: ['progressing', 'paused', 'awaiting-approval', 'succeeded', 'rolled-back', 'aborted'] },
    active: { type: 'boolean' },
    from: str(),
    to: str(),
    steps: { type: 'array', items: { type: 'object', required: ['weight'], properties: { weight: { type: 'number' }, pauseSeconds: int, pause: { const: 'approval' } } } },
    stepIndex: int,
    stage: str('measuring-reference | applying | confirming | analysing'),
    stepVersion: nullable(int),
    startedAt: time,
    stepStartedAt: nullable(time),
    startedBy: str(),
    driver: nullable(str('the instance driving the rollout')),
    reason: str(),
    analysis: { type: 'object', description: 'the analysis settings' },
    analyses: { type: 'array', items: ref('Analysis'), description: 'oldest first' },
    lastAnalysis: nullable(ref('Analysis')),
    consecutiveFailures: int,
    startWeights: ref('Weights'),
    endedAt: nullable(time),
    endReason: nullable(str()),
    stepElapsedSeconds: { type: 'number' },
    stepPauseSeconds: nullable({ type: 'number', description: 'null for an approval step' })
  }),
  RolloutAnswer: object({ rollout: ref('Rollout') })
}
