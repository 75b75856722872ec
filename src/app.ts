/**
 * Composition: wires config, store, switchboard, metrics, the data path and the admin API
 * into one running switchyard, and shuts it down in order (stop taking admin writes, drain
 * in-flight proxied requests, close upstream pools, close the store).
 */
import { randomBytes } from 'node:crypto'
import { hostname } from 'node:os'
import { pino, type Logger } from 'pino'
import type { FastifyBaseLogger, FastifyInstance } from 'fastify'
import { buildAdminServer } from './admin/admin-server.js'
import { RecentFigures } from './admin/recent-figures.js'
import type { LoadedConfig } from './config/load-config.js'
import type { StoreConfig } from './config/config-types.js'
import { Metrics } from './metrics/metrics.js'
import { ActiveChecker, type Probed } from './health/active-checker.js'
import { buildDataPath, type DataPath, type ProxyDeps } from './proxy/proxy-server.js'
import { localPort, type DataPathPort } from './proxy/data-path-port.js'
import { startWorkers, workerCount, type WorkerPool } from './cluster/primary.js'
import type { PoolClock, Target, TargetPools } from './proxy/target-pool.js'
import type { TargetAdmin } from './admin/admin-server.js'
import { targetMode, targetModeChanges } from './routing/routing-state.js'
import { configPool, describeDifferences, poolChanges, poolDifferences } from './routing/pool.js'
import { weightOf, weightsToPercent } from './routing/weights.js'
import { targetReadiness } from './health/readiness.js'
import { FileStore } from './state/file-store.js'
import { LastKnownFile } from './state/last-known.js'
import { RedisStore } from './state/redis-store.js'
import { MemoryStore } from './state/memory-store.js'
import type { InFlightCounts, Store } from './state/store.js'
import { Switchboard } from './state/switchboard.js'
import { RolloutControl } from './rollout/control.js'
import { RolloutDriver } from './rollout/driver.js'
import type { TrafficReport } from './rollout/types.js'
import { readTls, tlsError } from './tls.js'
import { AdminAuth } from './admin/auth.js'
import { Reloader } from './reload/reloader.js'
import { activePolicyOf, registerCoreReloadables } from './reload/reload-wiring.js'
import { Discovery } from './discovery/discovery.js'

/** Options beyond the config file. */
export interface StartOptions {
  /** A logger to use instead of one built from config.log. */
  readonly logger?: Logger<string, boolean>
  /** A store to use instead of the configured one (tests). */
  readonly store?: Store
  /** Listen ports to use instead of the configured ones (tests pass 0). */
  readonly proxyPort?: number
  readonly adminPort?: number
  /** The data path's time (ms since the epoch, read as a field) instead of a CoarseClock (tests). */
  readonly clock?: { readonly ms: number }
  /** Passive ejection's time and timers instead of the real ones (tests). */
  readonly poolClock?: PoolClock
  /** Re-reads the config for a reload (SIGHUP, POST /reload); default: the start's config again. */
  readonly reloadFrom?: () => Promise<LoadedConfig>
}

/** A running switchyard, whatever runs its data path. */
export interface RunningInstance {
  readonly proxyUrl: string
  readonly adminUrl: string
  readonly switchboard: Switchboard
  readonly rolloutDriver: RolloutDriver
  readonly metrics: Metrics
  readonly admin: FastifyInstance
  /** Re-reads the config (SIGHUP, POST /reload); components register with it to take new configs. */
  readonly reloader: Reloader
  /** DNS discovery of the colors that have it; `reconfigure(config.colors)` applies a reloaded config's settings. */
  readonly discovery: Discovery
  /** Drains and stops everything; resolves when all is closed. */
  close (): Promise<void>
}

/** A running switchyard whose data path is in this process (config `workers: 1`). */
export interface Running extends RunningInstance {
  readonly dataPath: DataPath
}

/** A running switchyard whose data path runs in worker processes (config `workers` > 1; src/cluster/). */
export interface RunningCluster extends RunningInstance {
  readonly workers: WorkerPool
}

/** Creates the store a config names. */
export function createStore (config: StoreConfig): Store {
  switch (config.kind) {
    case 'file': return new FileStore(config.path)
    case 'memory': return new MemoryStore()
    case 'redis': return new RedisStore(config)
  }
}

/** A default instance id: host, pid and a random suffix (unique across restarts). */
export function defaultInstanceId (): string {
  return `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`
}

function urlOf (server: FastifyInstance, tls: boolean): string {
  const address = server.server.address()
  if (address === null || typeof address === 'string') return String(address)
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address
  return `${tls ? 'https' : 'http'}://${host}:${address.port}`
}

