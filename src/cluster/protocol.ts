/**
 * The messages between a cluster's primary and its data-path workers (node:cluster IPC with
 * `serialization: 'advanced'`, so typed arrays travel as they are). The primary owns the
 * control plane and sends what the data path routes by; a worker acknowledges each numbered
 * message once it routes by it, so the primary knows when every worker has applied a state.
 *
 * Primary → worker, targets are named by their index in the flat list of every color's
 * targets (TargetPools.byColor.flat()): a worker applies membership changes (add, remove) in
 * the order the primary made them, so its list is the primary's when it reads a message.
 * Worker → primary, a list indexed that way carries the `layout` (the seq of the last
 * membership change the worker applied), and single targets go by color index and id.
 */
import type { Config, TargetConfig } from '../config/config-types.js'
import type { TargetSource } from '../proxy/target-pool.js'
import type { RequestCells } from '../metrics/metrics.js'
import type { RoutingState, TargetMode } from '../routing/routing-state.js'
import type { TlsMaterial } from '../tls.js'

/** Health flags of one target, as the primary decided them (HealthFlags[i] for flat target i). */
export const HEALTH_ACTIVE_OK = 1
/** The target is ejected (passive health) for the whole instance. */
export const HEALTH_EJECTED = 2
/** The target has failed since it last answered (the primary counts consecutive failures): a worker reports its next success. */
export const HEALTH_SUSPECT = 4

/** What a worker needs to build its data path. */
export interface WorkerInit {
  readonly type: 'init'
  readonly seq: number
  readonly config: Config
  readonly colors: readonly string[]
  /** Every color's targets now (config ones and any added since), with the flat indexes of those retiring. */
  readonly targets: ReadonlyArray<readonly TargetConfig[]>
  readonly retiring: readonly number[]
  /** The seq of the last membership change (the layout of `targets`). */
  readonly layout: number
  readonly tls: TlsMaterial | undefined
  readonly state: RoutingState
  readonly secret: string
  readonly health: Uint8Array
  /** Where to listen (the primary holds the socket; every worker shares it). */
  readonly host: string
  readonly port: number
}

/** Primary → worker. Every message but `scrape` carries a seq the worker acknowledges. */
export type ToWorker =
  | WorkerInit
  | { readonly type: 'apply', readonly seq: number, readonly state: RoutingState }
  | { readonly type: 'secret', readonly seq: number, readonly secret: string }
  /** A reload's live data-path settings. */
  | { readonly type: 'reconfigure', readonly seq: number, readonly upstream: Config['upstream'], readonly logLevel: Config['log']['level'] }
  | { readonly type: 'health', readonly seq: number, readonly health: Uint8Array }
  | { readonly type: 'scrape', readonly id: number }
  /** A target joined color `color` (TargetPools.add). */
  | { readonly type: 'add', readonly seq: number, readonly color: number, readonly target: TargetConfig, readonly source: TargetSource, readonly mode: TargetMode }
  /** A target left (TargetPools.remove). */
  | { readonly type: 'remove', readonly seq: number, readonly color: number, readonly id: string }
  /** A target takes no new request (TargetPools.retire); the primary sends `remove` once it has none in flight on any worker. */
  | { readonly type: 'retire', readonly seq: number, readonly color: number, readonly id: string }
  | { readonly type: 'drain' }

/** Worker → primary. */
export type FromWorker =
  /** Listening for messages (anything sent before this is lost): the primary sends init. */
  | { readonly type: 'hello' }
  /** Listening (the proxy URL as this worker sees it). */
  | { readonly type: 'ready', readonly url: string }
  /** Routes by everything up to `seq`; in-flight per flat target at that moment. */
  | { readonly type: 'ack', readonly seq: number, readonly layout: number, readonly inFlight: Int32Array }
  /** Periodic: in-flight per flat target and the metric cells, when they changed. */
  | { readonly type: 'report', readonly layout: number, readonly inFlight: Int32Array, readonly cells: RequestCells }
  /** The answer to a scrape. */
  | { readonly type: 'cells', readonly id: number, readonly cells: RequestCells }
  /** A request outcome that matters to passive health (a failure, or a success after one). */
  | { readonly type: 'outcome', readonly color: number, readonly id: string, readonly ok: boolean }
  /** The target answered a request for the first time in this worker. */
  | { readonly type: 'answered', readonly color: number, readonly id: string }
  /** Drained: the last cells, then the worker exits 0. */
  | { readonly type: 'drained', readonly cells: RequestCells }
  /** The worker failed to start. */
  | { readonly type: 'failed', readonly message: string }

/** True for an object with a string `type` (a message of this protocol; anything else is ignored). */
export function isMessage (m: unknown): m is { readonly type: string } {
  return typeof m === 'object' && m !== null && typeof (m as { type?: unknown }).type === 'string'
}
