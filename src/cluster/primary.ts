/**
 * A cluster's primary: the control plane's view of N data-path workers (node:cluster, one
 * shared listening socket). WorkerPool is a DataPathPort, so src/app.ts wires the store,
 * switchboard, health checks, admin API and rollout driver to it exactly as to a data path
 * in the same process:
 * - apply / setSecret / health changes go to every worker as numbered messages; apply's
 *   promise resolves once every live worker acknowledged it (the instance counts a version
 *   applied only then: heartbeats, `?wait`, GET /instances);
 * - `pools` is the instance's view of the targets: modes, active health, and passive health
 *   decided here from the outcomes workers report (one ejection for every worker), with
 *   in-flight counts summed over the workers' reports (drain `?wait`);
 * - /metrics: every scrape first gathers the workers' per-request cells and sums them, with
 *   what workers that died had last reported (counters never go back);
 * - targets joining, leaving or retiring at run time (TargetPools.add/remove/retire: admin
 *   API, DNS discovery) go to every worker in order; a retiring target is removed once no
 *   worker has a request in flight on it;
 * - a worker that dies is replaced at once; close() drains every worker.
 */
import cluster, { type Worker } from 'node:cluster'
import { availableParallelism } from 'node:os'
import { dirname, extname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Counter, Gauge } from 'prom-client'
import type { FastifyBaseLogger } from 'fastify'
import { colorHealths } from '../config/color-health.js'
import type { Config, TargetConfig } from '../config/config-types.js'
import { configPool, type Pool } from '../routing/pool.js'
import { syncPools } from '../proxy/pool-sync.js'
import { addCells, clearCells, type RequestCells } from '../metrics/metrics.js'
import { targetMode, type RoutingState } from '../routing/routing-state.js'
import type { DataPathPort } from '../proxy/data-path-port.js'
import type { ProxyDeps } from '../proxy/proxy-server.js'
import { realClock, TargetPools, type PoolClock, type Target } from '../proxy/target-pool.js'
import { isMessage, type FromWorker, type ToWorker } from './protocol.js'
import { flatTargets, healthFlags } from './worker-pools.js'

/** The number of workers of config `workers` (`auto`: the cores this process may use). */
export function workerCount (setting: number | 'auto'): number {
  return setting === 'auto' ? availableParallelism() : setting
}

/** How long a scrape waits for a worker's cells before using its last report. */
const SCRAPE_WAIT_MS = 2000
/** A worker that dies before it listens is replaced after this pause (not in a tight loop). */
const FAILED_START_PAUSE_MS = 1000

/** One worker as the primary tracks it. */
interface Member {
  readonly worker: Worker
  readonly pid: number
  /** It listens for messages (sent init): broadcasts reach it from then on. */
  hello: boolean
  ready: boolean
  /** The last message seq it acknowledged. */
  acked: number
  /** In-flight per target, as last reported. */
  inFlight: Map<Target, number>
  /** Its metric cells, as last reported. */
  cells: RequestCells | undefined
}

/** The primary's pools: retire() is also told to the workers. */
class PrimaryPools extends TargetPools {
  onRetire: (t: Target) => void = () => {}

  override retire (t: Target): void {
    const already = t.retiring || t.removed
    super.retire(t)
    if (!already && !t.removed) this.onRetire(t)
  }
}

interface Waiter {
  readonly seq: number
  readonly pending: Set<Member>
  readonly resolve: () => void
}

/** The workers of one instance, as the control plane's data path. */
export class WorkerPool implements DataPathPort {
  readonly pools: TargetPools
  readonly awaitsApply = true
  readonly #deps: ProxyDeps
  readonly #count: number
  #flat: readonly Target[]
  /** The seq of the last membership change sent (the layout of #flat). */
  #layout = 0
  readonly #clock: PoolClock
  readonly #log: FastifyBaseLogger
  readonly #members = new Set<Member>()
  readonly #waiters: Waiter[] = []
  readonly #retired: RequestCells
  readonly #scrapes = new Map<number, (cells: RequestCells) => void>()
  readonly #workersGauge: Gauge
  readonly #restarts: Counter
  #state: RoutingState | undefined
  #config: Config
  readonly #fallback: Pool
  #secret: string
  #health: Uint8Array
  #seq = 0
  #scrapeId = 0
  #host = ''
  #port = 0
  #closing = false
  #starting: { resolve: (url: string) => void, reject: (e: Error) => void, url: string } | undefined
  #exited: (() => void) | undefined