/**
 * This instance's requests in flight per color and target, nonzero only (retiring targets
 * too: they stay in their pool until idle). The one count source of multi-instance drains
 * (heartbeats, GET /targets, the drain wait); with workers, the sum over the workers.
 * `closingOnly`: only the targets taking no new request here (draining, disabled, retiring),
 * whose counts are published as they change. One pass over the pools; called from timers
 * and the admin API, never on the data path.
 */
export function inFlightByTarget (pools: TargetPools, closingOnly = false): InFlightCounts {
  const out: Record<string, Record<string, number>> = {}
  for (const list of pools.byColor) {
    for (const t of list) {
      if (t.inFlight > 0 && (!closingOnly || t.mode !== 'enabled' || t.retiring)) (out[t.colorName] ??= {})[t.id] = t.inFlight
    }
  }
  return out
}

/** The admin API's view of the data path's targets. */
function targetAdmin (pools: TargetPools, colors: readonly string[], inFlight: () => InFlightCounts): TargetAdmin {
  const colorIndex = (name: string): number => colors.indexOf(name)
  return {
    list: () => pools.byColor.flat().map((t) => ({
      color: t.colorName,
      id: t.id,
      url: t.origin,
      mode: t.retiring ? 'draining' : t.mode,
      source: t.source,
      health: t.health,
      inFlight: t.inFlight,
      ...(t.outlier.ejectedUntil > 0 ? { ejectedUntil: new Date(t.outlier.ejectedUntil).toISOString() } : {})
    })),
    find: (color, idOrUrl) => {
      const c = colorIndex(color)
      return c < 0 ? undefined : pools.find(c, idOrUrl)?.id
    },
    canServe: (color) => pools.available[colorIndex(color)] === 1,
    inFlight: (color, id) => pools.find(colorIndex(color), id)?.inFlight ?? 0,
    inFlightByTarget: inFlight,
    usableOthers: (color, id) => (pools.byColor[colorIndex(color)] ?? []).filter((t) => t.usable && t.id !== id).length
  }
}

/** Starts switchyard on a validated config, its data path in this process. */
export async function startSwitchyard (loaded: LoadedConfig, opts: StartOptions = {}): Promise<Running> {
  let dataPath: DataPath | undefined
  const running = await start(loaded, opts, async (deps) => {
    dataPath = await buildDataPath(deps)
    return localPort(dataPath, deps.tls !== undefined)
  })
  return { ...running, dataPath: dataPath as DataPath }
}

/** Starts switchyard on a validated config: with `workers` > 1 a primary and its workers (src/cluster/), else startSwitchyard. */
export async function startInstance (loaded: LoadedConfig, opts: StartOptions = {}): Promise<Running | RunningCluster> {
  const count = workerCount(loaded.config.workers)
  if (count <= 1) return await startSwitchyard(loaded, opts)
  let workers: WorkerPool | undefined
  const running = await start(loaded, opts, async (deps) => {
    workers = startWorkers(deps, count, loaded.targets)
    return workers
  })
  return { ...running, workers: workers as WorkerPool }
}

