/**
 * The one schema of everything a store holds: the routing state, its history entries, the
 * cookie secret, the instances' heartbeats (with their traffic reports) and the rollout
 * document (TypeBox, compiled once by Ajv). Every store
 * checks what it reads with it, so a hostile or damaged value (a date out of range, a null
 * history entry, a 1-character secret, a weight of -5, a version of 1e300, truncated JSON)
 * becomes SWY_ERR_STORE_CORRUPT naming every problem, never a crash or a routing change.
 *
 * The schema states shapes and ranges; the checks a JSON Schema cannot express (weights
 * summing to BUCKETS over exactly the state's colors, `previous` older than the state, a
 * parseable time) run after it, on whatever parts have the right shape, so one read lists
 * every problem. Unknown properties are ignored, not refused: in a rolling upgrade a newer
 * release may add a field, and this one must keep routing by the state it understands.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv'
import { Type, type Static } from 'typebox'
import { SwitchyardError } from '../errors.js'
import type { HistoryEntry, RoutingState } from '../routing/routing-state.js'
import { MAX_POOL_TARGETS } from '../routing/pool.js'
import { BUCKETS } from '../routing/types.js'
import { ROLLOUT_PHASES, type Rollout } from '../rollout/types.js'
import type { InstanceInfo } from './store.js'

/** The longest drain window a switch policy may hold (the admin API's bound too). */
export const MAX_DRAIN_SECONDS = 86_400
/**
 * The shortest cookie secret a store may hold: the secret is 32 random bytes in base64url
 * (43 characters, 256 bits), so anything shorter was not written by switchyard.
 */
export const MIN_SECRET_LENGTH = 43
/** The largest time a JavaScript Date holds (ms since the epoch). */
const MAX_TIME = 8.64e15

const Version = Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER })
const Time = Type.Number({ minimum: 0, maximum: MAX_TIME })
/** An ISO 8601 time as `Date.toISOString()` writes it (years 0000–9999). */
const ISO_TIME = '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d{1,9})?(Z|[+-]\\d{2}:\\d{2})$'
const ISO_TIME_RE = new RegExp(ISO_TIME)
const IsoTime = Type.String({ pattern: ISO_TIME })
const Weights = Type.Record(Type.String(), Type.Integer({ minimum: 0, maximum: BUCKETS }))
const SwitchPolicy = Type.Object({
  mode: Type.Enum(['immediate', 'drain']),
  drainSeconds: Type.Integer({ minimum: 0, maximum: MAX_DRAIN_SECONDS })
})
const TargetModes = Type.Record(Type.String(), Type.Record(Type.String(), Type.Enum(['draining', 'disabled'])))
/** Each color's targets: ids unique per color (checked after the schema), URLs http(s) origins. */
const Pool = Type.Record(Type.String(), Type.Array(Type.Object({
  id: Type.String({ minLength: 1, maxLength: 256 }),
  url: Type.String({ minLength: 1, maxLength: 2048, pattern: '^https?://[^/?#@]+/?$' })
}), { maxItems: MAX_POOL_TARGETS }))
const ChangeKind = Type.Enum(['init', 'weights', 'flip', 'rollback', 'target', 'rollout'])
const Count = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER })
/** A non-negative finite number (JSON has no Infinity; the bound keeps sums exact enough). */
const Amount = Type.Number({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER })
/** The most colors a heartbeat's traffic report may name, and buckets per color. */
export const MAX_TRAFFIC_COLORS = 16
export const MAX_TRAFFIC_BUCKETS = 64

/** What a change is recorded with (weights, policy, target modes), as `previous` and in history. */
export const RoutingSettingsSchema = Type.Object({
  version: Version,
  weights: Weights,
  switchPolicy: SwitchPolicy,
  targets: Type.Optional(TargetModes),
  pool: Type.Optional(Pool)
})

/** The routing state document (see RoutingState in src/routing/routing-state.ts). */
export const RoutingStateSchema = Type.Object({
  version: Version,
  colors: Type.Array(Type.String({ minLength: 1 }), { minItems: 1, uniqueItems: true }),
  weights: Weights,
  switchPolicy: SwitchPolicy,
  targets: Type.Optional(TargetModes),
  pool: Type.Optional(Pool),
  drainUntil: Type.Optional(Type.Record(Type.String(), Type.Integer({ minimum: 0, maximum: MAX_TIME }))),
  previous: Type.Union([RoutingSettingsSchema, Type.Null()]),
  rollbackTo: Type.Optional(Type.Union([RoutingSettingsSchema, Type.Null()])),
  kind: ChangeKind,
  changedBy: Type.String(),
  reason: Type.String(),
  changedAt: IsoTime
})

