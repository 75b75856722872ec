/**
 * What the control plane (src/app.ts) uses of a data path, whichever runs it: the data path
 * in this process (localPort over buildDataPath's DataPath), or a cluster's workers behind
 * their primary (src/cluster/primary.ts). The control plane reads and steers the targets
 * through `pools` (modes, active health, availability, in-flight counts) either way.
 */
import type { Config } from '../config/config-types.js'
import type { RoutingState } from '../routing/routing-state.js'
import type { DataPath } from './proxy-server.js'
import type { TargetPools } from './target-pool.js'

/** The data path as the control plane drives it. */
export interface DataPathPort {
  /** Every color's targets: health, modes, availability and in-flight counts as this instance sees them. */
  readonly pools: TargetPools
  /**
   * True when apply() answers a promise that resolves once the state routes everywhere
   * (every worker): the instance counts the version as applied only then.
   */
  readonly awaitsApply: boolean
  /** Applies a newly applied routing state (route table, target modes). */
  apply (state: RoutingState): void | Promise<void>
  /** Uses a new cookie secret. Never log it. */
  setSecret (secret: string): void
  /** Takes a reloaded config's live data-path settings (upstream dispatcher, log level). */
  reconfigure (config: Config): void
  /** Starts taking requests; resolves to the listener's URL. */
  listen (host: string, port: number): Promise<string>
  /** Stops taking requests and drains those in flight. */
  close (): Promise<void>
  /** Closes idle upstream connections and timers (after close()). */
  closeUpstreams (): Promise<void>
}

function urlOf (dataPath: DataPath, tls: boolean): string {
  const address = dataPath.server.server.address()
  if (address === null || typeof address === 'string') return String(address)
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address
  return `${tls ? 'https' : 'http'}://${host}:${address.port}`
}

/** The port of a data path in this process. */
export function localPort (dataPath: DataPath, tls: boolean): DataPathPort {
  return {
    pools: dataPath.pools,
    awaitsApply: false,
    apply: (state) => { dataPath.apply(state) },
    setSecret: (secret) => { dataPath.setSecret(secret) },
    // The log level is the shared logger's (the reload wiring sets it).
    reconfigure: (config) => { dataPath.upstream.reconfigure(config.upstream) },
    listen: async (host, port) => {
      await dataPath.server.listen({ host, port })
      return urlOf(dataPath, tls)
    },
    close: async () => { await dataPath.server.close() },
    closeUpstreams: () => dataPath.closeUpstreams()
  }
}
