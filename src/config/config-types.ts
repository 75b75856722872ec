/**
 * The validated configuration, after defaults (config/switchyard.schema.json) and
 * `${ENV}` substitution. Every field here is present: the schema fills defaults.
 */

import type { RedisStoreConfig } from '../state/redis-store.js'

/** A host and port to listen on. */
export interface Listen {
  readonly host: string
  readonly port: number
  /** Serve HTTPS with this PEM certificate (chain) and key, read at start. */
  readonly tls?: { readonly cert: string, readonly key: string }
}

/** One upstream instance of a color: a stable id (default host:port) and its origin. */
export interface TargetConfig {
  readonly id: string
  readonly url: string
}

/** An admin bearer token: a name (recorded as changedBy) and a role. */
export interface AdminToken {
  readonly name: string
  readonly token: string
  readonly role: 'read' | 'write'
}

/** Where the routing state lives. */
export type StoreConfig =
  | { readonly kind: 'file'; readonly path: string }
  | { readonly kind: 'memory' }
  | RedisStoreConfig

/** The whole configuration. */
export interface Config {
  readonly listen: Listen
  readonly admin: {
    readonly listen: Listen
    readonly tokens: readonly AdminToken[]
    readonly bodyLimit: number
  }
  readonly colors: Readonly<Record<string, { readonly targets: ReadonlyArray<string | { readonly id?: string, readonly url: string }> }>>
  readonly initial: { readonly weights?: Readonly<Record<string, number>> }
  readonly sticky: {
    readonly mode: 'cookie' | 'header' | 'none'
    readonly cookie: string
    readonly header: string
    readonly ttlSeconds: number
    readonly secure: boolean
    readonly sameSite: 'Lax' | 'Strict' | 'None'
    readonly salt?: string
  }
  readonly overrides: {
    readonly enabled: boolean
    readonly header: string
    readonly secret?: string
  }
  readonly store: StoreConfig
  /** This instance's id in heartbeats (default: host-pid-random). */
  readonly instance: { readonly id?: string }
  readonly upstream: {
    readonly connectTimeoutMs: number
    readonly responseTimeoutMs: number
    readonly bodyTimeoutMs: number
    readonly connections: number
    readonly keepAliveTimeoutMs: number
    readonly rejectUnauthorized: boolean
  }
  readonly proxy: {
    readonly bodyLimit: number
    readonly trustForwarded: boolean
    readonly websocket: boolean
    /** The whole request (headers and body) must arrive within this, else 408. */
    readonly requestTimeoutMs: number
    /** The request headers must arrive within this, else 408 (≤ requestTimeoutMs). */
    readonly headersTimeoutMs: number
    /** Client connections held at once; more are closed on accept. */
    readonly maxConnections: number
    /** The largest WebSocket message a client may send, in bytes. */
    readonly websocketMaxPayload: number
  }
  readonly health: {
    /** Active checks run only when `path` is set. */
    readonly active: { readonly path?: string, readonly intervalMs: number, readonly timeoutMs: number, readonly healthyThreshold: number, readonly unhealthyThreshold: number }
    readonly passive: { readonly enabled: boolean, readonly consecutiveFailures: number, readonly baseEjectionMs: number, readonly maxEjectionMs: number }
  }
  /** Methods retried once on another target after a refused or reset connection. */
  readonly retry: { readonly methods: readonly string[] }
  /** Per-request metrics on the data path (off only to measure what they cost). */
  readonly metrics: { readonly enabled: boolean }
  readonly log: { readonly level: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent' }
  readonly shutdown: { readonly graceSeconds: number }
}