/** One audit-log entry. */
export const HistoryEntrySchema = Type.Object({
  version: Version,
  kind: ChangeKind,
  changedBy: Type.String(),
  reason: Type.String(),
  changedAt: IsoTime,
  before: Type.Union([RoutingSettingsSchema, Type.Null()]),
  after: RoutingSettingsSchema,
  rollout: Type.Optional(Type.Object({
    id: Type.String({ minLength: 1 }),
    event: Type.Enum(['start', 'step', 'pause', 'resume', 'approve', 'verdict', 'promote', 'abort', 'rollback', 'succeeded']),
    step: Count,
    verdict: Type.Optional(Type.Enum(['pass', 'fail', 'inconclusive']))
  }))
})

/** The cookie secret: base64url, as `randomBytes(32).toString('base64url')` writes it. */
export const SecretSchema = Type.String({ pattern: `^[A-Za-z0-9_-]{${MIN_SECRET_LENGTH},1024}$` })

/** One color's cumulative traffic counters (see ColorTraffic in src/rollout/types.ts). */
const ColorTrafficSchema = Type.Object({
  requests: Amount,
  errors: Amount,
  buckets: Type.Array(Amount, { maxItems: MAX_TRAFFIC_BUCKETS })
})

/** An instance's traffic report (bounded: a heartbeat is read by every instance every beat). */
export const TrafficReportSchema = Type.Object({
  epoch: Type.String({ maxLength: 256 }),
  colors: Type.Record(Type.String(), ColorTrafficSchema, { maxProperties: MAX_TRAFFIC_COLORS })
})

/** The most targets per color a heartbeat's in-flight counts may name (only busy targets are named). */
export const MAX_IN_FLIGHT_TARGETS = 4096

/**
 * An instance's requests in flight per color and target id (nonzero only; bounded like the
 * traffic report: every instance reads every heartbeat).
 */
export const InFlightCountsSchema = Type.Record(Type.String(), Type.Record(Type.String(), Count, { maxProperties: MAX_IN_FLIGHT_TARGETS }), { maxProperties: MAX_TRAFFIC_COLORS })

/** One instance's heartbeat (`traffic` and `inFlight` are absent from older releases' beats). */
export const InstanceInfoSchema = Type.Object({
  id: Type.String({ minLength: 1, maxLength: 1024 }),
  appliedVersion: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
  appliedAt: Time,
  at: Time,
  traffic: Type.Optional(TrafficReportSchema),
  inFlight: Type.Optional(InFlightCountsSchema)
})

const NullableTime = Type.Union([IsoTime, Type.Null()])
const SideFiguresSchema = Type.Object({
  requests: Amount,
  errorRatio: Type.Number({ minimum: 0, maximum: 1 }),
  latency: Type.Union([Amount, Type.Null()])
})

/** The rollout document (see Rollout in src/rollout/types.ts), compare-and-set on `rev`. */
export const RolloutSchema = Type.Object({
  id: Type.String({ minLength: 1 }),
  rev: Version,
  phase: Type.Enum([...ROLLOUT_PHASES]),
  from: Type.String({ minLength: 1 }),
  to: Type.String({ minLength: 1 }),
  steps: Type.Array(Type.Object({
    weight: Type.Number({ minimum: 0, maximum: 100 }),
    pauseSeconds: Type.Optional(Amount),
    pause: Type.Optional(Type.Enum(['approval']))
  }), { minItems: 1 }),
  analysis: Type.Object({
    intervalSeconds: Amount,
    minRequests: Amount,
    maxErrorRatioDelta: Amount,
    maxLatencyRatio: Amount,
    latencyQuantile: Type.Number({ minimum: 0, maximum: 1 }),
    failureLimit: Count
  }),
  reason: Type.String(),
  startedAt: IsoTime,
  startedBy: Type.String(),
  startWeights: Weights,
  startVersion: Count,
  stepIndex: Count,
  stage: Type.Enum(['measuring-reference', 'applying', 'confirming', 'analysing']),
  stepVersion: Type.Union([Version, Type.Null()]),
  stepStartedAt: NullableTime,
  heldMs: Amount,
  pausedAt: NullableTime,
  stepPasses: Count,
  approved: Type.Boolean(),
  intervalStartedAt: NullableTime,
  baseline: Type.Union([Type.Record(Type.String(), TrafficReportSchema), Type.Null()]),
  reference: Type.Union([SideFiguresSchema, Type.Null()]),
  analyses: Type.Array(Type.Object({
    at: IsoTime,
    from: SideFiguresSchema,
    to: SideFiguresSchema,
    verdict: Type.Enum(['pass', 'fail', 'inconclusive']),
    why: Type.String(),
    step: Count
  })),
  consecutiveFailures: Count,
  endedAt: NullableTime,
  endReason: Type.Union([Type.String(), Type.Null()]),
  updatedAt: IsoTime
})

