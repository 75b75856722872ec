/**
 * Logging on the data path. An upstream that is down fails every request sent to it: one warn
 * line per target per interval says so, and the next line counts the ones left out, so a
 * dead target cannot flood the log. Requests log through one shared child that passes errors
 * only, because reply-from logs every failed upstream call at warn and switchyard already
 * logs those itself (rate-limited) and client aborts at debug.
 */
import type { FastifyBaseLogger } from 'fastify'
import type { Target } from './target-pool.js'
import type { UpstreamFailure } from './upstream-errors.js'

/** A warn line per target at most this often; the next line counts the ones left out. */
const UPSTREAM_LOG_INTERVAL_MS = 10_000

/** node's levels by name, to keep library warnings (reply-from logs every upstream error at warn) out of the log. */
const LEVELS: Readonly<Record<string, number>> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Infinity }

/**
 * The logger requests log through: `logger` itself when it passes errors only already, else
 * one child at level error (one for every request: a pino child per request showed in the profile).
 */
export function errorsOnlyLogger (logger: FastifyBaseLogger): FastifyBaseLogger {
  const baseLevel = LEVELS[logger.level] ?? 30
  return baseLevel >= (LEVELS.error as number) ? logger : logger.child({}, { level: 'error' })
}

/** Rate-limited warn lines about failed upstream calls; the quiet window is kept on each target. */
export class UpstreamLog {
  readonly #logger: FastifyBaseLogger
  readonly #clock: { readonly ms: number }

  constructor (logger: FastifyBaseLogger, clock: { readonly ms: number }) {
    this.#logger = logger
    this.#clock = clock
  }

  /** One warn line per target per interval, with the count of the lines left out since. */
  failure (target: Target, failure: UpstreamFailure): void {
    const now = this.#clock.ms
    if (now < target.logQuietUntil) {
      target.logSuppressed++
      return
    }
    target.logQuietUntil = now + UPSTREAM_LOG_INTERVAL_MS
    const suppressed = target.logSuppressed
    target.logSuppressed = 0
    this.#logger.warn({ code: failure.code, color: target.colorName, target: target.id, kind: failure.kind, ...(suppressed > 0 ? { suppressed } : {}) },
      suppressed > 0 ? `upstream failure (${suppressed} more on this target not logged)` : 'upstream failure')
  }
}
