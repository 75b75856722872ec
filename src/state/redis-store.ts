/**
 * The shared store: Redis through ioredis (standalone, Sentinel or Cluster, as the operator's
 * Redis is). The state is one JSON value under a key prefix; compare-and-set is a Lua script
 * on its version that also appends the history entry (a capped list) and publishes the new
 * version. The rollout document is one more JSON value, written by a script that
 * compare-and-sets its rev (and, with a routing change, the state's version) and appends
 * history in the same step; the rollout driver lease is a key taken with SET NX PX and
 * renewed only by its holder. Every instance subscribes and re-reads on each message, on
 * every reconnect and on a slow timer (the switchboard's), so a lost message cannot leave it stale.
 *
 * The scripts are registered with `defineCommand`, so a call sends the script's SHA, not its
 * text. Everything read back is checked against the stored-state schema: a value that fails
 * answers SWY_ERR_STORE_CORRUPT naming its key and its problems.
 *
 * The command connection has no offline queue and a command timeout: when Redis is down a
 * write fails at once with SWY_ERR_STORE_UNAVAILABLE instead of hanging, and nothing is
 * half-written. The data path never touches Redis.
 */
import { randomBytes } from 'node:crypto'
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis'
import { SwitchyardError } from '../errors.js'
import type { HistoryEntry, RoutingState } from '../routing/routing-state.js'
import type { Rollout } from '../rollout/types.js'
import { ACQUIRE_LEASE, CAS, HEARTBEAT, LIVE_INSTANCES, RELEASE_LEASE, RESEED, SCRIPTS, WRITE_ROLLOUT } from './redis-scripts.js'
import { HISTORY_LIMIT, type CasOutcome, type InstanceInfo, type RolloutCasOutcome, type RolloutWrite, type StateListener, type Store, type StoreErrorListener } from './store.js'
import { readHistoryEntry, readInstanceInfo, readRollout, readSecret, readState } from './stored-state.js'

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

/** The store's scripts as ioredis calls them once defineCommand has registered them. */
type ScriptCall = (...args: Array<string | number>) => Promise<unknown>

/** A Store in Redis. */
export class RedisStore implements Store {
  readonly kind = 'redis'
  readonly shared = true
  readonly #config: RedisStoreConfig
  readonly #client: Client
  readonly #sub: Client
  readonly #keys: { state: string, history: string, secret: string, expiries: string, instances: string, rollout: string, lease: string }
  readonly #channel: string
  readonly #beatChannel: string
  readonly #listeners = new Map<StateListener, StoreErrorListener | undefined>()
  readonly #beatListeners = new Set<() => void>()
  readonly #connectivity = new Set<(up: boolean) => void>()
  #up = false
  #closed = false
  #reading = false
  #readAgain = false
  /** The newest version this store wrote (and told its own subscribers of): its announcement needs no re-read. */
  #seen = 0

