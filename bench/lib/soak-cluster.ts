/**
 * The soak's processes, all real children on 127.0.0.1: a redis-server (test/helpers/redis.ts:
 * free port, no persistence, killable and restartable empty on the same port), upstreams
 * (bench/lib/soak-upstream.ts, one process each so one can be SIGKILLed and started again on
 * its port) and `switchyard serve` instances sharing the Redis store. Plus the admin probes
 * the soak reads at the end: every target's inFlight and the in-flight gauge.
 */
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { request } from 'undici'
import { freePort, waitForReady } from '../../test/helpers/process.js'
import { startRedis, type RedisServer } from '../../test/helpers/redis.js'
import type { Teardown } from '../../test/helpers/services.js'
import { readyMessage, spawnNode, stop, type NodeChild } from './children.js'

/** How /stream answers: lines of `<color>\n`, and the pause between them. */
export const STREAM_LINES = 5
export const STREAM_GAP_MS = 30

/** One upstream process that can be killed and started again on the same port. */
export interface SoakUpstream {
  readonly color: string
  readonly id: string
  readonly port: number
  readonly url: string
  /** True between kill() and the end of restart(). */
  readonly down: boolean
  /** SIGKILLs the process and waits for its exit. */
  kill (): Promise<void>
  /** Starts a fresh process on the same port. */
  restart (): Promise<void>
}

/** Starts an upstream child (port 0 picks a free one). */
async function spawnUpstream (t: Teardown, color: string, id: string, port: number): Promise<{ child: NodeChild, port: number }> {
  const child = spawnNode(t, 'bench/lib/soak-upstream.ts', [color, id, String(port), String(STREAM_LINES), String(STREAM_GAP_MS)])
  const m = await readyMessage<{ port: number }>(child)
  return { child, port: m.port }
}

/** Starts one killable upstream. */
export async function startSoakUpstream (t: Teardown, color: string, id: string): Promise<SoakUpstream> {
  let { child, port } = await spawnUpstream(t, color, id, 0)
  let down = false
  return {
    color,
    id,
    port,
    url: `http://127.0.0.1:${port}`,
    get down () { return down },
    async kill () {
      down = true
      child.signal('SIGKILL')
      await child.exited
    },
    async restart () {
      // The port was just freed; a bind can still lose a race with the kernel, so retry briefly.
      for (let attempt = 0; ; attempt++) {
        try {
          child = (await spawnUpstream(t, color, id, port)).child
          break
        } catch (e) {
          if (attempt >= 20) throw e
          await new Promise((resolve) => setTimeout(resolve, 100))
        }
      }
      down = false
    }
  }
}

/** A switchyard instance of the soak. */
export interface SoakInstance {
  readonly id: string
  readonly proxyPort: number
  readonly proxyUrl: string
  readonly adminUrl: string
  readonly process: NodeChild
}

/** The data-path limits the soak runs with (small, so the hostile clients hit them). */
export interface SoakLimits {
  readonly bodyLimit: number
  readonly requestTimeoutMs: number
  readonly headersTimeoutMs: number
  /** upstream.connections: a small pool shows a wedged connection (issue 9 item 1) within minutes. */
  readonly upstreamConnections: number
}

/** Writes the instance's config (Redis store, two targets per color) and starts `switchyard serve`. */
export async function startSoakInstance (t: Teardown, dir: string, index: number, redis: RedisServer, upstreams: readonly SoakUpstream[], limits: SoakLimits): Promise<SoakInstance> {
  const id = `soak-${index}`
  const proxyPort = await freePort()
  const adminPort = await freePort()
  const colors: Record<string, { targets: Array<{ id: string, url: string }> }> = {}
  for (const u of upstreams) (colors[u.color] ??= { targets: [] }).targets.push({ id: u.id, url: u.url })
  const file = join(dir, `${id}.json`)
  await writeFile(file, JSON.stringify({
    listen: { host: '127.0.0.1', port: proxyPort },
    admin: { listen: { host: '127.0.0.1', port: adminPort } },
    colors,
    initial: { weights: { blue: 50, green: 50 } },
    sticky: { mode: 'cookie' },
    store: { kind: 'redis', url: redis.url, lastKnownPath: join(dir, `${id}-last-known.json`), heartbeatMs: 250 },
    proxy: { bodyLimit: limits.bodyLimit, requestTimeoutMs: limits.requestTimeoutMs, headersTimeoutMs: limits.headersTimeoutMs },
    upstream: { connections: limits.upstreamConnections },
    health: { active: { path: '/healthz', intervalMs: 500 } },
    instance: { id },
    shutdown: { graceSeconds: 5 },
    log: { level: 'warn' }
  }))
  // BENCH_DIST=1 runs the compiled dist/cli.js (npm run build first), as production does.
  const dist = process.env.BENCH_DIST === '1'
  const p = spawnNode(t, dist ? 'dist/cli.js' : 'src/cli.ts', ['serve', '--config', file], { tsx: !dist })
  const adminUrl = `http://127.0.0.1:${adminPort}`
  await waitForReady(p, adminUrl)
  return { id, proxyPort, proxyUrl: `http://127.0.0.1:${proxyPort}`, adminUrl, process: p }
}