/** The state as the schema types it; the assignments below keep it in step with the routing types. */
export type StoredState = Static<typeof RoutingStateSchema>
type StoredEntry = Static<typeof HistoryEntrySchema>
const stateFits = (s: StoredState): RoutingState => s
const entryFits = (e: StoredEntry): HistoryEntry => e
const instanceFits = (i: Static<typeof InstanceInfoSchema>): InstanceInfo => i
const rolloutFits = (r: Static<typeof RolloutSchema>): Rollout => r
void stateFits; void entryFits; void instanceFits; void rolloutFits

const ajv = new Ajv({ allErrors: true, strict: true })
const validateState = ajv.compile(RoutingStateSchema)
const validateEntry = ajv.compile(HistoryEntrySchema)
const validateSecret = ajv.compile(SecretSchema)
const validateInstance = ajv.compile(InstanceInfoSchema)
const validateRollout = ajv.compile(RolloutSchema)

/** The path of the part an error is about, collapsed to the unit one problem names. */
function unitOf (e: ErrorObject): string[] {
  const path = e.instancePath === '' ? [] : e.instancePath.slice(1).split('/').map((p) => p.replaceAll('~1', '/').replaceAll('~0', '~'))
  if (e.keyword === 'required') path.push(String(e.params.missingProperty))
  const out: string[] = []
  for (let i = 0; i < path.length; i++) {
    const seg = path[i] as string
    out.push(seg)
    // Settings objects nest; every other field is one unit, with a name or two below it for
    // tables keyed by color (weights, drainUntil) or color and target (targets).
    if (seg === 'previous' || seg === 'rollbackTo' || seg === 'before' || seg === 'after') continue
    const keep = seg === 'weights' || seg === 'drainUntil' ? 1 : seg === 'targets' || seg === 'pool' ? 2 : 0
    out.push(...path.slice(i + 1, i + 1 + keep))
    break
  }
  return out
}

function describe (unit: readonly string[], what: string): string {
  if (unit.length === 0) return `${what} is not an object`
  const where = unit.join('.')
  const w = unit.indexOf('weights')
  if (w >= 0 && w < unit.length - 1) return `${unit.slice(0, w + 1).join('.')}: weight of "${unit[w + 1] as string}" must be an integer 0..${BUCKETS}`
  const t = unit.indexOf('targets')
  if (t >= 0 && t === unit.length - 3) return `${where} must be draining or disabled`
  if (t >= 0) return `${where} must be an object`
  const p = unit.indexOf('pool')
  if (p >= 0 && p === unit.length - 3) return `${where} must be { id, url } with an id of 1..256 characters and an http(s) origin URL`
  if (p >= 0 && p === unit.length - 2) return `${where} must be a list of at most ${MAX_POOL_TARGETS} targets`
  if (p >= 0) return `${where} must be an object`
  const d = unit.indexOf('drainUntil')
  if (d >= 0 && d < unit.length - 1) return `${where} is malformed (a time in ms since the epoch, 0..${MAX_TIME})`
  switch (unit.at(-1)) {
    case 'version': return unit[0] === 'previous' ? `${where} must be an integer ≥ 1 below version` : `${where} must be an integer ≥ 1 (a safe integer)`
    case 'colors': return 'colors must be a non-empty list of distinct names'
    case 'switchPolicy': return `${where} is malformed (mode immediate or drain, drainSeconds an integer 0..${MAX_DRAIN_SECONDS})`
    case 'previous': case 'rollbackTo': case 'before': return `${where} must be an object or null`
    case 'kind': return `${where} must be one of init, weights, flip, rollback, target, rollout`
    case 'changedAt': return `${where} must be an ISO 8601 time`
    case 'changedBy': case 'reason': return `${where} must be a string`
    case undefined: default: return `${where} must be an object`
  }
}

