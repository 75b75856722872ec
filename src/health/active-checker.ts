/**
 * Active health checks: every target is probed with GET <path> on its own timer; a 2xx or
 * 3xx within the timeout is a success. `healthyThreshold` successes in a row mark a target
 * healthy, `unhealthyThreshold` failures in a row unhealthy. Targets start healthy (a new
 * instance does not refuse traffic before its first probe), shown as `unknown` until the
 * first passed probe confirms it; the first probe runs at once.
 */
import { Agent, request } from 'undici'

/** The active-check settings (config `health.active`, with a path). */
export interface ActiveCheckPolicy {
  readonly path: string
  readonly intervalMs: number
  readonly timeoutMs: number
  readonly healthyThreshold: number
  readonly unhealthyThreshold: number
}

/** What is probed, and where verdicts go. */
export interface Probed {
  readonly origin: string
  /** Called when the verdict changes. */
  verdict (healthy: boolean, why: string): void
  /** Called once, at the first passed check while the verdict is still the initial healthy (the target is no longer unknown). */
  confirmed? (why: string): void
}

/** Told of an error a probe round threw (a verdict callback that threw): the checker goes on. */
export type ProbeErrorListener = (origin: string, error: unknown) => void

/** Probes a set of targets until stopped. */
export class ActiveChecker {
  readonly #policy: ActiveCheckPolicy
  readonly #agent: Agent
  readonly #timers = new Map<Probed, NodeJS.Timeout>()
  readonly #onError: ProbeErrorListener
  #stopped = false

  constructor (policy: ActiveCheckPolicy, targets: readonly Probed[], onError: ProbeErrorListener = () => {}) {
    this.#policy = policy
    this.#onError = onError
    this.#agent = new Agent({ connections: 2, keepAliveTimeout: policy.intervalMs * 2, connect: { timeout: policy.timeoutMs } })
    for (const t of targets) this.#watch(t)
  }

  /** Starts probing a target that joined at run time (its first probe runs at once). */
  add (target: Probed): void {
    if (this.#stopped || this.#timers.has(target)) return
    this.#watch(target)
  }

  /** Stops probing a target that left; a probe in flight for it reports nothing more. */
  remove (target: Probed): void {
    const timer = this.#timers.get(target)
    if (timer === undefined) return
    clearInterval(timer)
    this.#timers.delete(target)
  }

  #watch (target: Probed): void {
    let healthy = true
    let confirmed = false
    let successes = 0
    let failures = 0
    const probe = async (): Promise<void> => {
      let ok = false
      let why = ''
      try {
        const res = await request(target.origin + this.#policy.path, {
          dispatcher: this.#agent,
          headersTimeout: this.#policy.timeoutMs,
          bodyTimeout: this.#policy.timeoutMs,
          signal: AbortSignal.timeout(this.#policy.timeoutMs)
        })
        await res.body.dump()
        ok = res.statusCode >= 200 && res.statusCode < 400
        why = `GET ${this.#policy.path} answered ${res.statusCode}`
      } catch (e) {
        why = `GET ${this.#policy.path} failed: ${describe(e)}`
      }
      if (this.#stopped || !this.#timers.has(target)) return
      if (ok) { successes++; failures = 0 } else { failures++; successes = 0 }
      if (healthy && failures >= this.#policy.unhealthyThreshold) { healthy = false; target.verdict(false, `${why} (${failures} in a row)`) }
      if (!healthy && successes >= this.#policy.healthyThreshold) { healthy = true; confirmed = true; target.verdict(true, `${why} (${successes} in a row)`) }
      if (ok && healthy && !confirmed) { confirmed = true; target.confirmed?.(why) }
    }
    let running = false
    const tick = (): void => {
      if (running || this.#stopped) return
      running = true
      // A round that throws (a verdict callback) must never become an unhandled rejection,
      // which ends a Node 20 process: it is reported and the next tick probes again.
      probe().catch((e: unknown) => { this.#report(target.origin, e) }).finally(() => { running = false })
    }
    const timer = setInterval(tick, this.#policy.intervalMs)
    timer.unref()
    this.#timers.set(target, timer)
    tick()
  }

  #report (origin: string, error: unknown): void {
    try { this.#onError(origin, error) } catch { /* a failing reporter must not stop the checks either */ }
  }

  /** Stops probing and closes the probe connections. */
  async stop (): Promise<void> {
    this.#stopped = true
    for (const t of this.#timers.values()) clearInterval(t)
    this.#timers.clear()
    await this.#agent.close()
  }
}

/** A probe failure's code or message, whatever was thrown. */
function describe (e: unknown): string {
  if (typeof e === 'object' && e !== null) {
    const { code, message } = e as { code?: unknown, message?: unknown }
    if (typeof code === 'string') return code
    if (typeof message === 'string') return message
  }
  return String(e)
}