  constructor (deps: ProxyDeps, count: number, targets: ReadonlyArray<readonly TargetConfig[]>) {
    this.#deps = deps
    this.#count = count
    this.#secret = deps.secret
    this.#config = deps.config
    // A state without a pool (or a color it does not name) routes to the config's targets.
    this.#fallback = configPool(deps.colors, targets)
    this.#log = deps.logger
    this.#clock = deps.poolClock ?? realClock
    const pools = new PrimaryPools(deps.colors, targets, colorHealths(deps.config, deps.colors).map((h) => h.passive), (e) => {
      this.#healthChanged()
      deps.onHealth?.(e)
    }, this.#clock)
    this.pools = pools
    this.#flat = flatTargets(pools)
    pools.onMembership(({ kind, target: t }) => {
      this.#flat = flatTargets(pools)
      this.#layout = this.#seq + 1
      if (kind === 'added') void this.#broadcast((seq) => ({ type: 'add', seq, color: t.color, target: { id: t.id, url: t.origin }, source: t.source, mode: t.mode }))
      else void this.#broadcast((seq) => ({ type: 'remove', seq, color: t.color, id: t.id }))
      this.#health = healthFlags(this.#flat)
    })
    pools.onRetire = (t) => { void this.#broadcast((seq) => ({ type: 'retire', seq, color: t.color, id: t.id })) }
    this.#health = healthFlags(this.#flat)
    const cells = deps.metrics.cells
    this.#retired = { requests: new Float64Array(cells.requests.length), durationCounts: new Float64Array(cells.durationCounts.length), durationSums: new Float64Array(cells.durationSums.length), upstreamErrors: new Float64Array(cells.upstreamErrors.length), inFlight: new Float64Array(cells.inFlight.length) }
    deps.metrics.gatherBeforeScrape(() => this.#gather())
    const registers = [deps.metrics.registry]
    this.#workersGauge = new Gauge({ name: 'switchyard_workers', help: 'Data-path worker processes listening now', registers })
    this.#restarts = new Counter({ name: 'switchyard_worker_restarts_total', help: 'Data-path workers that died and were replaced', registers })
    this.#workersGauge.set(0)
    this.#restarts.inc(0)
    const here = fileURLToPath(import.meta.url)
    // The worker entry beside this file (.ts under tsx, .js once built); process.execArgv (e.g. --import tsx) carries over.
    cluster.setupPrimary({ exec: join(dirname(here), `worker-main${extname(here)}`), serialization: 'advanced' })
  }

  /** The pids of the workers running now (a log line names each: "worker listening"). */
  get pids (): number[] {
    return [...this.#members].map((m) => m.pid)
  }

  apply (state: RoutingState): Promise<void> {
    this.#state = state
    // Members first (each change goes to the workers as add/retire/remove, in order), then
    // the state: a worker applies the modes to targets it already has.
    syncPools(this.pools, this.#deps.colors, state.pool, this.#fallback, (color, id) => targetMode(state, color, id))
    this.pools.setModes((t) => targetMode(state, t.colorName, t.id))
    return this.#broadcast((seq) => ({ type: 'apply', seq, state }))
  }

  reconfigure (config: Config): void {
    // A worker started later (a replacement) gets these settings in its init.
    this.#config = config
    void this.#broadcast((seq) => ({ type: 'reconfigure', seq, upstream: config.upstream, logLevel: config.log.level }))
  }

  setSecret (secret: string): void {
    this.#secret = secret
    void this.#broadcast((seq) => ({ type: 'secret', seq, secret }))
  }

  /** Forks the workers; resolves with the proxy URL once every one listens. */
  async listen (host: string, port: number): Promise<string> {
    this.#host = host
    this.#port = port
    const url = await new Promise<string>((resolve, reject) => {
      this.#starting = { resolve, reject, url: '' }
      for (let i = 0; i < this.#count; i++) this.#fork()
    })
    return url
  }

  /** Drains every worker (each finishes its requests in flight, then exits). */
  async close (): Promise<void> {
    this.#closing = true
    if (this.#members.size === 0) return
    const exited = new Promise<void>((resolve) => { this.#exited = resolve })
    for (const m of this.#members) {
      // One that has not yet listened for messages serves nothing: stopped outright.
      if (m.hello) this.#send(m, { type: 'drain' })
      else m.worker.process.kill('SIGKILL')
    }
    await exited
  }

  async closeUpstreams (): Promise<void> {
    this.pools.close()
  }

  #fork (): void {
    if (this.#state === undefined) throw new Error('WorkerPool: no state applied before listen()')
    const worker = cluster.fork()
    const m: Member = { worker, pid: worker.process.pid ?? 0, hello: false, ready: false, acked: -1, inFlight: new Map(), cells: undefined }
    this.#members.add(m)
    worker.on('message', (msg: unknown) => { if (isMessage(msg)) this.#onMessage(m, msg as FromWorker) })
    worker.on('exit', (code, signal) => { this.#onExit(m, code, signal) })
  }

  /** A worker listens for messages: it gets everything sent so far in one init (state, secret, health). */
  #init (m: Member): void {
    const state = this.#state
    if (state === undefined) return
    m.hello = true
    const { colors, tls } = this.#deps
    const config = this.#config
    const targets = this.pools.byColor.map((list) => list.map((t) => ({ id: t.id, url: t.origin })))
    const retiring = this.#flat.flatMap((t, i) => (t.retiring ? [i] : []))
    this.#send(m, { type: 'init', seq: this.#seq, config, colors, targets, retiring, layout: this.#layout, tls, state, secret: this.#secret, health: this.#health, host: this.#host, port: this.#port })
  }

  #send (m: Member, msg: ToWorker): void {
    if (!m.worker.isConnected()) return
    try { m.worker.send(msg) } catch { /* gone: its exit handler cleans up */ }
  }

  /** Sends a numbered message to every worker; resolves once each live one acknowledged it. */
  #broadcast (make: (seq: number) => ToWorker): Promise<void> {
    const seq = ++this.#seq
    const msg = make(seq)
    const pending = new Set<Member>()
    for (const m of this.#members) {
      if (!m.hello) continue
      pending.add(m)
      this.#send(m, msg)
    }
    if (pending.size === 0) return Promise.resolve()
    return new Promise<void>((resolve) => { this.#waiters.push({ seq, pending, resolve }) })
  }

  #settle (m: Member | undefined): void {
    for (let i = this.#waiters.length - 1; i >= 0; i--) {
      const w = this.#waiters[i] as Waiter
      for (const p of w.pending) if (p === m || p.acked >= w.seq) w.pending.delete(p)
      if (w.pending.size === 0) {
        this.#waiters.splice(i, 1)
        w.resolve()
      }
    }
  }

  #onMessage (m: Member, msg: FromWorker): void {
    switch (msg.type) {
      case 'hello':
        this.#init(m)
        return
      case 'ack':
        m.acked = Math.max(m.acked, msg.seq)
        this.#takeInFlight(m, msg.layout, msg.inFlight)
        this.#settle(undefined)
        return
      case 'ready':
        m.ready = true
        this.#workersGauge.set([...this.#members].filter((x) => x.ready).length)
        this.#log.info({ worker: m.worker.id, pid: m.pid }, 'worker ready')
        if (this.#starting !== undefined) {
          this.#starting.url = msg.url
          if ([...this.#members].every((x) => x.ready)) {
            this.#starting.resolve(msg.url)
            this.#starting = undefined
          }
        }
        return
      case 'report':
        this.#takeInFlight(m, msg.layout, msg.inFlight)
        m.cells = msg.cells
        this.#sumCells()
        return
      case 'cells':
        m.cells = msg.cells
        this.#scrapes.get(msg.id)?.(msg.cells)
        return
      case 'outcome': {
        const t = this.pools.byColor[msg.color]?.find((x) => x.id === msg.id)
        if (t === undefined) return
        this.pools.outcome(t, msg.ok, this.#clock.now())
        this.#healthChanged()
        return
      }
      case 'answered': {
        const t = this.pools.byColor[msg.color]?.find((x) => x.id === msg.id)
        if (t !== undefined) t.answered = true
        return
      }
      case 'drained':
        m.cells = msg.cells
        return
      case 'failed':
        this.#log.error({ worker: m.worker.id, pid: m.pid, problem: msg.message }, 'worker failed to start')
        if (this.#starting !== undefined) {
          const starting = this.#starting
          this.#starting = undefined
          this.#closing = true
          for (const x of this.#members) x.worker.kill()
          starting.reject(new Error(msg.message))
        }
    }
  }

  #onExit (m: Member, code: number | null, signal: string | null): void {
    this.#members.delete(m)
    if (m.cells !== undefined) addCells(this.#retired, m.cells, true)
    this.#sumInFlight()
    this.#sumCells()
    this.#settle(m)
    this.#workersGauge.set([...this.#members].filter((x) => x.ready).length)
    if (this.#closing) {
      if (this.#members.size === 0) this.#exited?.()
      return
    }
    this.#restarts.inc()
    this.#log.error({ worker: m.worker.id, pid: m.pid, code, signal }, 'worker died: starting another')
    if (m.ready) this.#fork()
    else setTimeout(() => { if (!this.#closing) this.#fork() }, FAILED_START_PAUSE_MS).unref()
  }

  /** Health flags changed (an ejection, an active check, a failure or the success after one): every worker gets them. */
  #healthChanged (): void {
    const flags = healthFlags(this.#flat)
    if (flags.length === this.#health.length && flags.every((f, i) => f === this.#health[i])) return
    this.#health = flags
    void this.#broadcast((seq) => ({ type: 'health', seq, health: flags }))
  }

  /** A worker's in-flight counts, if laid out as the targets are now (else its next report, after the change, brings them). */
  #takeInFlight (m: Member, layout: number, counts: Int32Array): void {
    if (layout !== this.#layout || counts.length !== this.#flat.length) return
    const map = new Map<Target, number>()
    this.#flat.forEach((t, i) => { map.set(t, counts[i] ?? 0) })
    m.inFlight = map
    this.#sumInFlight()
  }

  #sumInFlight (): void {
    for (const t of this.#flat) {
      let n = 0
      for (const m of this.#members) n += m.inFlight.get(t) ?? 0
      t.inFlight = n
    }
  }

  #sumCells (): void {
    const into = this.#deps.metrics.cells
    clearCells(into)
    addCells(into, this.#retired)
    for (const m of this.#members) if (m.cells !== undefined) addCells(into, m.cells)
  }

  /** Asks every listening worker for its cells (the last report stands for one that does not answer in time), then sums. */
  async #gather (): Promise<void> {
    const asks = [...this.#members].filter((m) => m.ready).map(async (m) => {
      const id = ++this.#scrapeId
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => { this.#scrapes.delete(id); resolve() }, SCRAPE_WAIT_MS)
        this.#scrapes.set(id, () => { clearTimeout(timer); this.#scrapes.delete(id); resolve() })
        this.#send(m, { type: 'scrape', id })
      })
    })
    await Promise.all(asks)
    this.#sumCells()
  }
}

/** A WorkerPool of `count` workers for the data path `deps` describes (forked by listen()). */
export function startWorkers (deps: ProxyDeps, count: number, targets: ReadonlyArray<readonly TargetConfig[]>): WorkerPool {
  return new WorkerPool(deps, count, targets)
}