/** The control plane (store, switchboard, health checks, admin API, rollouts) around the data path `makeDataPath` builds. */
async function start (loaded: LoadedConfig, opts: StartOptions, makeDataPath: (deps: ProxyDeps) => Promise<DataPathPort>): Promise<RunningInstance> {
  const { config, colors } = loaded
  // TLS files are read before anything starts: a missing one stops the start, listing both listeners' problems.
  const tlsProblems: string[] = []
  const dataTls = readTls(config.listen.tls, 'listen.tls', tlsProblems)
  readTls(config.admin.listen.tls, 'admin.listen.tls', tlsProblems)
  if (tlsProblems.length > 0) throw tlsError(tlsProblems)
  const logger = opts.logger ?? pino({ level: config.log.level, name: 'switchyard' })
  const flogger = logger as unknown as FastifyBaseLogger
  const store = opts.store ?? createStore(config.store)
  const metrics = new Metrics(colors)
  const redis = config.store.kind === 'redis' ? config.store : undefined
  const instanceId = config.instance.id ?? defaultInstanceId()
  // The per-color counters this process publishes with its heartbeats (for rollout
  // analysis); the epoch changes with every start, so no reader subtracts across a restart.
  const epoch = `${instanceId}:${Date.now().toString(36)}:${randomBytes(3).toString('hex')}`
  const traffic = (): TrafficReport => ({ epoch, colors: metrics.traffic() })
  // The config's targets: the pool an empty store is seeded with, and that of a state without one.
  const initialPool = configPool(colors, loaded.targets)
  // The data path is built after the switchboard starts (it needs the state and secret):
  // until then nothing is in flight.
  const built: { pools?: TargetPools } = {}
  const inFlight = (): InFlightCounts => (built.pools === undefined ? {} : inFlightByTarget(built.pools))
  const switchboard = new Switchboard({
    store,
    colors,
    initialWeights: loaded.initialWeights,
    initialPool,
    instanceId,
    traffic,
    inFlight: { byTarget: inFlight, closing: () => (built.pools === undefined ? {} : inFlightByTarget(built.pools, true)) },
    ...(redis === undefined
      ? {}
      : { heartbeatMs: redis.heartbeatMs, instanceTtlMs: redis.instanceTtlMs, resyncIntervalMs: redis.resyncIntervalMs, lastKnown: new LastKnownFile(redis.lastKnownPath) }),
    log: logger
  })
  try {
    await switchboard.start(new Date())
  } catch (e) {
    await store.close()
    throw e
  }
  // The store's pool wins over the config's targets (the config's are only the initial pool).
  for (const line of describeDifferences(poolDifferences(colors, switchboard.state.pool, initialPool))) {
    logger.warn({ version: switchboard.state.version }, `the store's target pool differs from the config, and the store wins: ${line} (change it with POST /targets and DELETE /targets; see docs/targets.md)`)
  }
  metrics.storeUp(store.kind, switchboard.storeUp)
  switchboard.onConnectivity((up) => { metrics.storeUp(store.kind, up) })

  const dataPath = await makeDataPath({
    config,
    colors,
    targets: loaded.targets,
    secret: switchboard.secret,
    metrics,
    logger: flogger,
    tls: dataTls,
    clock: opts.clock,
    poolClock: opts.poolClock,
    onHealth: ({ target, healthy, why }) => {
      metrics.targetHealth(target.colorName, target.id, healthy)
      logger[healthy ? 'info' : 'warn']({ color: target.colorName, target: target.id, health: target.health, why }, healthy ? 'target healthy' : 'target unhealthy')
    }
  })
  built.pools = dataPath.pools
  for (const list of dataPath.pools.byColor) for (const t of list) metrics.targetHealth(t.colorName, t.id, true)
  const probes = new Map<Target, Probed>()
  const probeOf = (t: Target): Probed => {
    let p = probes.get(t)
    if (p === undefined) {
      p = {
        origin: t.origin,
        color: t.colorName,
        verdict: (healthy: boolean, why: string) => { dataPath.pools.setActiveHealth(t, healthy, why) },
        confirmed: (why: string) => { dataPath.pools.setActiveHealth(t, true, why) }
      }
      probes.set(t, p)
    }
    return p
  }
  // Always built: a color's own health block, or a reload, may turn checks on for some targets.
  const checker = new ActiveChecker(activePolicyOf(config, colors), dataPath.pools.byColor.flat().map(probeOf), (origin, error) => { logger.error({ target: origin, err: error }, 'active health check round failed; checks go on') })
  // Targets that join or leave at run time (admin API, DNS discovery) are checked and
  // counted like the initial ones, and their series leave /metrics with them.
  dataPath.pools.onMembership(({ kind, target }) => {
    if (kind === 'added') {
      metrics.targetHealth(target.colorName, target.id, true)
      checker.add(probeOf(target))
    } else {
      metrics.removeTarget(target.colorName, target.id)
      const p = probes.get(target)
      if (p !== undefined) checker.remove(p)
      probes.delete(target)
    }
    logger.info({ color: target.colorName, target: target.id, url: target.origin, source: target.source }, kind === 'added' ? 'target joined the pool' : 'target left the pool')
  })
  if (checker.checked === 0) {
    logger.warn('no active health check is configured (health.active.path): a dead target is found only by the requests that fail on it, and GET /targets shows a target "unknown" until it answers one')
  }
  // After the membership listener: discovered targets are checked and counted like the others.
  // Their mode is the routing state's for their id (an operator may drain one by id).
  const discovery = new Discovery({ colors, pools: dataPath.pools, registry: metrics.registry, modeOf: (color, id) => targetMode(switchboard.state, color, id), log: logger })
  await discovery.start(config.colors)
  switchboard.onSecret((secret) => { dataPath.setSecret(secret) })
  // A cluster's workers apply each state asynchronously: the instance counts it applied once they all have.
  if (dataPath.awaitsApply) switchboard.onApplyAwaited(async (state) => { await dataPath.apply(state) })
  switchboard.onApply((state, before) => {
    if (!dataPath.awaitsApply) void dataPath.apply(state)
    metrics.stateApplied(state, before !== null)
    if (before?.pool !== undefined && state.pool === undefined) {
      // A release before the pool rewrote the state without it (it keeps fields it does not know only when reading).
      logger.warn({ version: state.version, changedBy: state.changedBy }, `version ${state.version} has no target pool (written by a switchyard release before it?): routing to the config's targets until the next target write; finish upgrading every instance before adding or removing targets`)
    }
    if (before !== null) {
      // The audit line: who, why, before → after (and which target, which mode, for a
      // target change). Never a token, secret or cookie value.
      const pool = state.kind === 'target' ? poolChanges(colors, before.pool, state.pool, initialPool) : []
      // A removed target's mode goes with it: that is the removal, not a mode change.
      const targets = state.kind === 'target' ? targetModeChanges(before, state).filter((c) => !pool.some((p) => p.color === c.color && p.id === c.target)) : undefined
      const said = [...(targets ?? []).map((c) => `${c.color} target ${c.target} ${c.from} → ${c.to}`), ...pool.map((c) => `${c.color} target ${c.id} (${c.url}) ${c.change}`)]
      logger.info({
        audit: {
          version: state.version,
          kind: state.kind,
          changedBy: state.changedBy,
          reason: state.reason,
          before: { version: before.version, weights: weightsToPercent(colors, before.weights) },
          after: { version: state.version, weights: weightsToPercent(colors, state.weights) },
          ...(targets === undefined ? {} : { targets }),
          ...(pool.length === 0 ? {} : { pool })
        }
      }, said.length === 0 ? 'routing state changed' : `routing state changed: ${said.join(', ')}`)
    }
  })

  const driver = new RolloutDriver({ switchboard, instanceId, traffic, tickMs: config.rollout.tickMs, leaseTtlMs: config.rollout.leaseTtlMs, metrics, log: logger })
  const rollouts = new RolloutControl({ switchboard, onChange: () => { driver.poke() }, log: logger })

  let closing = false
  const figures = new RecentFigures({ source: () => metrics.traffic(), colors })
  figures.start()
  const auth = new AdminAuth(config.admin.tokens)
  const reloader = new Reloader({ current: loaded, source: opts.reloadFrom ?? (async () => loaded), log: logger })
  registerCoreReloadables(reloader, { auth, checker, pools: dataPath.pools, dataPath, logger })
  // New discovery settings resolve in the background: a reload does not wait on DNS.
  reloader.register({
    name: 'discovery',
    apply: (next) => {
      discovery.reconfigure(next.config.colors).catch((e: unknown) => { logger.error({ err: e }, 'discovery could not take the reloaded settings; it goes on with the old ones') })
    }
  })
  const admin = await buildAdminServer({
    auth,
    reload: async (by, reason) => await reloader.reload(by, reason),
    rollouts,
    figures,
    config,
    switchboard,
    metrics,
    targets: targetAdmin(dataPath.pools, colors, inFlight),
    pool: initialPool,
    logger: flogger,
    ready: () => {
      if (closing) return { ready: false, status: 'shutting down', detail: 'draining in-flight requests' }
      // Degraded still answers 200: every instance keeps routing on its last state (fail
      // static), and a load balancer must not pull them all when the store dies.
      if (!switchboard.storeUp) return { ready: true, status: 'degraded', detail: `the ${store.kind} store is unreachable: routing by version ${switchboard.state.version}, writes refused` }
      if (switchboard.storeProblem !== undefined) return { ready: true, status: 'degraded', detail: `the ${store.kind} store holds a value that is not valid (SWY_ERR_STORE_CORRUPT): routing by version ${switchboard.state.version}, writes refused; ${switchboard.storeProblem}` }
      const state = switchboard.state
      const weighted = colors.map((color, i) => ({ color, targets: dataPath.pools.byColor[i] ?? [] })).filter((w) => weightOf(state.weights, w.color) > 0)
      return targetReadiness(weighted, checker.checked > 0, `routing by version ${state.version} from the ${store.kind} store`)
    }
  })

  const proxyUrl = await dataPath.listen(config.listen.host, opts.proxyPort ?? config.listen.port)
  try {
    await admin.listen({ host: config.admin.listen.host, port: opts.adminPort ?? config.admin.listen.port })
  } catch (e) {
    figures.stop()
    discovery.stop()
    await dataPath.close()
    throw e
  }
  const adminUrl = urlOf(admin, config.admin.listen.tls !== undefined)
  driver.start()
  const state = switchboard.state
  logger.info({ proxy: proxyUrl, admin: adminUrl, version: state.version, weights: weightsToPercent(colors, state.weights), store: store.kind }, 'switchyard started')

  return {
    proxyUrl,
    adminUrl,
    switchboard,
    rolloutDriver: driver,
    metrics,
    admin,
    reloader,
    discovery,
    async close () {
      if (closing) return
      closing = true
      figures.stop()
      discovery.stop()
      // The data path drains first while /readyz (admin) reports 503 to load balancers.
      await dataPath.close()
      await checker.stop()
      await dataPath.closeUpstreams()
      await admin.close()
      await driver.stop()
      await switchboard.stop()
      await store.close()
    }
  }
}
