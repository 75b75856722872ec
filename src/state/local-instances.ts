/**
 * Heartbeats kept in process memory, for the stores that live in one process (file, memory):
 * the same expiry semantics as the Redis store's, so the admin API reads them one way.
 */
import type { InstanceInfo } from './store.js'

/** A table of heartbeats that expire. */
export class LocalInstances {
  readonly #beats = new Map<string, { info: InstanceInfo, expires: number }>()

  /** Records a heartbeat. */
  beat (info: InstanceInfo, ttlMs: number): void {
    this.#beats.set(info.id, { info, expires: Date.now() + ttlMs })
  }

  /** The unexpired heartbeats. */
  live (): InstanceInfo[] {
    const now = Date.now()
    const out: InstanceInfo[] = []
    for (const [id, b] of this.#beats) {
      if (b.expires <= now) this.#beats.delete(id)
      else out.push(b.info)
    }
    return out
  }
}
