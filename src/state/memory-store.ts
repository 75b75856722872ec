/**
 * An in-process store for tests and throwaway runs: same semantics as the others
 * (compare-and-set on version, capped history, notifications), nothing persisted.
 */
import { emptyDocument, LocalStore, type LocalDocument } from './local-store.js'

/** A Store held in memory. */
export class MemoryStore extends LocalStore {
  readonly kind = 'memory'
  readonly shared = true
  #doc: LocalDocument = emptyDocument()

  protected async read (): Promise<LocalDocument> {
    return this.#doc
  }

  protected async write (doc: LocalDocument): Promise<void> {
    this.#doc = doc
  }
}
