/**
 * The admin API's answers as the CLI reads them (GET /state, /targets, /instances,
 * /history, a write's `propagation`). Only the fields the CLI shows; the server may add more.
 */

/** GET /state (and the body of every routing write). */
export interface StateBody {
  readonly version: number
  readonly colors: readonly string[]
  readonly weights: Readonly<Record<string, number>>
  readonly kind?: string
  readonly changedBy?: string
  readonly reason?: string
  readonly changedAt?: string
  readonly store?: string
  readonly instances?: { readonly applied: number, readonly total: number } | null
  readonly propagation?: PropagationBody
}

/** One instance as GET /instances and `propagation` list it. */
export interface InstanceBody {
  readonly id: string
  readonly appliedVersion: number
  readonly appliedAt?: string
  readonly lastSeen?: string
  readonly self?: boolean
}

/** The `propagation` of a write sent with `?wait`. */
export interface PropagationBody {
  readonly version: number
  readonly converged: boolean
  readonly applied: readonly InstanceBody[]
  readonly lagging: readonly InstanceBody[]
  readonly slowestMs: number | null
}

/** One target as GET /targets lists it. */
export interface TargetBody {
  readonly color: string
  readonly id: string
  readonly url: string
  readonly mode: string
  readonly health: string
  readonly inFlight: number
  /** Over every live instance (servers before multi-instance drains leave it out). */
  readonly inFlightAll?: number
  readonly ejectedUntil?: string
}

/** One GET /history entry. */
export interface HistoryBody {
  readonly version: number
  readonly kind: string
  readonly changedBy: string
  readonly reason: string
  readonly changedAt: string
  readonly after: { readonly weights: Readonly<Record<string, number>> }
}

/** `value` as an object (or an empty one), for reading an answer's fields. */
export function asRecord (value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null ? value as Record<string, unknown> : {}
}

/** `value[key]` as an array (or an empty one), typed as the caller expects. */
export function listOf<T> (value: unknown, key: string): readonly T[] {
  const v = asRecord(value)[key]
  return Array.isArray(v) ? v as T[] : []
}