  constructor (config: RedisStoreConfig) {
    this.#config = config
    const tag = `{${config.prefix}}`
    this.#keys = {
      state: `${tag}:state`,
      history: `${tag}:history`,
      secret: `${tag}:secret`,
      expiries: `${tag}:instance-expiries`,
      instances: `${tag}:instances`,
      rollout: `${tag}:rollout`,
      lease: `${tag}:rollout-lease`
    }
    this.#channel = `${tag}:changes`
    this.#beatChannel = `${tag}:heartbeats`
    const base: Options = {
      lazyConnect: true,
      connectTimeout: config.connectTimeoutMs,
      retryStrategy: (times: number) => Math.min(50 * 2 ** Math.min(times, 6), 2000),
      ...(config.options as Options | undefined)
    }
    this.#client = this.#create({ ...base, commandTimeout: config.commandTimeoutMs, maxRetriesPerRequest: 0, enableOfflineQueue: false })
    for (const script of SCRIPTS) this.#client.defineCommand(script.name, { numberOfKeys: script.numberOfKeys, lua: script.lua })
    this.#sub = this.#create({ ...base, maxRetriesPerRequest: null })
    this.#client.on('error', () => {})
    this.#sub.on('error', () => {})
    this.#client.on('ready', () => { this.#setUp(true) })
    this.#client.on('close', () => { this.#setUp(false) })
    this.#sub.on('message', (channel: string, message: string) => {
      if (channel === this.#beatChannel) {
        for (const l of this.#beatListeners) l()
      } else if (channel === this.#channel && !(Number(message) <= this.#seen)) {
        this.#readAndNotify()
      }
    })
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

  /** Runs a registered script (EVALSHA, EVAL only when the server lacks it). */
  async #run (script: { name: string }, ...args: Array<string | number>): Promise<unknown> {
    const call = (this.#client as unknown as Record<string, ScriptCall>)[script.name] as ScriptCall
    try {
      return await call.call(this.#client, ...args)
    } catch (e) {
      throw unavailable(e)
    }
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
      if (state !== null) for (const l of this.#listeners.keys()) l(state)
    }, (e: unknown) => {
      if (e instanceof SwitchyardError && e.code === 'SWY_ERR_STORE_CORRUPT') for (const onError of this.#listeners.values()) onError?.(e)
    }).finally(() => {
      this.#reading = false
      if (this.#readAgain) { this.#readAgain = false; this.#readAndNotify() }
    })
  }

  /** After this store wrote `state`: tells its subscribers but the writer's at once, and skips the echo of the announcement. */
  #wrote (state: RoutingState, from: StateListener | undefined): void {
    if (state.version > this.#seen) this.#seen = state.version
    for (const l of this.#listeners.keys()) if (l !== from) l(state)
  }

  async connect (): Promise<void> {
    try {
      await this.#client.connect()
    } catch (e) {
      // ioredis keeps reconnecting in the background; 'ready' will tell when it is back.
      throw unavailable(e)
    } finally {
      this.#sub.connect().then(() => this.#sub.subscribe(this.#channel, this.#beatChannel)).catch(() => {})
    }
  }

  async load (): Promise<RoutingState | null> {
    let json: string | null
    try {
      json = await this.#client.get(this.#keys.state)
    } catch (e) {
      throw unavailable(e)
    }
    if (json === null) return null
    return readState(json, `the state in Redis (${this.#keys.state})`)
  }

  async compareAndSet (expectedVersion: number, next: RoutingState, entry: HistoryEntry, from?: StateListener): Promise<CasOutcome> {
    const [ok, current] = await this.#run(CAS, this.#keys.state, this.#keys.history,
      String(expectedVersion), JSON.stringify(next), JSON.stringify(entry), String(HISTORY_LIMIT), this.#channel, String(next.version)) as [number, string]
    if (ok === 1) {
      this.#wrote(next, from)
      return { ok: true }
    }
    return { ok: false, reason: 'conflict', current: current === '' ? null : readState(current, `the state in Redis (${this.#keys.state})`) }
  }

  async reseed (state: RoutingState, secret: string, entry: HistoryEntry, from?: StateListener): Promise<boolean> {
    const [wrote, current] = await this.#run(RESEED, this.#keys.state, this.#keys.history, this.#keys.secret,
      String(state.version), JSON.stringify(state), JSON.stringify(entry), String(HISTORY_LIMIT), this.#channel, secret) as [number, string]
    if (wrote === -1) readState(current, `the state in Redis (${this.#keys.state})`)
    if (wrote === 1) this.#wrote(state, from)
    return wrote === 1
  }

  subscribe (listener: StateListener, onError?: StoreErrorListener): () => void {
    this.#listeners.set(listener, onError)
    return () => { this.#listeners.delete(listener) }
  }

  onConnectivity (listener: (up: boolean) => void): () => void {
    this.#connectivity.add(listener)
    return () => { this.#connectivity.delete(listener) }
  }

  onHeartbeat (listener: () => void): () => void {
    this.#beatListeners.add(listener)
    return () => { this.#beatListeners.delete(listener) }
  }

  async history (limit: number): Promise<readonly HistoryEntry[]> {
    let items: string[]
    try {
      items = await this.#client.lrange(this.#keys.history, 0, limit - 1)
    } catch (e) {
      throw unavailable(e)
    }
    return items.map((item, i) => readHistoryEntry(item, `history entry ${i + 1} (newest first) in Redis (${this.#keys.history})`))
  }

  async secret (): Promise<string> {
    let secret: string | null
    try {
      await this.#client.set(this.#keys.secret, randomBytes(32).toString('base64url'), 'NX')
      secret = await this.#client.get(this.#keys.secret)
    } catch (e) {
      throw unavailable(e)
    }
    if (secret === null) throw unavailable(new Error('the secret vanished after SET NX'))
    return readSecret(secret, `the cookie secret in Redis (${this.#keys.secret})`)
  }

  async heartbeat (info: InstanceInfo, ttlMs: number): Promise<void> {
    await this.#run(HEARTBEAT, this.#keys.expiries, this.#keys.instances, info.id, JSON.stringify(info), String(ttlMs), this.#beatChannel)
  }

  async instances (): Promise<readonly InstanceInfo[]> {
    const rows = await this.#run(LIVE_INSTANCES, this.#keys.expiries, this.#keys.instances) as Array<string | null>
    const out: InstanceInfo[] = []
    for (const r of rows) if (r !== null) out.push(readInstanceInfo(r, `a heartbeat in Redis (${this.#keys.instances})`))
    return out
  }

  async loadRollout (): Promise<Rollout | null> {
    let json: string | null
    try {
      json = await this.#client.get(this.#keys.rollout)
    } catch (e) {
      throw unavailable(e)
    }
    return json === null ? null : readRollout(json, `the rollout in Redis (${this.#keys.rollout})`)
  }

  async writeRollout (write: RolloutWrite, from?: StateListener): Promise<RolloutCasOutcome> {
    const change = write.change
    const [code, current] = await this.#run(WRITE_ROLLOUT, this.#keys.rollout, this.#keys.state, this.#keys.history,
      String(write.expectedRev), JSON.stringify(write.rollout),
      change === undefined ? '0' : '1', String(change?.expectedVersion ?? 0),
      change === undefined ? '' : JSON.stringify(change.state), change === undefined ? '' : JSON.stringify(change.entry),
      String(HISTORY_LIMIT), this.#channel, String(change?.state.version ?? 0),
      ...(write.events ?? []).map((e) => JSON.stringify(e))) as [number, string]
    if (code === 1) {
      if (change !== undefined) this.#wrote(change.state, from)
      return { ok: true }
    }
    if (code === 2) return { ok: false, reason: 'state-conflict', current: current === '' ? null : readState(current, `the state in Redis (${this.#keys.state})`) }
    return { ok: false, reason: 'rollout-conflict', current: current === '' ? null : readRollout(current, `the rollout in Redis (${this.#keys.rollout})`) }
  }

  async acquireLease (holder: string, ttlMs: number): Promise<boolean> {
    return await this.#run(ACQUIRE_LEASE, this.#keys.lease, holder, String(ttlMs)) === 1
  }

  async leaseHolder (): Promise<string | null> {
    try {
      return await this.#client.get(this.#keys.lease)
    } catch (e) {
      throw unavailable(e)
    }
  }

  async releaseLease (holder: string): Promise<void> {
    await this.#run(RELEASE_LEASE, this.#keys.lease, holder)
  }

  async close (): Promise<void> {
    this.#closed = true
    this.#listeners.clear()
    this.#beatListeners.clear()
    this.#connectivity.clear()
    this.#client.disconnect()
    this.#sub.disconnect()
  }
}
