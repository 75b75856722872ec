/**
 * What `switchyard check` says about the target pool: where the pool held by the configured
 * store differs from the config's targets (the store wins at start; see src/routing/pool.ts).
 * Reads only: it never writes, seeds or heartbeats. A store it cannot reach in time is
 * reported, not an error (the config itself may still be valid).
 */
import type { StoreConfig } from '../config/config-types.js'
import { describeDifferences, poolDifferences, type Pool } from '../routing/pool.js'
import type { Store } from './store.js'

/** The outcome: the differences (none: they agree, or the store is empty), or why the store was not read. */
export type PoolReport = { readonly read: true, readonly version: number | null, readonly lines: readonly string[] } | { readonly read: false, readonly why: string }

/** Reads the store's state (bounded by `timeoutMs`) and compares its pool with the config's targets. */
export async function poolReport (config: StoreConfig, colors: readonly string[], configPool: Pool, timeoutMs = 3000): Promise<PoolReport> {
  if (config.kind === 'memory') return { read: false, why: 'the memory store holds nothing before a start' }
  let store: Store
  if (config.kind === 'file') {
    const { FileStore } = await import('./file-store.js')
    store = new FileStore(config.path)
  } else {
    const { RedisStore } = await import('./redis-store.js')
    store = new RedisStore(config)
  }
  let timer: NodeJS.Timeout | undefined
  try {
    const read = (async () => { await store.connect(); return await store.load() })()
    const timeout = new Promise<never>((_resolve, reject) => { timer = setTimeout(() => { reject(new Error(`no answer within ${timeoutMs} ms`)) }, timeoutMs) })
    const state = await Promise.race([read, timeout])
    if (state === null) return { read: true, version: null, lines: [] }
    return { read: true, version: state.version, lines: describeDifferences(poolDifferences(colors, state.pool, configPool)) }
  } catch (e) {
    return { read: false, why: (e as Error).message }
  } finally {
    clearTimeout(timer)
    await store.close().catch(() => {})
  }
}
