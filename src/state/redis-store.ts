/**
 * The shared store: Redis through ioredis (standalone, Sentinel or Cluster, as the operator's
 * Redis is). The state is one JSON value under a key prefix; compare-and-set is a Lua script
 * on its version that also appends the history entry (a capped list) and publishes the new
 * version. Every instance subscribes and re-reads on each message, on every reconnect and
 * on a slow timer (the switchboard's), so a lost message cannot leave it stale.
 *
 * The command connection has no offline queue and a command timeout: when Redis is down a
 * write fails at once with SWY_ERR_STORE_UNAVAILABLE instead of hanging, and nothing is
 * half-written. The data path never touches Redis.
 */
import { randomBytes } from 'node:crypto'
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis'
import { SwitchyardError } from '../errors.js'
import { checkStoredState, type HistoryEntry, type RoutingState } from '../routing/routing-state.js'
import { CAS, HEARTBEAT, LIVE_INSTANCES, RESEED } from './redis-scripts.js'
import { HISTORY_LIMIT, type CasOutcome, type InstanceInfo, type Store } from './store.js'

/** Where and how to reach Redis. Exactly one of url, sentinels or cluster. */
export interface RedisStoreConfig {
  readonly kind: 'redis'
  readonly url?: string
  /** Sentinel: the sentinels and the master group `name`. */
  readonly sentinels?: ReadonlyArray<{ readonly host: string, readonly port: number }>
  readonly name?: string
  /** Cluster: seed nodes. */
  readonly cluster?: ReadonlyArray<{ readonly host: string, readonly port: number }>
  /** Passed through to ioredis (password, username, tls, db, sentinelPassword, …). */
  readonly options?: Readonly<Record<string, unknown>>
  readonly prefix: string
  readonly commandTimeoutMs: number
  readonly connectTimeoutMs: number
  readonly resyncIntervalMs: number
  readonly heartbeatMs: number
  readonly instanceTtlMs: number
  readonly lastKnownPath: string
}

type Client = Redis | Cluster
/** ioredis options; its replyMapping is declared in a way exactOptionalPropertyTypes rejects, and we keep the default. */
type Options = Omit<RedisOptions, 'replyMapping'>

function unavailable (e: unknown): SwitchyardError {
  if (e instanceof SwitchyardError) return e
  return new SwitchyardError('SWY_ERR_STORE_UNAVAILABLE', `the Redis store is unreachable (${(e as Error).message}); routing continues on the last state`)
}

function parseState (json: string | null | undefined): RoutingState | null {
  if (json === null || json === undefined || json === '') return null
  const value: unknown = JSON.parse(json)
  const problems = checkStoredState(value)
  if (problems.length > 0) throw new SwitchyardError('SWY_ERR_STORE_CORRUPT', `the state in Redis is not valid: ${problems.join('; ')}`)
  return value as RoutingState
}

/** A Store in Redis. */
export class RedisStore implements Store {
  readonly kind = 'redis'
  readonly shared = true
  readonly #config: RedisStoreConfig
  readonly #client: Client
  readonly #sub: Client
  readonly #keys: { state: string, history: string, secret: string, expiries: string, instances: string }
  readonly #channel: string
  readonly #beatChannel: string
  readonly #listeners = new Set<(state: RoutingState) => void>()
  readonly #connectivity = new Set<(up: boolean) => void>()
  #up = false
  #closed = false
  #reading = false
  #readAgain = false

  constructor (config: RedisStoreConfig) {
    this.#config = config
    const tag = `{${config.prefix}}`
    this.#keys = { state: `${tag}:state`, history: `${tag}:history`, secret: `${tag}:secret`, expiries: `${tag}:instance-expiries`, instances: `${tag}:instances` }
    this.#channel = `${tag}:changes`
    this.#beatChannel = `${tag}:heartbeats`
    const base: Options = {
      lazyConnect: true,
      connectTimeout: config.connectTimeoutMs,
      retryStrategy: (times: number) => Math.min(50 * 2 ** Math.min(times, 6), 2000),
      ...(config.options as Options | undefined)
    }
    this.#client = this.#create({ ...base, commandTimeout: config.commandTimeoutMs, maxRetriesPerRequest: 0, enableOfflineQueue: false })
    this.#sub = this.#create({ ...base, maxRetriesPerRequest: null })
    this.#client.on('error', () => {})
    this.#sub.on('error', () => {})
    this.#client.on('ready', () => { this.#setUp(true) })
    this.#client.on('close', () => { this.#setUp(false) })
    this.#sub.on('message', (channel: string) => { if (channel === this.#channel) this.#readAndNotify() })
    this.#sub.on('ready', () => { this.#readAndNotify() })
  }

