/**
 * Passive health (outlier ejection, after Envoy's): a target that fails N times in a row
 * (connect errors, resets, timeouts or 5xx) is ejected for a backoff that grows with each
 * ejection — base × 2^(ejections−1), capped — and returns when it expires. A target that
 * stays in service for a full max backoff is forgiven: its next ejection starts at base.
 * Pure: the caller passes the clock in.
 */

/** The ejection policy (config `health.passive`). */
export interface OutlierPolicy {
  readonly enabled: boolean
  readonly consecutiveFailures: number
  readonly baseEjectionMs: number
  readonly maxEjectionMs: number
}

/** Mutable per-target outlier record. */
export interface OutlierRecord {
  consecutiveFailures: number
  ejections: number
  /** 0 when in service; else the time (ms) the ejection ends. */
  ejectedUntil: number
  /** When the target last returned from an ejection (ms). */
  returnedAt: number
}

/** A fresh record (in service). */
export function newOutlierRecord (): OutlierRecord {
  return { consecutiveFailures: 0, ejections: 0, ejectedUntil: 0, returnedAt: 0 }
}

/**
 * Records one request outcome. Returns the ejection's length in ms when this failure
 * ejects the target, else 0.
 */
export function recordOutcome (r: OutlierRecord, ok: boolean, now: number, policy: OutlierPolicy): number {
  if (!policy.enabled || r.ejectedUntil > 0) return 0
  if (ok) {
    r.consecutiveFailures = 0
    return 0
  }
  r.consecutiveFailures++
  if (r.consecutiveFailures < policy.consecutiveFailures) return 0
  if (r.returnedAt > 0 && now - r.returnedAt > policy.maxEjectionMs) r.ejections = 0
  r.ejections++
  const ms = Math.min(policy.maxEjectionMs, policy.baseEjectionMs * 2 ** Math.min(r.ejections - 1, 30))
  r.ejectedUntil = now + ms
  r.consecutiveFailures = 0
  return ms
}

/** Ends an ejection (its backoff expired). */
export function endEjection (r: OutlierRecord, now: number): void {
  r.ejectedUntil = 0
  r.returnedAt = now
  r.consecutiveFailures = 0
}
