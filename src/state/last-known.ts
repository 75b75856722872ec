/**
 * The last-known-state file of an instance on a shared store: the state it routes by and
 * the cookie secret, rewritten (atomically, mode 0600) after every applied version. It lets
 * an instance start and route while Redis is down, and put the state back if Redis returns
 * empty. It is a cache of the store, never a second source of truth: the store wins when
 * it holds the same or a newer version.
 */
import { readFile } from 'node:fs/promises'
import { SwitchyardError } from '../errors.js'
import type { RoutingState } from '../routing/routing-state.js'
import { writeFileAtomic } from './atomic-file.js'
import { checkSecret, checkStoredState, parseStored } from './stored-state.js'

const FORMAT = 'switchyard-last-known/1'

/** What the file holds. */
export interface LastKnown {
  readonly state: RoutingState
  readonly secret: string
}

/** Reads and writes one last-known-state file; writes are serialized and coalesced. */
export class LastKnownFile {
  readonly path: string
  #pending: LastKnown | undefined
  #writing: Promise<void> | undefined

  constructor (path: string) {
    this.path = path
  }

  /** The saved state, or undefined when there is no file. A damaged file is an error. */
  async read (): Promise<LastKnown | undefined> {
    let text: string
    try {
      text = await readFile(this.path, 'utf8')
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined
      throw new SwitchyardError('SWY_ERR_STORE_CORRUPT', `cannot read last-known-state file ${this.path}: ${(e as Error).message}`)
    }
    const value = parseStored(text, `last-known-state file ${this.path}`)
    const doc = (typeof value === 'object' && value !== null ? value : {}) as { format?: unknown, state?: unknown, secret?: unknown }
    const problems = doc.format === FORMAT ? checkStoredState(doc.state).map((p) => `state: ${p}`) : [`format must be "${FORMAT}"`]
    problems.push(...checkSecret(doc.secret))
    if (problems.length > 0) throw new SwitchyardError('SWY_ERR_STORE_CORRUPT', `last-known-state file ${this.path} is not valid: ${problems.join('; ')}`)
    return { state: doc.state as RoutingState, secret: doc.secret as string }
  }

  /** Saves in the background; only the newest pending value is written. */
  save (value: LastKnown): void {
    this.#pending = value
    this.#writing ??= this.#drain()
  }

  async #drain (): Promise<void> {
    try {
      while (this.#pending !== undefined) {
        const v = this.#pending
        this.#pending = undefined
        await writeFileAtomic(this.path, JSON.stringify({ format: FORMAT, state: v.state, secret: v.secret }) + '\n').catch(() => {})
      }
    } finally {
      this.#writing = undefined
    }
  }

  /** Resolves when pending writes are on disk. */
  async flush (): Promise<void> {
    while (this.#writing !== undefined) await this.#writing
  }
}
