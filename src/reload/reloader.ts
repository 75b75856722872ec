/**
 * Reloading the config file into a running switchyard (SIGHUP, POST /reload). The file is
 * re-read and validated like at start; a file with any problem is refused whole, as is one
 * that changes a setting that needs a restart (listen addresses, the store, the colors…):
 * an operator who edited both a token and a port expects both or neither, and a refusal
 * that names the port says what to do. Otherwise every registered Reloadable gets the new
 * config, synchronously and in registration order, between two requests: the data path
 * never waits for a reload, and no request sees half of one.
 *
 * Components register themselves (`register`): the core ones in reload-wiring.ts, others
 * (DNS discovery) where they are built, with no change here.
 */
import type { Logger } from 'pino'
import type { LoadedConfig } from '../config/load-config.js'
import type { ErrorCode } from '../errors.js'
import { diffConfig, LIVE_SETTINGS } from './config-diff.js'

/** A part of switchyard that takes a new config live. */
export interface Reloadable {
  /** For logs: what it is (e.g. "admin tokens"). */
  readonly name: string
  /**
   * Takes the new config. Synchronous and must not fail for a config that passed
   * validation (anything slow, like closing an old agent, goes on in the background).
   */
  apply (next: LoadedConfig, previous: LoadedConfig): void
}

/** What a reload did. */
export type ReloadOutcome =
  | { readonly ok: true, readonly changed: readonly string[] }
  | { readonly ok: false, readonly code: Extract<ErrorCode, 'SWY_ERR_RELOAD_INVALID' | 'SWY_ERR_RELOAD_NOT_LIVE'>, readonly message: string, readonly problems: readonly string[] }

/** What the reloader needs. */
export interface ReloaderOptions {
  /** The config the instance started with. */
  readonly current: LoadedConfig
  /** Re-reads and validates the config file; throws SWY_ERR_CONFIG_INVALID (a ConfigError lists the problems). */
  readonly source: () => Promise<LoadedConfig>
  readonly log: Logger<string, boolean>
}

/** Re-reads the config and hands it to the registered parts; one reload at a time. */
export class Reloader {
  #current: LoadedConfig
  readonly #source: () => Promise<LoadedConfig>
  readonly #log: Logger<string, boolean>
  readonly #parts: Reloadable[] = []
  #queue: Promise<unknown> = Promise.resolve()

  constructor (opts: ReloaderOptions) {
    this.#current = opts.current
    this.#source = opts.source
    this.#log = opts.log
  }

  /** The config running now (the last one reloaded). */
  get current (): LoadedConfig {
    return this.#current
  }

  /** Registers a part that takes new configs; returns its unregistration. */
  register (part: Reloadable): () => void {
    this.#parts.push(part)
    return () => {
      const i = this.#parts.indexOf(part)
      if (i >= 0) this.#parts.splice(i, 1)
    }
  }

  /** Re-reads the config and applies it, or refuses it whole; `by` is who asked (a token name, SIGHUP), `reason` why. */
  async reload (by: string, reason = ''): Promise<ReloadOutcome> {
    const run = this.#queue.then(async () => await this.#reload(by, reason))
    this.#queue = run.catch(() => {})
    return await run
  }

  async #reload (by: string, reason: string): Promise<ReloadOutcome> {
    let next: LoadedConfig
    try {
      next = await this.#source()
    } catch (e) {
      const problems = problemsOf(e)
      if (problems === undefined) throw e
      const message = `the config file has ${problems.length} problem${problems.length === 1 ? '' : 's'}; nothing was reloaded, the running config stays`
      this.#log.error({ reload: { by, reason, refused: 'SWY_ERR_RELOAD_INVALID', problems } }, `config reload refused: ${message}:\n${problems.map((p) => `  - ${p}`).join('\n')}`)
      return { ok: false, code: 'SWY_ERR_RELOAD_INVALID', message, problems }
    }
    const diff = diffConfig(this.#current.config, next.config)
    if (diff.restart.length > 0) {
      const message = `the config file changes ${diff.restart.length === 1 ? 'a setting' : 'settings'} that need${diff.restart.length === 1 ? 's' : ''} a restart: ${diff.restart.join(', ')}; nothing was reloaded, the running config stays (a reload changes only ${LIVE_SETTINGS.join(', ')})`
      this.#log.error({ reload: { by, reason, refused: 'SWY_ERR_RELOAD_NOT_LIVE', settings: diff.restart, alsoChanged: diff.live } }, `config reload refused: ${message}`)
      return { ok: false, code: 'SWY_ERR_RELOAD_NOT_LIVE', message, problems: diff.restart }
    }
    const previous = this.#current
    if (diff.live.length > 0) {
      this.#current = next
      for (const part of this.#parts) {
        // A part that throws is a bug (apply must not fail on a valid config): it is logged
        // by name and the other parts still take the new config, as the answer says they did.
        try { part.apply(next, previous) } catch (e) { this.#log.error({ err: e, reload: { by, part: part.name } }, `config reload: ${part.name} failed to take the new config`) }
      }
    }
    this.#log.info({ reload: { by, reason, changed: diff.live } }, diff.live.length === 0 ? 'config reloaded: nothing changed' : `config reloaded: ${diff.live.join(', ')}`)
    return { ok: true, changed: diff.live }
  }
}

/** The listed problems of a config that failed to load; undefined for anything else (a bug). */
function problemsOf (e: unknown): readonly string[] | undefined {
  if (typeof e !== 'object' || e === null || (e as { code?: unknown }).code !== 'SWY_ERR_CONFIG_INVALID') return undefined
  const problems = (e as { problems?: unknown }).problems
  if (Array.isArray(problems) && problems.every((p) => typeof p === 'string')) return problems
  return [(e as Error).message]
}