/** One problem per unit; a unit is dropped when a deeper one explains it (the object branch of "X or null"). */
function schemaProblems (validate: ValidateFunction, value: unknown, what: string): string[] {
  if (validate(value)) return []
  const units = new Map<string, string[]>()
  for (const e of validate.errors ?? []) {
    const unit = unitOf(e)
    units.set(unit.join('/'), unit)
  }
  const all = [...units.values()]
  const deeper = (u: readonly string[]): boolean => all.some((v) => v.length > u.length && u.every((s, i) => v[i] === s))
  return all.filter((u) => !deeper(u)).map((u) => describe(u, what))
}

function isObject (v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** Weights for exactly `colors`, summing to BUCKETS (entries the schema refused are not summed again). */
function checkWeights (weights: unknown, colors: readonly string[], where: string, problems: string[]): void {
  if (!isObject(weights)) return
  let sum = 0
  for (const c of colors) {
    const w = Object.hasOwn(weights, c) ? weights[c] : undefined
    if (w === undefined) problems.push(`${where}: weight of "${c}" must be an integer 0..${BUCKETS}`)
    else if (Number.isInteger(w) && (w as number) >= 0 && (w as number) <= BUCKETS) sum += w as number
  }
  if (sum !== BUCKETS) problems.push(`${where} must sum to ${BUCKETS} basis points, got ${sum}`)
  for (const k of Object.keys(weights)) if (!colors.includes(k)) problems.push(`${where} name unknown color "${k}"`)
}

function checkColorKeys (table: unknown, colors: readonly string[], where: string, problems: string[]): void {
  if (!isObject(table)) return
  for (const c of Object.keys(table)) if (!colors.includes(c)) problems.push(`${where} name unknown color "${c}"`)
}

/** No id twice in one color's pool. */
function checkPoolIds (pool: unknown, where: string, problems: string[]): void {
  if (!isObject(pool)) return
  for (const [color, list] of Object.entries(pool)) {
    if (!Array.isArray(list)) continue
    const seen = new Set<unknown>()
    for (const t of list) {
      const id = isObject(t) ? t.id : undefined
      if (typeof id === 'string' && seen.has(id)) problems.push(`${where}.${color} has target id "${id.slice(0, 64)}" twice`)
      seen.add(id)
    }
  }
}

function checkTime (value: unknown, where: string, problems: string[]): void {
  if (typeof value === 'string' && ISO_TIME_RE.test(value) && !Number.isFinite(Date.parse(value))) problems.push(`${where} is not a valid time: ${JSON.stringify(value.slice(0, 40))}`)
}

/**
 * Checks a routing state read from a store: integer version 1..2^53−1, weights integer basis
 * points for exactly its colors summing to BUCKETS, the same of `previous` (what a rollback
 * restores) with an older version, target modes from the fixed set, times in range. Returns
 * every problem found (none: the value is a RoutingState).
 */
export function checkStoredState (value: unknown): string[] {
  const problems = schemaProblems(validateState, value, 'state')
  if (!isObject(value)) return problems
  const colors = value.colors
  const colorsOk = Array.isArray(colors) && colors.length >= 1 && colors.every((c) => typeof c === 'string' && c !== '') && new Set(colors).size === colors.length
  if (colorsOk) {
    checkWeights(value.weights, colors as string[], 'weights', problems)
    checkColorKeys(value.targets, colors as string[], 'targets', problems)
    checkColorKeys(value.drainUntil, colors as string[], 'drainUntil', problems)
    checkColorKeys(value.pool, colors as string[], 'pool', problems)
  }
  checkPoolIds(value.pool, 'pool', problems)
  const prev = value.previous
  if (isObject(prev)) {
    const [pv, v] = [prev.version, value.version]
    if (Number.isSafeInteger(pv) && Number.isSafeInteger(v) && (pv as number) >= 1 && (v as number) >= 1 && (pv as number) >= (v as number)) {
      problems.push('previous.version must be an integer ≥ 1 below version')
    }
    if (colorsOk) checkWeights(prev.weights, colors as string[], 'previous.weights', problems)
  }
  // What a rollback restores after a target change: the same checks as previous's weights.
  if (isObject(value.rollbackTo) && colorsOk) checkWeights(value.rollbackTo.weights, colors as string[], 'rollbackTo.weights', problems)
  checkTime(value.changedAt, 'changedAt', problems)
  return problems
}

/** Checks one history entry read from a store (its weights sum to BUCKETS over their own colors). */
export function checkHistoryEntry (value: unknown): string[] {
  const problems = schemaProblems(validateEntry, value, 'entry')
  if (!isObject(value)) return problems
  for (const side of ['before', 'after'] as const) {
    const s = value[side]
    if (isObject(s) && isObject(s.weights)) checkWeights(s.weights, Object.keys(s.weights), `${side}.weights`, problems)
  }
  checkTime(value.changedAt, 'changedAt', problems)
  return problems
}

/** Checks a cookie secret read from a store (never shown in a problem). */
export function checkSecret (value: unknown): string[] {
  return validateSecret(value) ? [] : [`secret must be at least ${MIN_SECRET_LENGTH} base64url characters (32 random bytes)`]
}

/** Checks one heartbeat read from a store. */
export function checkInstanceInfo (value: unknown): string[] {
  return validateInstance(value) ? [] : (validateInstance.errors ?? []).map((e) => `${e.instancePath === '' ? 'heartbeat' : e.instancePath.slice(1)} ${e.message ?? 'is invalid'}`)
}

/**
 * `path message` per field, for documents whose every field is its own unit: the messages of
 * a union's branches joined with "or", and a field left out when a deeper problem explains it
 * (the object branch of "X or null").
 */
function plainProblems (validate: ValidateFunction, value: unknown, what: string): string[] {
  if (validate(value)) return []
  const byPath = new Map<string, string[]>()
  for (const e of validate.errors ?? []) {
    if (e.keyword === 'anyOf') continue
    const path = e.instancePath === '' ? what : `${what}.${e.instancePath.slice(1).replaceAll('/', '.')}`
    const [at, message] = e.keyword === 'required' ? [`${path}.${String(e.params.missingProperty)}`, 'is missing'] : [path, e.message ?? 'is invalid']
    const messages = byPath.get(at) ?? []
    if (!messages.includes(message)) messages.push(message)
    byPath.set(at, messages)
  }
  const paths = [...byPath.keys()]
  return paths.filter((p) => !paths.some((q) => q.startsWith(p + '.'))).map((p) => `${p} ${(byPath.get(p) ?? []).join(' or ')}`)
}

/**
 * Checks a rollout document read from a store: its shape and ranges, parseable times, and
 * start weights that sum to BUCKETS (what an abort or a rollback restores).
 */
export function checkRollout (value: unknown): string[] {
  const problems = plainProblems(validateRollout, value, 'rollout')
  if (!isObject(value)) return problems
  if (isObject(value.startWeights)) checkWeights(value.startWeights, Object.keys(value.startWeights), 'rollout.startWeights', problems)
  for (const field of ['startedAt', 'stepStartedAt', 'pausedAt', 'intervalStartedAt', 'endedAt', 'updatedAt']) checkTime(value[field], `rollout.${field}`, problems)
  return problems
}

/** Parses JSON read from a store; invalid JSON is SWY_ERR_STORE_CORRUPT (`where` names the value). */
export function parseStored (text: string, where: string): unknown {
  try {
    return JSON.parse(text)
  } catch (e) {
    throw new SwitchyardError('SWY_ERR_STORE_CORRUPT', `${where} is not valid JSON (${(e as Error).message})`)
  }
}

function checked<T> (value: unknown, problems: readonly string[], where: string): T {
  if (problems.length > 0) throw new SwitchyardError('SWY_ERR_STORE_CORRUPT', `${where} is not valid: ${problems.join('; ')}`)
  return value as T
}

/** A stored state from its JSON, or SWY_ERR_STORE_CORRUPT listing every problem. */
export function readState (text: string, where: string): RoutingState {
  const value = parseStored(text, where)
  return checked(value, checkStoredState(value), where)
}

/** A history entry from its JSON, or SWY_ERR_STORE_CORRUPT. */
export function readHistoryEntry (text: string, where: string): HistoryEntry {
  const value = parseStored(text, where)
  return checked(value, checkHistoryEntry(value), where)
}

/** A cookie secret as stored, or SWY_ERR_STORE_CORRUPT (the message never holds the value). */
export function readSecret (value: unknown, where: string): string {
  return checked(value, checkSecret(value), where)
}

/** A rollout document from its JSON, or SWY_ERR_STORE_CORRUPT listing every problem. */
export function readRollout (text: string, where: string): Rollout {
  const value = parseStored(text, where)
  return checked(value, checkRollout(value), where)
}

/** A heartbeat from its JSON, or SWY_ERR_STORE_CORRUPT. */
export function readInstanceInfo (text: string, where: string): InstanceInfo {
  const value = parseStored(text, where)
  return checked(value, checkInstanceInfo(value), where)
}
