/**
 * Load generators: wrk when installed (C, one thread, µs latency histogram), else autocannon
 * (the devDependency, run as its CLI in a child). LOADGEN=wrk|autocannon forces one. Both
 * run in their own process, pinned to the load CPU, and report the same figures.
 */
import { spawn, spawnSync } from 'node:child_process'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { ROOT } from '../../test/helpers/harness.js'
import { pinnedCommand } from './children.js'
import { QUICK } from './options.js'

/** A load generator this suite can drive. */
export type LoadGenName = 'wrk' | 'autocannon'

/** What one load run measured. */
export interface LoadResult {
  readonly reqPerSec: number
  readonly p50Ms: number
  readonly p99Ms: number
  readonly requests: number
  /** Responses outside 2xx (wrk counts outside 2xx/3xx; the servers here never send 3xx). */
  readonly non2xx: number
  /** Socket errors and timeouts. */
  readonly errors: number
}

/** One load run's shape. */
export interface LoadSpec {
  readonly url: string
  readonly connections: number
  readonly seconds: number
  /** Extra request headers, e.g. { cookie: 'swy=…' }. */
  readonly headers?: Readonly<Record<string, string>>
  /** taskset CPU list for the generator. */
  readonly cpus?: string | undefined
  /** wrk only: a Lua script (`-s`) and the environment it reads (e.g. COOKIES for bench/servers/cookie-clients.lua). */
  readonly script?: string
  readonly env?: Readonly<Record<string, string>>
}

function wrkInstalled (): boolean {
  return spawnSync('wrk', ['--version'], { stdio: 'ignore' }).error === undefined
}

/** The generator to use: LOADGEN if set, else wrk when installed, else autocannon. */
export function pickLoadGen (): LoadGenName {
  const forced = process.env.LOADGEN
  if (forced === 'wrk' || forced === 'autocannon') return forced
  if (forced !== undefined && forced !== '') throw new Error(`LOADGEN must be wrk or autocannon, got "${forced}"`)
  return wrkInstalled() ? 'wrk' : 'autocannon'
}

function autocannonBin (): string {
  const require = createRequire(join(ROOT, 'package.json'))
  return join(dirname(require.resolve('autocannon/package.json')), 'autocannon.js')
}

async function capture (cmd: string, args: readonly string[], env?: Readonly<Record<string, string>>): Promise<string> {
  const child = spawn(cmd, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } })
  let out = ''
  let err = ''
  child.stdout.setEncoding('utf8').on('data', (d: string) => { out += d })
  child.stderr.setEncoding('utf8').on('data', (d: string) => { err += d })
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve))
  if (code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${String(code)}:\n${err}${out}`)
  return out
}

const UNIT_MS: Readonly<Record<string, number>> = { us: 0.001, ms: 1, s: 1000, m: 60_000 }

function wrkLatencyMs (out: string, percent: string): number {
  const m = new RegExp(`^\\s+${percent}%\\s+([\\d.]+)(us|ms|s|m)\\s*$`, 'm').exec(out)
  return m === null ? Number.NaN : Number(m[1]) * (UNIT_MS[m[2] as string] ?? Number.NaN)
}

/** Parses wrk's --latency report. */
export function parseWrk (out: string): LoadResult {
  const num = (re: RegExp): number => { const m = re.exec(out); return m === null ? 0 : Number(m[1]) }
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out)
  const errors = socket === null ? 0 : socket.slice(1).reduce((a, b) => a + Number(b), 0)
  return {
    reqPerSec: num(/^Requests\/sec:\s+([\d.]+)/m),
    p50Ms: wrkLatencyMs(out, '50'),
    p99Ms: wrkLatencyMs(out, '99'),
    requests: num(/^\s+(\d+) requests in/m),
    non2xx: num(/Non-2xx or 3xx responses: (\d+)/),
    errors
  }
}

interface AutocannonJson {
  readonly requests: { readonly total: number }
  readonly latency: { readonly p50: number, readonly p99: number }
  readonly duration: number
  readonly non2xx: number
  readonly errors: number
  readonly timeouts: number
}

/** How many times a smoke run (QUICK=1) that got no answer is run again. */
const QUICK_ATTEMPTS = 5

/**
 * A smoke run (QUICK=1) lasts a second: on a machine whose cores are all busy, a server can
 * answer nothing in it. Such a run is made again (QUICK_ATTEMPTS at most) instead of
 * reporting 0 req/s: the smoke test waits on "answered something", not on a time window.
 */
async function answering (run: () => Promise<LoadResult>): Promise<LoadResult> {
  for (let attempt = 1; ; attempt++) {
    const r = await run()
    if (!QUICK || r.requests > 0 || attempt >= QUICK_ATTEMPTS) return r
  }
}

/** Runs one load run with the chosen generator. */
export async function runLoad (gen: LoadGenName, spec: LoadSpec): Promise<LoadResult> {
  return await answering(async () => await loadOnce(gen, spec))
}

async function loadOnce (gen: LoadGenName, spec: LoadSpec): Promise<LoadResult> {
  const headers = Object.entries(spec.headers ?? {})
  if (gen === 'wrk') {
    const args = ['-t1', `-c${spec.connections}`, `-d${Math.max(1, Math.round(spec.seconds))}s`, '--latency', ...(spec.script === undefined ? [] : ['-s', spec.script]), ...headers.flatMap(([k, v]) => ['-H', `${k}: ${v}`]), spec.url]
    const [cmd, argv] = pinnedCommand(spec.cpus, 'wrk', args)
    return parseWrk(await capture(cmd, argv, spec.env))
  }
  if (spec.script !== undefined) throw new Error('a load script needs wrk (apt-get install -y wrk)')
  const args = [autocannonBin(), '-c', String(spec.connections), '-d', String(Math.max(1, Math.round(spec.seconds))), '-j', ...headers.flatMap(([k, v]) => ['-H', `${k}: ${v}`]), spec.url]
  const [cmd, argv] = pinnedCommand(spec.cpus, process.execPath, args)
  const out = await capture(cmd, argv)
  const r = JSON.parse(out.slice(out.indexOf('{'))) as AutocannonJson
  return {
    reqPerSec: r.requests.total / r.duration,
    p50Ms: r.latency.p50,
    p99Ms: r.latency.p99,
    requests: r.requests.total,
    non2xx: r.non2xx,
    errors: r.errors + r.timeouts
  }
}

/**
 * The c=1 latency pass: wrk -c1 when wrk is the generator (µs histogram), else the
 * hrtime-timed one-connection client in bench/servers/latency-client.ts.
 */
export async function runLatency (gen: LoadGenName, spec: Omit<LoadSpec, 'connections'>): Promise<LoadResult> {
  if (gen === 'wrk') return await runLoad('wrk', { ...spec, connections: 1 })
  const headers = Object.entries(spec.headers ?? {}).map(([k, v]) => `${k}: ${v}`)
  const [cmd, argv] = pinnedCommand(spec.cpus, process.execPath, ['--import', 'tsx', 'bench/servers/latency-client.ts', spec.url, String(spec.seconds), ...headers])
  return await answering(async () => {
    const out = await capture(cmd, argv)
    return JSON.parse(out.slice(out.indexOf('{'))) as LoadResult
  })
}
