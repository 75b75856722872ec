/**
 * The route table: everything a request needs to pick a color, compiled once per state
 * change. Decisions are pre-built per (reason, color), so a pick returns a shared object
 * and allocates nothing.
 */
import { overrideValue } from './override.js'
import type { Mac } from './sticky-cookie.js'
import { REASON_INDEX, REASONS, type Reason } from './types.js'
import { computeThresholds, weightOf, type BasisPoints } from './weights.js'

/** The outcome of a decision: a color index and why. Shared, immutable. */
export interface Decision {
  readonly color: number
  readonly reason: Reason
  /** The reason's index (REASON_INDEX): pre-built decisions and metric cells are addressed by it. */
  readonly reasonIndex: number
}

/** A compiled, immutable route table. */
export interface RouteTable {
  readonly version: number
  readonly colors: readonly string[]
  readonly colorIndex: ReadonlyMap<string, number>
  readonly thresholds: Uint16Array
  /** 1 where the color has weight > 0 (fallback candidates). */
  readonly weighted: Uint8Array
  /** Per color: until when (seconds since the epoch) its sticky clients may stay while it has weight 0; 0 = no window. */
  readonly drainUntil: Float64Array
  /** Accepted override values (plain color names, or signed values) → color index. */
  readonly overrides: ReadonlyMap<string, number>
  /** decisions[reasonIndex * colors.length + color]. */
  readonly decisions: readonly Decision[]
}

/** How the override header/cookie is checked. */
export interface OverrideRule {
  readonly enabled: boolean
  /** When given, only signed values are accepted (see override.ts). */
  readonly mac?: Mac | undefined
}

/** The decision when no color can serve: 503. Shared. */
export const NO_ROUTE: Decision = Object.freeze({ color: -1, reason: 'fallback', reasonIndex: REASON_INDEX.fallback })

/**
 * Compiles a route table for one state version.
 * @param drainUntil per color name, ms since the epoch (from the state's drain windows)
 */
export function buildRouteTable (version: number, colors: readonly string[], weights: BasisPoints, override: OverrideRule, drainUntil: Readonly<Record<string, number>> = {}): RouteTable {
  const colorIndex = new Map<string, number>()
  colors.forEach((c, i) => colorIndex.set(c, i))
  const overrides = new Map<string, number>()
  if (override.enabled) colors.forEach((c, i) => overrides.set(overrideValue(c, override.mac), i))
  const decisions: Decision[] = []
  REASONS.forEach((reason, reasonIndex) => {
    for (let color = 0; color < colors.length; color++) decisions.push(Object.freeze({ color, reason, reasonIndex }))
  })
  return Object.freeze({
    version,
    colors: Object.freeze([...colors]),
    colorIndex,
    thresholds: computeThresholds(colors, weights),
    weighted: Uint8Array.from(colors, (c) => (weightOf(weights, c) > 0 ? 1 : 0)),
    drainUntil: Float64Array.from(colors, (c) => (weightOf(weights, c) === 0 && Object.hasOwn(drainUntil, c) ? (drainUntil[c] as number) / 1000 : 0)),
    overrides,
    decisions: Object.freeze(decisions)
  })
}

/** The shared decision object for a reason and color. */
export function decisionFor (table: RouteTable, reason: Reason, color: number): Decision {
  return table.decisions[REASON_INDEX[reason] * table.colors.length + color] as Decision
}
