/**
 * The messages between a cluster's primary and its data-path workers (node:cluster IPC with
 * `serialization: 'advanced'`, so typed arrays travel as they are). The primary owns the
 * control plane and sends what the data path routes by; a worker acknowledges each numbered
 * message once it routes by it, so the primary knows when every worker has applied a state.
 *
 * Targets are named by their index in the flat list of every color's targets, in config order
 * (both sides build the same list from the same config).
 */
import type { Config, TargetConfig } from '../config/config-types.js'
import type { RequestCells } from '../metrics/metrics.js'
import type { RoutingState } from '../routing/routing-state.js'
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
  readonly targets: ReadonlyArray<readonly TargetConfig[]>
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
  | { readonly type: 'health', readonly seq: number, readonly health: Uint8Array }
  | { readonly type: 'scrape', readonly id: number }
  | { readonly type: 'drain' }

/** Worker → primary. */
export type FromWorker =
  /** Listening for messages (anything sent before this is lost): the primary sends init. */
  | { readonly type: 'hello' }
  /** Listening (the proxy URL as this worker sees it). */
  | { readonly type: 'ready', readonly url: string }
  /** Routes by everything up to `seq`; in-flight per flat target at that moment. */
  | { readonly type: 'ack', readonly seq: number, readonly inFlight: Int32Array }
  /** Periodic: in-flight per flat target and the metric cells, when they changed. */
  | { readonly type: 'report', readonly inFlight: Int32Array, readonly cells: RequestCells }
  /** The answer to a scrape. */
  | { readonly type: 'cells', readonly id: number, readonly cells: RequestCells }
  /** A request outcome that matters to passive health (a failure, or a success after one). */
  | { readonly type: 'outcome', readonly target: number, readonly ok: boolean }
  /** The target answered a request for the first time in this worker. */
  | { readonly type: 'answered', readonly target: number }
  /** Drained: the last cells, then the worker exits 0. */
  | { readonly type: 'drained', readonly cells: RequestCells }
  /** The worker failed to start. */
  | { readonly type: 'failed', readonly message: string }

/** True for an object with a string `type` (a message of this protocol; anything else is ignored). */
export function isMessage (m: unknown): m is { readonly type: string } {
  return typeof m === 'object' && m !== null && typeof (m as { type?: unknown }).type === 'string'
}
