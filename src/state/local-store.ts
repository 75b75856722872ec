/**
 * What the in-process stores (file, memory) share: one document (state, capped history,
 * secret, rollout) changed only through a serialized queue, compare-and-set on the version
 * (and on the rollout's rev), re-seed that never lowers it, heartbeats that expire, the
 * rollout driver lease (in memory: one process owns these stores), and notifications. The stores differ only
 * in where the document lives (`read`/`write`); everything else is written once here so
 * the two cannot drift (they had: the memory store's re-seed never capped its history).
 */
import { randomBytes } from 'node:crypto'
import type { HistoryEntry, RoutingState } from '../routing/routing-state.js'
import type { Rollout } from '../rollout/types.js'
import { LocalInstances } from './local-instances.js'
import { HISTORY_LIMIT, type CasOutcome, type InstanceInfo, type RolloutCasOutcome, type RolloutWrite, type StateListener, type Store, type StoreErrorListener } from './store.js'

/** The document an in-process store holds. */
export interface LocalDocument {
  readonly state: RoutingState | null
  /** Newest first, at most HISTORY_LIMIT. */
  readonly history: readonly HistoryEntry[]
  readonly secret: string
  /** The current or last rollout (null: never one; files of releases before rollouts have none). */
  readonly rollout: Rollout | null
}

/** A fresh cookie secret: 32 random bytes, base64url (43 characters). */
export function newSecret (): string {
  return randomBytes(32).toString('base64url')
}

/** An empty document with a fresh secret. */
export function emptyDocument (): LocalDocument {
  return { state: null, history: [], secret: newSecret(), rollout: null }
}

/** A Store whose document lives in this process (and maybe on disk). */
export abstract class LocalStore implements Store {
  abstract readonly kind: string
  abstract readonly shared: boolean
  readonly #instances = new LocalInstances()
  readonly #listeners = new Set<StateListener>()
  readonly #beatListeners = new Set<() => void>()
  #queue: Promise<unknown> = Promise.resolve()
  #lease: { holder: string, expires: number } | null = null

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
    await this.write({ state, history: [entry, ...doc.history].slice(0, HISTORY_LIMIT), secret, rollout: doc.rollout })
    this.#announce(state, from)
  }

  #announce (state: RoutingState, from: unknown): void {
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

  async loadRollout (): Promise<Rollout | null> {
    return (await this.#serial(() => this.read())).rollout
  }

  writeRollout (write: RolloutWrite, from?: unknown): Promise<RolloutCasOutcome> {
    return this.#serial(async () => {
      const doc = await this.read()
      if ((doc.rollout?.rev ?? 0) !== write.expectedRev) return { ok: false, reason: 'rollout-conflict', current: doc.rollout } as const
      const change = write.change
      if (change !== undefined && (doc.state?.version ?? 0) !== change.expectedVersion) return { ok: false, reason: 'state-conflict', current: doc.state } as const
      // Newest first: the events (the last one newest), then the change's own entry.
      const added = [...(write.events ?? [])].reverse()
      if (change !== undefined) added.push(change.entry)
      const state = change?.state ?? doc.state
      await this.write({ state, history: [...added, ...doc.history].slice(0, HISTORY_LIMIT), secret: doc.secret, rollout: write.rollout })
      if (change !== undefined) this.#announce(change.state, from)
      return { ok: true } as const
    })
  }

  async acquireLease (holder: string, ttlMs: number): Promise<boolean> {
    const now = Date.now()
    const lease = this.#lease
    if (lease !== null && lease.expires > now && lease.holder !== holder) return false
    this.#lease = { holder, expires: now + ttlMs }
    return true
  }

  async leaseHolder (): Promise<string | null> {
    const lease = this.#lease
    return lease !== null && lease.expires > Date.now() ? lease.holder : null
  }

  async releaseLease (holder: string): Promise<void> {
    if (this.#lease?.holder === holder) this.#lease = null
  }

  async close (): Promise<void> {
    await this.#queue
    this.#listeners.clear()
    this.#beatListeners.clear()
  }
}
