/**
 * Active health checks: every target is probed with GET <path> on its own timer; a 2xx or
 * 3xx within the timeout is a success. `healthyThreshold` successes in a row mark a target
 * healthy, `unhealthyThreshold` failures in a row unhealthy. Targets start healthy (a new
 * instance does not refuse traffic before its first probe), shown as `unknown` until the
 * first passed probe confirms it; the first probe runs at once.
 *
 * Each target has its own policy (a color's `colors.<name>.health.active` over the global
 * `health.active`), and `setPolicy` changes them live (a config reload): a target keeps its
 * verdict across the change; its streaks restart only when its path changes (another
 * endpoint's answers say nothing about the old one's); a target whose checks are turned off
 * is healthy again as far as active checks go.
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
  /** The target's color name (what a per-color policy is chosen by). */
  readonly color?: string
  /** Called when the verdict changes. */
  verdict (healthy: boolean, why: string): void
  /** Called once, at the first passed check while the verdict is still the initial healthy (the target is no longer unknown). */
  confirmed? (why: string): void
}

/** Each target's policy; undefined: that target is not actively checked. */
export type PolicyOf = (target: Probed) => ActiveCheckPolicy | undefined

/** Told of an error a probe round threw (a verdict callback that threw): the checker goes on. */
export type ProbeErrorListener = (origin: string, error: unknown) => void

/** One watched target: its policy, timer and streaks. */
interface Watch {
  readonly target: Probed
  policy: ActiveCheckPolicy | undefined
  timer: NodeJS.Timeout | undefined
  healthy: boolean
  confirmed: boolean
  successes: number
  failures: number
  running: boolean
  /** Bumped when the policy changes: a probe begun under an older one does not count. */
  epoch: number
}

/** Probes a set of targets until stopped. */
export class ActiveChecker {
  #policyOf: PolicyOf
  readonly #agent: Agent
  readonly #watches = new Map<Probed, Watch>()
  readonly #onError: ProbeErrorListener
  #stopped = false

  /**
   * @param policy one policy for every target, or each target's (undefined: not checked)
   */
  constructor (policy: ActiveCheckPolicy | PolicyOf, targets: readonly Probed[], onError: ProbeErrorListener = () => {}) {
    this.#policyOf = typeof policy === 'function' ? policy : () => policy
    this.#onError = onError
    // Probe timeouts are per request (each target's policy); the agent's connect timeout is
    // only the outer bound, so a reload that lengthens a timeout needs no new agent.
    this.#agent = new Agent({ connections: 2, keepAliveTimeout: 10_000, connect: { timeout: 60_000 } })
    for (const t of targets) this.#watch(t)
  }

  /** How many targets are actively checked now. */
  get checked (): number {
    let n = 0
    for (const w of this.#watches.values()) if (w.policy !== undefined) n++
    return n
  }

  /** Starts probing a target that joined at run time (its first probe runs at once). */
  add (target: Probed): void {
    if (this.#stopped || this.#watches.has(target)) return
    this.#watch(target)
  }

  /** Stops probing a target that left; a probe in flight for it reports nothing more. */
  remove (target: Probed): void {
    const w = this.#watches.get(target)
    if (w === undefined) return
    if (w.timer !== undefined) clearInterval(w.timer)
    w.timer = undefined
    w.policy = undefined
    w.epoch++
    this.#watches.delete(target)
  }

  #watch (target: Probed): void {
    const w: Watch = { target, policy: undefined, timer: undefined, healthy: true, confirmed: false, successes: 0, failures: 0, running: false, epoch: 0 }
    this.#watches.set(target, w)
    this.#apply(w, this.#policyOf(target))
  }

  /** Gives a watched target a (new) policy: timer, streaks and verdict as the module header says. */
  #apply (w: Watch, next: ActiveCheckPolicy | undefined): void {
    const before = w.policy
    if (before !== undefined && next !== undefined && samePolicy(before, next)) return
    w.policy = next
    w.epoch++
    if (before === undefined || next === undefined || before.path !== next.path) { w.successes = 0; w.failures = 0 }
    if (next === undefined) {
      if (w.timer !== undefined) { clearInterval(w.timer); w.timer = undefined }
      if (!w.healthy) {
        w.healthy = true
        this.#call(w, () => { w.target.verdict(true, 'active checks turned off') })
      }
      return
    }
    if (before === undefined || before.intervalMs !== next.intervalMs) {
      if (w.timer !== undefined) clearInterval(w.timer)
      w.timer = setInterval(() => { this.#tick(w) }, next.intervalMs)
      w.timer.unref()
      if (before === undefined) this.#tick(w)
    }
  }

  #tick (w: Watch): void {
    if (w.running || this.#stopped || w.policy === undefined) return
    w.running = true
    // A round that throws (a verdict callback) must never become an unhandled rejection,
    // which ends a Node 20 process: it is reported and the next tick probes again.
    this.#probe(w, w.policy).catch((e: unknown) => { this.#report(w.target.origin, e) }).finally(() => { w.running = false })
  }

  async #probe (w: Watch, policy: ActiveCheckPolicy): Promise<void> {
    const epoch = w.epoch
    let ok = false
    let why = ''
    try {
      const res = await request(w.target.origin + policy.path, {
        dispatcher: this.#agent,
        headersTimeout: policy.timeoutMs,
        bodyTimeout: policy.timeoutMs,
        signal: AbortSignal.timeout(policy.timeoutMs)
      })
      await res.body.dump()
      ok = res.statusCode >= 200 && res.statusCode < 400
      why = `GET ${policy.path} answered ${res.statusCode}`
    } catch (e) {
      why = `GET ${policy.path} failed: ${describe(e)}`
    }
    if (this.#stopped || epoch !== w.epoch) return
    if (ok) { w.successes++; w.failures = 0 } else { w.failures++; w.successes = 0 }
    if (w.healthy && w.failures >= policy.unhealthyThreshold) { w.healthy = false; w.target.verdict(false, `${why} (${w.failures} in a row)`) }
    if (!w.healthy && w.successes >= policy.healthyThreshold) { w.healthy = true; w.confirmed = true; w.target.verdict(true, `${why} (${w.successes} in a row)`) }
    if (ok && w.healthy && !w.confirmed) { w.confirmed = true; w.target.confirmed?.(why) }
  }

  /**
   * Changes the policies (a config reload): every target gets its policy from `policy` now,
   * keeping its verdict; see the module header.
   */
  setPolicy (policy: ActiveCheckPolicy | PolicyOf): void {
    this.#policyOf = typeof policy === 'function' ? policy : () => policy
    if (this.#stopped) return
    for (const w of this.#watches.values()) this.#apply(w, this.#policyOf(w.target))
  }

  #call (w: Watch, fn: () => void): void {
    try { fn() } catch (e) { this.#report(w.target.origin, e) }
  }

  #report (origin: string, error: unknown): void {
    try { this.#onError(origin, error) } catch { /* a failing reporter must not stop the checks either */ }
  }

  /** Stops probing and closes the probe connections. */
  async stop (): Promise<void> {
    this.#stopped = true
    for (const w of this.#watches.values()) if (w.timer !== undefined) clearInterval(w.timer)
    this.#watches.clear()
    await this.#agent.close()
  }
}

function samePolicy (a: ActiveCheckPolicy, b: ActiveCheckPolicy): boolean {
  return a.path === b.path && a.intervalMs === b.intervalMs && a.timeoutMs === b.timeoutMs &&
    a.healthyThreshold === b.healthyThreshold && a.unhealthyThreshold === b.unhealthyThreshold
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
