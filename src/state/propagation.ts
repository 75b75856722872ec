/**
 * Propagation: which live instances route by a version, and waiting (`?wait`) until all do.
 * A wait re-checks when the store says a heartbeat landed (every instance beats right after
 * it applies a version), not on a timer; a slow fallback re-check means a lost message can
 * delay the answer but never hang it.
 */
import type { CurrentState } from './current-state.js'
import type { InstanceInfo, Store } from './store.js'

/** Which live instances route by a version. */
export interface Propagation {
  readonly version: number
  readonly applied: readonly InstanceInfo[]
  readonly lagging: readonly InstanceInfo[]
}

/** The fallback re-check period of a wait, when no heartbeat message arrives. */
export const RECHECK_MS = 1000

/** Answers propagation questions for one instance. */
export class PropagationWatch {
  readonly #store: Store
  readonly #instanceId: string
  readonly #current: CurrentState
  readonly #recheckMs: number

  constructor (store: Store, instanceId: string, current: CurrentState, recheckMs = RECHECK_MS) {
    this.#store = store
    this.#instanceId = instanceId
    this.#current = current
    this.#recheckMs = recheckMs
  }

  /** Which live instances have applied `version` (this one counts even before its heartbeat lands). */
  async propagation (version: number): Promise<Propagation> {
    const live = await this.#store.instances()
    const id = this.#instanceId
    const appliedVersion = this.#current.appliedVersion
    // This instance's own view replaces its heartbeat (which may lag by one beat), in place.
    const self = (beat?: InstanceInfo): InstanceInfo => ({ id, appliedVersion, appliedAt: this.#current.appliedAt, at: beat?.at ?? Date.now() })
    const all = live.some((i) => i.id === id) ? live.map((i) => (i.id === id ? self(i) : i)) : [...live, self()]
    const applied: InstanceInfo[] = []
    const lagging: InstanceInfo[] = []
    for (const i of all) (i.appliedVersion >= version ? applied : lagging).push(i)
    return { version, applied, lagging }
  }

  /**
   * Resolves when every live instance has applied `version`, or when `timeoutMs` passes
   * (with who lags). Re-checks on each heartbeat message, and every `recheckMs` without one.
   */
  async waitFor (version: number, timeoutMs: number, recheckMs = this.#recheckMs): Promise<Propagation> {
    const deadline = Date.now() + timeoutMs
    let heard = false
    let wake: (() => void) | undefined
    const off = this.#store.onHeartbeat(() => { heard = true; wake?.() })
    try {
      for (;;) {
        heard = false
        const p = await this.propagation(version)
        const left = deadline - Date.now()
        if (p.lagging.length === 0 || left <= 0) return p
        // A heartbeat that landed while we were reading is checked at once.
        // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- set by the heartbeat listener during the await above
        if (heard) continue
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, Math.min(recheckMs, left))
          wake = () => { clearTimeout(timer); resolve() }
        })
        wake = undefined
      }
    } finally {
      off()
    }
  }
}
