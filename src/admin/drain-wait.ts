/**
 * Drains that wait for every instance. Each instance publishes its requests in flight per
 * target with its heartbeat (src/state/store-sync.ts: every beat, and an extra beat as soon
 * as the count of a target taking no new request changes). A target is drained when every
 * LIVE instance
 *   - routes by the drain's version or newer (it sends the target no new request), and
 *   - reported 0 requests in flight to it in a heartbeat written at that version.
 * An instance whose heartbeat expired (stopped, crashed, cut off from the store) is not live
 * and stops counting, as for `?wait` propagation (src/state/propagation.ts).
 *
 * Older releases' heartbeats carry no counts ("not reporting"). Such an instance counts as 0
 * once it routes by the drain's version (it sends no new request to the target from then on),
 * and is named in `notReporting`. Waiting on it instead would make every drain of a mixed
 * fleet (during switchyard's own rolling upgrade) time out with 202, whatever the targets do:
 * a deploy script that waits for "drained" would stall until the upgrade ends. What this
 * keeps: the promise holds for every upgraded instance, and an old instance gives the
 * guarantee it gave before (no new request), named in the answer so a strict script can wait
 * (see docs/drains.md).
 *
 * This instance counts by its live numbers, not its last heartbeat. With a store that is not
 * shared (file, memory) only this instance counts, as before.
 *
 * The one wait of the admin API: the drain route and the removal of a target both use it.
 */
import type { InFlightCounts, InstanceInfo, Store } from '../state/store.js'
import { RECHECK_MS } from '../state/propagation.js'

/** What the wait reads: the store's heartbeats, this instance's live numbers. */
export interface DrainWaitDeps {
  readonly store: Pick<Store, 'shared' | 'instances' | 'onHeartbeat'>
  /** This instance's id in heartbeats. */
  readonly instanceId: string
  /** The routing-state version this instance routes by now. */
  readonly version: () => number
  /** This instance's requests in flight per color and target (nonzero only; app.ts's inFlightByTarget). */
  readonly inFlightByTarget: () => InFlightCounts
  /** The fallback re-read of the heartbeats when no heartbeat message arrives (default RECHECK_MS). */
  readonly recheckMs?: number
}

/** An instance the drain still waits for. */
export interface PendingInstance {
  readonly instance: string
  /** Its requests in flight to the target (null: it does not report counts, an older release). */
  readonly inFlight: number | null
  /** The version it routes by. */
  readonly appliedVersion: number
  /** `requests`: some are in flight; `version`: it has not applied the drain yet, so it may still send new ones. */
  readonly waitingFor: 'requests' | 'version'
}

/** What a drain's or a removal's answer says of the wait: this instance's count, then the fleet's outcome. */
export function drainAnswer (o: DrainOutcome, inFlightHere: number): { inFlight: number, inFlightAll: number, drained: boolean, pending: readonly PendingInstance[], notReporting: readonly string[] } {
  return { inFlight: inFlightHere, inFlightAll: o.inFlightAll, drained: o.drained, pending: o.pending, notReporting: o.notReporting }
}

/** The answer of a drain wait. */
export interface DrainOutcome {
  /** True when every live instance routes by `version` or newer and has nothing in flight to the target. */
  readonly drained: boolean
  /** The routing-state version the instances had to apply. */
  readonly version: number
  /** Requests in flight to the target over the live instances that report counts. */
  readonly inFlightAll: number
  /** The live instances still holding the drain up (empty when drained). */
  readonly pending: readonly PendingInstance[]
  /** Live instances of an older release, which publish no counts (counted as 0 once at `version`). */
  readonly notReporting: readonly string[]
}

/** One live instance's in-flight counts (null: it does not report them). */
export interface InstanceInFlight {
  readonly instance: string
  readonly self: boolean
  readonly appliedVersion: number
  readonly counts: InFlightCounts | null
}

/** How often the wait re-checks this instance's own count (no I/O). */
export const LOCAL_RECHECK_MS = 20

function countOf (counts: InFlightCounts, color: string, id: string): number {
  return counts[color]?.[id] ?? 0
}

/** Answers "is this target drained on every live instance?" and waits for it. */
export class DrainWatch {
  readonly #d: DrainWaitDeps

  constructor (deps: DrainWaitDeps) {
    this.#d = deps
  }

