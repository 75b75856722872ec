/**
 * What the in-process stores (file, memory) share: one document (state, capped history,
 * secret) changed only through a serialized queue, compare-and-set on the version, re-seed
 * that never lowers it, heartbeats that expire, and notifications. The stores differ only
 * in where the document lives (`read`/`write`); everything else is written once here so
 * the two cannot drift (they had: the memory store's re-seed never capped its history).
 */
import { randomBytes } from 'node:crypto'
import type { HistoryEntry, RoutingState } from '../routing/routing-state.js'
import { LocalInstances } from './local-instances.js'
import { HISTORY_LIMIT, type CasOutcome, type InstanceInfo, type StateListener, type Store, type StoreErrorListener } from './store.js'

/** The document an in-process store holds. */
export interface LocalDocument {
  readonly state: RoutingState | null
  /** Newest first, at most HISTORY_LIMIT. */
  readonly history: readonly HistoryEntry[]
  readonly secret: string
}

/** A fresh cookie secret: 32 random bytes, base64url (43 characters). */
export function newSecret (): string {
  return randomBytes(32).toString('base64url')
}

/** An empty document with a fresh secret. */
export function emptyDocument (): LocalDocument {
  return { state: null, history: [], secret: newSecret() }
}

/** A Store whose document lives in this process (and maybe on disk). */
export abstract class LocalStore implements Store {
  abstract readonly kind: string
  abstract readonly shared: boolean
  readonly #instances = new LocalInstances()
  readonly #listeners = new Set<StateListener>()
  readonly #beatListeners = new Set<() => void>()
  #queue: Promise<unknown> = Promise.resolve()

  /** The current document (rejects with SWY_ERR_STORE_CORRUPT when it cannot be read). */
  protected abstract read (): Promise<LocalDocument>
  /** Makes `doc` the current document (durably, where the store is durable). */
  protected abstract write (doc: LocalDocument): Promise<void>

  #serial<T> (fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn, fn)
    this.#queue = run.catch(() => {})
    return run
  }

  /** Writes `state` with its history entry (capped) and tells every subscriber but the writer's. */
  async #commit (doc: LocalDocument, state: RoutingState, entry: HistoryEntry, secret: string, from: unknown): Promise<void> {
    await this.write({ state, history: [entry, ...doc.history].slice(0, HISTORY_LIMIT), secret })
    for (const l of this.#listeners) if (l !== from) l(state)
  }

  async connect (): Promise<void> {}

  async load (): Promise<RoutingState | null> {
    return (await this.#serial(() => this.read())).state
  }

  compareAndSet (expectedVersion: number, next: RoutingState, entry: HistoryEntry, from?: unknown): Promise<CasOutcome> {
    return this.#serial(async () => {
      const doc = await this.read()
      if ((doc.state?.version ?? 0) !== expectedVersion) return { ok: false, reason: 'conflict', current: doc.state } as const
      await this.#commit(doc, next, entry, doc.secret, from)
      return { ok: true } as const
    })
  }

  reseed (state: RoutingState, secret: string, entry: HistoryEntry, from?: unknown): Promise<boolean> {
    return this.#serial(async () => {
      const doc = await this.read()
      if ((doc.state?.version ?? 0) >= state.version) return false
      // The highest version wins whole, its secret with it, so the cookies its users hold stay valid.
      await this.#commit(doc, state, entry, secret, from)
      return true
    })
  }

  subscribe (listener: StateListener, _onError?: StoreErrorListener): () => void {
    this.#listeners.add(listener)
    return () => { this.#listeners.delete(listener) }
  }

  onConnectivity (): () => void {
    return () => {}
  }

  onHeartbeat (listener: () => void): () => void {
    this.#beatListeners.add(listener)
    return () => { this.#beatListeners.delete(listener) }
  }

  async heartbeat (info: InstanceInfo, ttlMs: number): Promise<void> {
    this.#instances.beat(info, ttlMs)
    for (const l of this.#beatListeners) l()
  }

  async instances (): Promise<readonly InstanceInfo[]> {
    return this.#instances.live()
  }

  async history (limit: number): Promise<readonly HistoryEntry[]> {
    return (await this.#serial(() => this.read())).history.slice(0, limit)
  }

  async secret (): Promise<string> {
    return (await this.#serial(() => this.read())).secret
  }

  async close (): Promise<void> {
    await this.#queue
    this.#listeners.clear()
    this.#beatListeners.clear()
  }
}
