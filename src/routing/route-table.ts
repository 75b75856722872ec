/**
 * The route table: everything a request needs to pick a color, compiled once per state
 * change. Decisions are pre-built per (reason, color), so a pick returns a shared object
 * and allocates nothing.
 */
import { overrideValue } from './override.js'
import type { Mac } from './sticky-cookie.js'
import { REASONS, type Reason } from './types.js'
import { computeThresholds, type BasisPoints } from './weights.js'

/** The outcome of a decision: a color index and why. Shared, immutable. */
export interface Decision {
  readonly color: number
  readonly reason: Reason
  /** The reason's index in REASONS (metric children are addressed by it). */
  readonly reasonIndex: number
}

/** A compiled, immutable route table. */
export interface RouteTable {
  readonly version: number
  readonly colors: readonly string[]
  readonly colorIndex: ReadonlyMap<string, number>
  readonly thresholds: Uint16Array
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

/** Compiles a route table for one state version. */
export function buildRouteTable (version: number, colors: readonly string[], weights: BasisPoints, override: OverrideRule): RouteTable {
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
    overrides,
    decisions: Object.freeze(decisions)
  })
}

/** The shared decision object for a reason and color. */
export function decisionFor (table: RouteTable, reason: Reason, color: number): Decision {
  return table.decisions[REASONS.indexOf(reason) * table.colors.length + color] as Decision
}
