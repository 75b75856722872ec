/**
 * A cluster worker: the data path only (buildDataPath, the same code as one process), on the
 * listening socket the primary shares. It routes by what the primary sends (states, the
 * cookie secret, the targets' health) and acknowledges each message once it routes by it;
 * it reports passive-health outcomes (WorkerPools), in-flight counts and metric cells. It
 * holds no store, admin API or health checker. SIGTERM/SIGINT are the primary's to handle:
 * the primary sends `drain`, the worker finishes what is in flight and exits 0. A worker
 * whose primary is gone exits.
 */
import cluster from 'node:cluster'
import { pino, type Logger } from 'pino'
import { colorHealths } from '../config/color-health.js'
import { copyCells, Metrics } from '../metrics/metrics.js'
import { buildDataPath, type DataPath } from '../proxy/proxy-server.js'
import { isMessage, type FromWorker, type ToWorker, type WorkerInit } from './protocol.js'
import { WorkerPools } from './worker-pools.js'

/** How often a worker reports in-flight counts and metric cells that changed (ms). */
export const REPORT_MS = 50

function send (m: FromWorker, then?: () => void): void {
  if (process.send === undefined || !process.connected) { then?.(); return }
  process.send(m, undefined, {}, () => { then?.() })
}

/** The seq of the last membership change this worker applied (see protocol.ts). */
let layout = 0

/** The running data path of a worker. */
interface Serving {
  readonly dataPath: DataPath
  readonly pools: WorkerPools
  readonly metrics: Metrics
  readonly logger: Logger
}

/** Runs this process as a worker until the primary drains it. */
export function runWorker (): void {
  // The primary drains the workers; a signal to the whole process group must not kill them first.
  process.on('SIGTERM', () => {})
  process.on('SIGINT', () => {})
  process.on('disconnect', () => { process.exit(0) })
  let serving: Serving | undefined
  const early: ToWorker[] = []
  process.on('message', (m: unknown) => {
    if (!isMessage(m)) return
    const msg = m as ToWorker
    if (msg.type === 'init') {
      start(msg).then((s) => {
        serving = s
        for (const queued of early.splice(0)) handle(s, queued)
      }, (e: unknown) => {
        send({ type: 'failed', message: e instanceof Error ? `${e.name}: ${e.message}` : String(e) }, () => process.exit(1))
      })
    } else if (serving === undefined) {
      early.push(msg)
    } else {
      handle(serving, msg)
    }
  })
  send({ type: 'hello' })
}

async function start (init: WorkerInit): Promise<Serving> {
  const { config, colors, targets } = init
  const logger = pino({ level: config.log.level, name: 'switchyard' }).child({ worker: cluster.worker?.id })
  const metrics = new Metrics(colors, { defaultMetrics: false })
  const pools = new WorkerPools(colors, targets, colorHealths(config, colors).map((h) => h.passive), {
    outcome: (t, ok) => { send({ type: 'outcome', color: t.color, id: t.id, ok }) },
    answered: (t) => { send({ type: 'answered', color: t.color, id: t.id }) }
  })
  layout = init.layout
  const flat = pools.byColor.flat()
  for (const i of init.retiring) {
    const t = flat[i]
    if (t !== undefined) pools.markRetiring(t)
  }
  const dataPath = await buildDataPath({ config, colors, targets, secret: init.secret, metrics, logger, tls: init.tls, pools })
  dataPath.apply(init.state)
  pools.applyHealth(init.health)
  await dataPath.server.listen({ host: init.host, port: init.port })
  const address = dataPath.server.server.address()
  const url = address === null || typeof address === 'string'
    ? String(address)
    : `${init.tls === undefined ? 'http' : 'https'}://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`
  send({ type: 'ack', seq: init.seq, layout, inFlight: pools.inFlight() })
  send({ type: 'ready', url })
  logger.info({ pid: process.pid, proxy: url }, 'worker listening')
  reportChanges(pools, metrics)
  return { dataPath, pools, metrics, logger }
}

/** Sends in-flight counts and cells every REPORT_MS while they change. */
function reportChanges (pools: WorkerPools, metrics: Metrics): void {
  let lastInFlight: Int32Array = new Int32Array(0)
  let lastTotal = -1
  const timer = setInterval(() => {
    const inFlight = pools.inFlight()
    const cells = metrics.cells
    let total = 0
    for (const v of cells.requests) total += v
    for (const v of cells.upstreamErrors) total += v
    for (const v of cells.inFlight) total += v
    if (total === lastTotal && sameCounts(inFlight, lastInFlight)) return
    lastTotal = total
    lastInFlight = inFlight
    send({ type: 'report', layout, inFlight, cells: copyCells(cells) })
  }, REPORT_MS)
  timer.unref()
}

function sameCounts (a: Int32Array, b: Int32Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

let draining = false

function handle (s: Serving, m: ToWorker): void {
  switch (m.type) {
    case 'init': return
    case 'apply':
      s.dataPath.apply(m.state)
      break
    case 'secret':
      s.dataPath.setSecret(m.secret)
      break
    case 'reconfigure':
      s.dataPath.upstream.reconfigure(m.upstream)
      s.logger.level = m.logLevel
      break
    case 'health':
      s.pools.applyHealth(m.health)
      break
    case 'add':
      s.pools.add(m.color, m.target, m.source, m.mode)
      layout = m.seq
      break
    case 'remove': {
      const t = s.pools.byColor[m.color]?.find((x) => x.id === m.id)
      if (t !== undefined) s.pools.remove(t)
      layout = m.seq
      break
    }
    case 'retire': {
      const t = s.pools.byColor[m.color]?.find((x) => x.id === m.id)
      if (t !== undefined) s.pools.markRetiring(t)
      break
    }
    case 'scrape':
      send({ type: 'cells', id: m.id, cells: copyCells(s.metrics.cells) })
      return
    case 'drain':
      if (draining) return
      draining = true
      void drain(s)
      return
  }
  send({ type: 'ack', seq: m.seq, layout, inFlight: s.pools.inFlight() })
}

async function drain (s: Serving): Promise<void> {
  await s.dataPath.server.close()
  await s.dataPath.closeUpstreams()
  send({ type: 'drained', cells: copyCells(s.metrics.cells) }, () => process.exit(0))
}