/** Starts Redis, two upstreams per color and `instances` switchyard instances on it. */
export async function startSoakCluster (t: Teardown, instances: number, limits: SoakLimits): Promise<{ redis: RedisServer, upstreams: SoakUpstream[], instances: SoakInstance[] }> {
  const dir = await mkdtemp(join(tmpdir(), 'swy-soak-'))
  const redis = await startRedis(t)
  const upstreams: SoakUpstream[] = []
  for (const color of ['blue', 'green']) {
    for (let i = 0; i < 2; i++) upstreams.push(await startSoakUpstream(t, color, `${color}-${i}`))
  }
  const list: SoakInstance[] = []
  for (let i = 0; i < instances; i++) list.push(await startSoakInstance(t, dir, i, redis, upstreams, limits))
  return { redis, upstreams, instances: list }
}

/** Stops an instance with SIGTERM (SIGKILL after the grace). */
export async function stopInstance (i: SoakInstance): Promise<void> {
  await stop(i.process, 10_000)
}

/** One target as `GET /targets` lists it. */
export interface TargetView {
  readonly color: string
  readonly id: string
  readonly health: string
  readonly mode: string
  readonly inFlight: number
  readonly ejectedUntil?: string
}

/** What an instance reports about in-flight requests. */
export interface InFlightView {
  /** Every target's inFlight (GET /targets). */
  readonly targets: TargetView[]
  /** Sum of the targets' inFlight. */
  readonly targetsSum: number
  /** Sum of `switchyard_in_flight_requests` over colors (GET /metrics). */
  readonly gauge: number
  /** The gauge per color. */
  readonly gaugeByColor: Record<string, number>
}

async function getText (url: string): Promise<{ status: number, body: string }> {
  const res = await request(url, { headersTimeout: 5000, bodyTimeout: 5000 })
  return { status: res.statusCode, body: await res.body.text() }
}

/** Sums every sample of a metric (optionally per label) in a Prometheus text exposition. */
export function metricSamples (text: string, name: string, label?: string): { total: number, by: Record<string, number> } {
  let total = 0
  const by: Record<string, number> = {}
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue
    const value = Number(line.slice(line.lastIndexOf(' ') + 1))
    if (!Number.isFinite(value)) continue
    total += value
    if (label !== undefined) {
      const key = new RegExp(`${label}="([^"]*)"`).exec(line)?.[1] ?? ''
      by[key] = (by[key] ?? 0) + value
    }
  }
  return { total, by }
}

/** Reads an instance's in-flight figures from its admin API. */
export async function readInFlight (adminUrl: string): Promise<InFlightView> {
  const targets = JSON.parse((await getText(`${adminUrl}/targets`)).body) as { targets: TargetView[] }
  const metrics = (await getText(`${adminUrl}/metrics`)).body
  const gauge = metricSamples(metrics, 'switchyard_in_flight_requests', 'color')
  return {
    targets: targets.targets,
    targetsSum: targets.targets.reduce((a, x) => a + x.inFlight, 0),
    gauge: gauge.total,
    gaugeByColor: gauge.by
  }
}

/** The instance's full metrics text (for the end-of-run counters). */
export async function readMetrics (adminUrl: string): Promise<string> {
  return (await getText(`${adminUrl}/metrics`)).body
}
