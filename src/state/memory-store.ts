/**
 * An in-process store for tests and throwaway runs: same semantics as the others
 * (compare-and-set on version, capped history, notifications), nothing persisted.
 */
import { randomBytes } from 'node:crypto'
import type { HistoryEntry, RoutingState } from '../routing/routing-state.js'
import { LocalInstances } from './local-instances.js'
import { HISTORY_LIMIT, type CasOutcome, type InstanceInfo, type Store } from './store.js'

/** A Store held in memory. */
export class MemoryStore implements Store {
  readonly kind = 'memory'
  readonly shared = true
  readonly #instances = new LocalInstances()
  #state: RoutingState | null = null
  #history: HistoryEntry[] = []
  #secret: string | undefined
  readonly #listeners = new Set<(state: RoutingState) => void>()

  async connect (): Promise<void> {}

  async load (): Promise<RoutingState | null> {
    return this.#state
  }

  async compareAndSet (expectedVersion: number, next: RoutingState, entry: HistoryEntry): Promise<CasOutcome> {
    const current = this.#state?.version ?? 0
    if (current !== expectedVersion) return { ok: false, reason: 'conflict', current: this.#state }
    this.#state = next
    this.#history.unshift(entry)
    if (this.#history.length > HISTORY_LIMIT) this.#history.length = HISTORY_LIMIT
    for (const l of this.#listeners) l(next)
    return { ok: true }
  }

  async reseed (state: RoutingState, secret: string, entry: HistoryEntry): Promise<boolean> {
    this.#secret ??= secret
    if ((this.#state?.version ?? 0) >= state.version) return false
    this.#state = state
    this.#history.unshift(entry)
    for (const l of this.#listeners) l(state)
    return true
  }

  onConnectivity (): () => void {
    return () => {}
  }

  async heartbeat (info: InstanceInfo, ttlMs: number): Promise<void> {
    this.#instances.beat(info, ttlMs)
  }

  async instances (): Promise<readonly InstanceInfo[]> {
    return this.#instances.live()
  }

  subscribe (listener: (state: RoutingState) => void): () => void {
    this.#listeners.add(listener)
    return () => { this.#listeners.delete(listener) }
  }

  async history (limit: number): Promise<readonly HistoryEntry[]> {
    return this.#history.slice(0, limit)
  }

  async secret (): Promise<string> {
    this.#secret ??= randomBytes(32).toString('base64url')
    return this.#secret
  }

  async close (): Promise<void> {
    this.#listeners.clear()
  }
}