  #create (options: Options): Client {
    const c = this.#config
    if (c.cluster !== undefined) {
      const clusterOptions = { lazyConnect: true, enableOfflineQueue: options.enableOfflineQueue ?? true, redisOptions: options, clusterRetryStrategy: (times: number) => Math.min(50 * 2 ** Math.min(times, 6), 2000) } as ClusterOptions
      return new Cluster(c.cluster.map((n) => ({ host: n.host, port: n.port })), clusterOptions as ConstructorParameters<typeof Cluster>[1])
    }
    if (c.sentinels !== undefined) {
      return new Redis({ ...options, sentinels: c.sentinels.map((n) => ({ host: n.host, port: n.port })), name: c.name ?? 'mymaster' })
    }
    return new Redis(c.url ?? 'redis://127.0.0.1:6379', options)
  }

  #setUp (up: boolean): void {
    if (this.#up === up || this.#closed) return
    this.#up = up
    for (const l of this.#connectivity) l(up)
  }

  /** Re-reads the state and tells subscribers; coalesces bursts of notifications. */
  #readAndNotify (): void {
    if (this.#reading) { this.#readAgain = true; return }
    this.#reading = true
    this.load().then((state) => {
      if (state !== null) for (const l of this.#listeners) l(state)
    }, () => {}).finally(() => {
      this.#reading = false
      if (this.#readAgain) { this.#readAgain = false; this.#readAndNotify() }
    })
  }

  async connect (): Promise<void> {
    try {
      await this.#client.connect()
    } catch (e) {
      // ioredis keeps reconnecting in the background; 'ready' will tell when it is back.
      throw unavailable(e)
    } finally {
      this.#sub.connect().then(() => this.#sub.subscribe(this.#channel), () => {})
    }
  }

  async load (): Promise<RoutingState | null> {
    let json: string | null
    try {
      json = await this.#client.get(this.#keys.state)
    } catch (e) {
      throw unavailable(e)
    }
    return parseState(json)
  }

  async compareAndSet (expectedVersion: number, next: RoutingState, entry: HistoryEntry): Promise<CasOutcome> {
    let result: [number, string]
    try {
      result = await this.#client.eval(CAS, 2, this.#keys.state, this.#keys.history,
        String(expectedVersion), JSON.stringify(next), JSON.stringify(entry), String(HISTORY_LIMIT), this.#channel, String(next.version)) as [number, string]
    } catch (e) {
      throw unavailable(e)
    }
    if (result[0] === 1) return { ok: true }
    return { ok: false, reason: 'conflict', current: parseState(result[1]) }
  }

  async reseed (state: RoutingState, secret: string, entry: HistoryEntry): Promise<boolean> {
    try {
      const wrote = await this.#client.eval(RESEED, 3, this.#keys.state, this.#keys.history, this.#keys.secret,
        String(state.version), JSON.stringify(state), JSON.stringify(entry), String(HISTORY_LIMIT), this.#channel, secret)
      return wrote === 1
    } catch (e) {
      throw unavailable(e)
    }
  }

  subscribe (listener: (state: RoutingState) => void): () => void {
    this.#listeners.add(listener)
    return () => { this.#listeners.delete(listener) }
  }

  onConnectivity (listener: (up: boolean) => void): () => void {
    this.#connectivity.add(listener)
    return () => { this.#connectivity.delete(listener) }
  }

  async history (limit: number): Promise<readonly HistoryEntry[]> {
    try {
      const items = await this.#client.lrange(this.#keys.history, 0, limit - 1)
      return items.map((i) => JSON.parse(i) as HistoryEntry)
    } catch (e) {
      throw unavailable(e)
    }
  }

  async secret (): Promise<string> {
    try {
      await this.#client.set(this.#keys.secret, randomBytes(32).toString('base64url'), 'NX')
      const secret = await this.#client.get(this.#keys.secret)
      if (secret === null) throw new Error('secret vanished after SET NX')
      return secret
    } catch (e) {
      throw unavailable(e)
    }
  }

  async heartbeat (info: InstanceInfo, ttlMs: number): Promise<void> {
    try {
      await this.#client.eval(HEARTBEAT, 2, this.#keys.expiries, this.#keys.instances, info.id, JSON.stringify(info), String(ttlMs), this.#beatChannel)
    } catch (e) {
      throw unavailable(e)
    }
  }

  async instances (): Promise<readonly InstanceInfo[]> {
    let rows: Array<string | null>
    try {
      rows = await this.#client.eval(LIVE_INSTANCES, 2, this.#keys.expiries, this.#keys.instances) as Array<string | null>
    } catch (e) {
      throw unavailable(e)
    }
    return rows.filter((r): r is string => r !== null).map((r) => JSON.parse(r) as InstanceInfo)
  }

  async close (): Promise<void> {
    this.#closed = true
    this.#listeners.clear()
    this.#connectivity.clear()
    this.#client.disconnect()
    this.#sub.disconnect()
  }
}
