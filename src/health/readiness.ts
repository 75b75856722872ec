/**
 * What the targets add to /readyz. An instance does not claim `ready` on the strength of
 * targets that never answered: it is `ready` once a target of a color it routes to (weight
 * > 0) is known healthy, i.e. answered a request or passed an active check. Until then:
 *
 * - no active check configured: 200 `unverified`. Not 503: with no active check a target is
 *   only shown healthy by traffic, which an instance a load balancer pulled never gets (it
 *   would never become ready).
 * - active checks configured and the first probes still pending: 503 `starting` (they run
 *   at start and need no traffic, so this ends within a few check intervals).
 * - active checks say every such target is down: 200 `degraded`, for the reason a dead
 *   store is (fail static): every instance shares the targets, so a load balancer would pull
 *   them all, and clients would get connection errors instead of switchyard's coded 502/503.
 *
 * A weighted color with no target known healthy while another has one is named in the
 * detail of `ready` (a canary's targets are unknown until its first request).
 */

/** One target as readiness sees it. */
export interface TargetHealthView {
  readonly id: string
  readonly health: 'healthy' | 'unhealthy' | 'ejected' | 'unknown'
}

/** A readiness answer: 200 or 503, a status word and a sentence. */
export interface Readiness {
  readonly ready: boolean
  readonly status: string
  readonly detail: string
}

/**
 * Readiness as the targets of the weighted colors allow it, once the store is fine.
 * @param weighted the colors with weight > 0 and their targets
 * @param activeChecks whether active health checks are configured
 * @param detail what a `ready` answer says (the state version and the store)
 */
export function targetReadiness (weighted: ReadonlyArray<{ readonly color: string, readonly targets: readonly TargetHealthView[] }>, activeChecks: boolean, detail: string): Readiness {
  const unverified = weighted.filter((w) => !w.targets.some((t) => t.health === 'healthy'))
  if (unverified.length === 0) return { ready: true, status: 'ready', detail }
  const list = unverified.map((w) => `${w.color} (${w.targets.length === 0 ? 'no targets' : w.targets.map((t) => `${t.id} ${t.health}`).join(', ')})`).join('; ')
  if (unverified.length < weighted.length) return { ready: true, status: 'ready', detail: `${detail}; no target known healthy yet for ${list}` }
  if (!activeChecks) {
    return { ready: true, status: 'unverified', detail: `${detail}; no target known healthy yet for ${list}: no active health check is configured (health.active.path), so a target is known healthy once it answers a request` }
  }
  if (unverified.some((w) => w.targets.some((t) => t.health === 'unknown'))) {
    return { ready: false, status: 'starting', detail: `waiting for the first active health checks: no target known healthy yet for ${list}` }
  }
  return { ready: true, status: 'degraded', detail: `${detail}; no target is healthy for ${list}: requests fail with 502/503 until one is` }
}
