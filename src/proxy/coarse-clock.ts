/**
 * A clock the data path reads once per request as a plain field, refreshed every 100 ms by
 * an unref'd timer. Cookie issue times are in seconds and drain windows need no finer than
 * a tenth of a second, so a syscall-free read is enough.
 */

/** Milliseconds since the epoch, at most `resolutionMs` old while started. */
export class CoarseClock {
  ms = Date.now()
  #timer: NodeJS.Timeout | undefined

  /** Starts refreshing (idempotent). */
  start (resolutionMs = 100): this {
    this.#timer ??= setInterval(() => { this.ms = Date.now() }, resolutionMs).unref()
    return this
  }

  /** Stops refreshing. */
  stop (): void {
    clearInterval(this.#timer)
    this.#timer = undefined
  }
}
