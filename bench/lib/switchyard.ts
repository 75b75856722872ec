/**
 * The processes under test: the benchmark upstreams and switchyard itself (`switchyard
 * serve` from the sources, on a config written to a temp dir), each a pinned child.
 */
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { request } from 'undici'
import { freePort, setCookieValue, waitForReady, type Teardown } from '../../test/helpers/harness.js'
import { readyMessage, spawnNode, type NodeChild } from './children.js'

/** The two benchmark upstreams' origins. */
export interface Upstreams {
  readonly blue: string
  readonly green: string
  readonly process: NodeChild
}

/** Starts bench/servers/upstreams.ts in a child of its own. */
export async function startUpstreams (t: Teardown, cpus: string | undefined): Promise<Upstreams> {
  const p = spawnNode(t, 'bench/servers/upstreams.ts', [], { cpus })
  const m = await readyMessage<{ blue: string, green: string }>(p)
  return { blue: m.blue, green: m.green, process: p }
}

/** Starts the baseline bare @fastify/http-proxy to one upstream; resolves to its URL. */
export async function startBareProxy (t: Teardown, upstream: string, cpus: string | undefined, nodeArgs: readonly string[] = []): Promise<{ url: string, process: NodeChild }> {
  const p = spawnNode(t, 'bench/servers/bare-proxy.ts', [upstream], { cpus, nodeArgs })
  const m = await readyMessage<{ url: string }>(p)
  return { url: m.url, process: p }
}

/** A switchyard child. */
export interface SwitchyardChild {
  readonly proxyUrl: string
  readonly adminUrl: string
  readonly process: NodeChild
}

/** How to run the switchyard under test. */
export interface SwitchyardSpec {
  readonly upstreams: Upstreams
  readonly weights: Readonly<Record<string, number>>
  readonly cpus: string | undefined
  readonly sticky?: 'cookie' | 'header' | 'none'
  /** metrics.enabled (default true). */
  readonly metrics?: boolean
  /** Extra node flags (e.g. --cpu-prof). */
  readonly nodeArgs?: readonly string[]
  /** A state file to use as a file store (default: a memory store with a random secret). */
  readonly stateFile?: string
  /** Data-path worker processes (config `workers`; default 1, the single process). */
  readonly workers?: number
  /** Another source tree to run switchyard from (e.g. the previous commit's, to compare in one run); default this one. */
  readonly root?: string
}

/** Writes a config (memory store, log level warn) and starts `switchyard serve` on it. */
export async function startSwitchyardChild (t: Teardown, spec: SwitchyardSpec): Promise<SwitchyardChild> {
  const dir = await mkdtemp(join(tmpdir(), 'swy-bench-'))
  const proxyPort = await freePort()
  const adminPort = await freePort()
  const file = join(dir, 'switchyard.json')
  await writeFile(file, JSON.stringify({
    listen: { host: '127.0.0.1', port: proxyPort },
    admin: { listen: { host: '127.0.0.1', port: adminPort } },
    colors: { blue: { targets: [spec.upstreams.blue] }, green: { targets: [spec.upstreams.green] } },
    initial: { weights: spec.weights },
    sticky: { mode: spec.sticky ?? 'cookie' },
    metrics: { enabled: spec.metrics ?? true },
    store: spec.stateFile === undefined ? { kind: 'memory' } : { kind: 'file', path: spec.stateFile },
    log: { level: 'warn' },
    ...(spec.workers === undefined ? {} : { workers: spec.workers })
  }))
  // BENCH_DIST=1 runs the compiled dist/cli.js (npm run build first), as production does;
  // by default the sources run through tsx, which costs ≈20 MB of RSS.
  const dist = process.env.BENCH_DIST === '1'
  const script = dist ? 'dist/cli.js' : 'src/cli.ts'
  const p = spawnNode(t, spec.root === undefined ? script : join(spec.root, script), ['serve', '--config', file], { cpus: spec.cpus, nodeArgs: spec.nodeArgs ?? [], tsx: !dist })
  const adminUrl = `http://127.0.0.1:${adminPort}`
  await waitForReady(p, adminUrl)
  return { proxyUrl: `http://127.0.0.1:${proxyPort}`, adminUrl, process: p }
}

/** One proxied GET; returns the `name=value` of the sticky cookie the answer sets. */
export async function fetchStickyCookie (proxyUrl: string, name = 'swy'): Promise<string> {
  const res = await request(`${proxyUrl}/`)
  await res.body.dump()
  const found = setCookieValue(res.headers['set-cookie'], name)
  if (res.statusCode !== 200 || found === undefined) throw new Error(`expected a 200 with a ${name} cookie from ${proxyUrl}, got ${res.statusCode}`)
  return found
}

/** Requests switchyard counted per color and reason, from the admin /metrics (2xx only). */
export async function servedByColor (adminUrl: string): Promise<Record<string, Record<string, number>>> {
  const res = await request(`${adminUrl}/metrics`)
  const text = await res.body.text()
  const out: Record<string, Record<string, number>> = {}
  for (const line of text.split('\n')) {
    if (!line.startsWith('switchyard_requests_total{') || !line.includes('code_class="2xx"')) continue
    const color = /color="([^"]+)"/.exec(line)?.[1]
    const reason = /reason="([^"]+)"/.exec(line)?.[1]
    const value = Number(line.slice(line.lastIndexOf(' ') + 1))
    if (color === undefined || reason === undefined || !Number.isFinite(value)) continue
    const byReason = out[color] ??= {}
    byReason[reason] = (byReason[reason] ?? 0) + value
  }
  return out
}