  #self (): InstanceInFlight {
    return { instance: this.#d.instanceId, self: true, appliedVersion: this.#d.version(), counts: this.#d.inFlightByTarget() }
  }

  /** The other live instances' last published counts (none with a store that is not shared). */
  async #others (): Promise<InstanceInFlight[]> {
    if (!this.#d.store.shared) return []
    const live: readonly InstanceInfo[] = await this.#d.store.instances()
    return live.filter((i) => i.id !== this.#d.instanceId).map((i) => ({ instance: i.id, self: false, appliedVersion: i.appliedVersion, counts: i.inFlight ?? null }))
  }

  /** Every live instance's in-flight counts, this one's live (for GET /targets). */
  async fleet (): Promise<InstanceInFlight[]> {
    const others = await this.#others()
    return [this.#self(), ...others]
  }

  /** Where a target's drain stands now, given the instances' counts. */
  static outcome (fleet: readonly InstanceInFlight[], color: string, id: string, version: number): DrainOutcome {
    const pending: PendingInstance[] = []
    const notReporting: string[] = []
    let inFlightAll = 0
    for (const i of fleet) {
      const n = i.counts === null ? null : countOf(i.counts, color, id)
      if (n === null) notReporting.push(i.instance)
      else inFlightAll += n
      if (i.appliedVersion < version) pending.push({ instance: i.instance, inFlight: n, appliedVersion: i.appliedVersion, waitingFor: 'version' })
      else if (n !== null && n > 0) pending.push({ instance: i.instance, inFlight: n, appliedVersion: i.appliedVersion, waitingFor: 'requests' })
    }
    return { drained: pending.length === 0, version, inFlightAll, pending, notReporting }
  }

  /** Where the drain of `color`/`id` stands now (see the module comment). */
  async check (color: string, id: string, version = this.#d.version()): Promise<DrainOutcome> {
    return DrainWatch.outcome(await this.fleet(), color, id, version)
  }

  /**
   * Resolves when `color`/`id` is drained on every live instance (see the module comment), or
   * when `waitMs` has passed, with the instances still pending. `version`: the routing-state
   * version that set the drain (default: the one this instance routes by now). Re-reads the
   * heartbeats when one lands (or every recheckMs without one), and this instance's own count
   * every LOCAL_RECHECK_MS; a failed re-read keeps the last one (the wait never answers
   * "drained" from what it could not read).
   */
  async waitDrained (color: string, id: string, waitMs: number, version = this.#d.version()): Promise<DrainOutcome> {
    const deadline = Date.now() + waitMs
    const recheckMs = this.#d.recheckMs ?? RECHECK_MS
    let heard = false
    let wake: (() => void) | undefined
    const off = this.#d.store.shared ? this.#d.store.onHeartbeat(() => { heard = true; wake?.() }) : () => {}
    try {
      let others = await this.#others()
      let readAt = Date.now()
      for (;;) {
        const now = Date.now()
        // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- set by the heartbeat listener while waiting
        if (heard || now - readAt >= recheckMs) {
          heard = false
          readAt = now
          try { others = await this.#others() } catch { /* keep the last read; the next beat or recheck tries again */ }
        }
        const o = DrainWatch.outcome([this.#self(), ...others], color, id, version)
        const left = deadline - Date.now()
        if (o.drained || left <= 0) return o
        // A heartbeat that landed while we were reading is read at once.
        // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- set by the heartbeat listener during the await above
        if (heard) continue
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, Math.min(LOCAL_RECHECK_MS, left))
          wake = () => { clearTimeout(timer); resolve() }
        })
        wake = undefined
      }
    } finally {
      off()
    }
  }
}

/**
 * GET /targets' view: each target of this instance with `inFlightAll` (the total over the
 * live instances that report counts) and `inFlightByInstance` (the nonzero counts by instance).
 */
export function withFleetInFlight (targets: ReadonlyArray<Record<string, unknown>>, fleet: readonly InstanceInFlight[]): Array<Record<string, unknown>> {
  return targets.map((t) => {
    const color = String(t.color)
    const id = String(t.id)
    const byInstance: Record<string, number> = {}
    let all = 0
    for (const i of fleet) {
      const n = i.counts === null ? 0 : countOf(i.counts, color, id)
      if (n > 0) { byInstance[i.instance] = n; all += n }
    }
    return { ...t, inFlightAll: all, inFlightByInstance: byInstance }
  })
}
