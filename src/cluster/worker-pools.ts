/**
 * A worker's targets. Routing reads them exactly as in one process (pick, availability), but
 * passive health is decided by the primary for the whole instance: a worker reports what
 * matters (a failure, or a success after one) instead of counting it itself, and takes each
 * target's active health, ejection and "failed since it last answered" flag from the
 * primary's health messages. A success on a target nobody has seen fail sends nothing, so
 * the common path stays without IPC.
 */
import type { TargetConfig } from '../config/config-types.js'
import type { OutlierPolicy } from '../health/outlier.js'
import { TargetPools, type Target } from '../proxy/target-pool.js'
import { HEALTH_ACTIVE_OK, HEALTH_EJECTED, HEALTH_SUSPECT } from './protocol.js'

/** Where a worker's pools report outcomes (to the primary). */
export interface OutcomeReporter {
  outcome (target: Target, ok: boolean): void
  answered (target: Target): void
}

/** The flat list of every color's targets, in config order: the protocol's target numbering. */
export function flatTargets (pools: TargetPools): readonly Target[] {
  return pools.byColor.flat()
}

/** A worker's pools: passive health reported to the primary, health flags applied from it. */
export class WorkerPools extends TargetPools {
  #flat: readonly Target[]
  readonly #report: OutcomeReporter

  constructor (colors: readonly string[], targets: ReadonlyArray<readonly TargetConfig[]>, policy: OutlierPolicy | readonly OutlierPolicy[], report: OutcomeReporter) {
    super(colors, targets, policy)
    this.#report = report
    this.#flat = flatTargets(this)
    this.onMembership(() => { this.#flat = flatTargets(this) })
  }

  /** Marks a target retiring (no new request); the primary removes it once no worker has one in flight. */
  markRetiring (t: Target): void {
    t.retiring = true
    this.recompute()
  }

  /** Reports to the primary instead of counting here (the primary ejects for every worker). */
  override outcome (t: Target, ok: boolean): void {
    if (ok) {
      if (!t.answered) {
        t.answered = true
        this.#report.answered(t)
      }
      if (t.outlier.consecutiveFailures === 0) return
      t.outlier.consecutiveFailures = 0
      this.#report.outcome(t, true)
      return
    }
    if (t.outlier.ejectedUntil > 0) return
    t.outlier.consecutiveFailures = 1
    this.#report.outcome(t, false)
  }

  /** Takes the primary's health flags (HEALTH_* per flat target) and recomputes who may take requests. */
  applyHealth (flags: Uint8Array): void {
    this.#flat.forEach((t, i) => {
      const f = flags[i] ?? HEALTH_ACTIVE_OK
      t.activeHealthy = (f & HEALTH_ACTIVE_OK) !== 0
      // The primary keeps the ejection's end; here only "ejected or not" matters.
      t.outlier.ejectedUntil = (f & HEALTH_EJECTED) !== 0 ? 1 : 0
      t.outlier.consecutiveFailures = (f & HEALTH_SUSPECT) !== 0 ? 1 : 0
    })
    this.recompute()
  }

  /** Requests in flight per flat target. */
  inFlight (): Int32Array {
    const out = new Int32Array(this.#flat.length)
    this.#flat.forEach((t, i) => { out[i] = t.inFlight })
    return out
  }
}

/** The primary's health flags of its targets (HEALTH_* per flat target). */
export function healthFlags (targets: readonly Target[]): Uint8Array {
  const out = new Uint8Array(targets.length)
  targets.forEach((t, i) => {
    out[i] = (t.activeHealthy ? HEALTH_ACTIVE_OK : 0) | (t.outlier.ejectedUntil > 0 ? HEALTH_EJECTED : 0) | (t.outlier.consecutiveFailures > 0 ? HEALTH_SUSPECT : 0)
  })
  return out
}
