/**
 * Prometheus test helpers: Debian's `promtool` run to completion (metrics piped on stdin),
 * and a real `prometheus` server per test on a free port with its TSDB in a test directory,
 * killed in teardown. Both come from the `prometheus` package (.ci/run installs it).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { request } from 'undici'
import { freePort, until, untilValue, type Teardown } from './harness.js'

/** How a promtool run ended, with everything it wrote. */
export interface ToolRun {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/** Runs `promtool <args>` in `cwd`, writing `stdin` to it when given. */
export async function promtool (args: readonly string[], opts: { stdin?: string, cwd?: string } = {}): Promise<ToolRun> {
  const child = spawn('promtool', args, { cwd: opts.cwd ?? process.cwd(), stdio: ['pipe', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d })
  child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d })
  const closed = new Promise<number | null>((resolve, reject) => {
    child.once('error', reject)
    child.once('close', (code) => resolve(code))
  })
  child.stdin.end(opts.stdin ?? '')
  return { code: await closed, stdout, stderr }
}

/** Names of the samples in a Prometheus text exposition (histograms as _bucket, _sum, _count). */
export function sampleNames (exposition: string): Set<string> {
  const names = new Set<string>()
  for (const line of exposition.split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const m = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)
    if (m !== null) names.add(m[0])
  }
  return names
}

/** The lines of an exposition whose metric family starts with `prefix` (HELP, TYPE, samples). */
export function familiesWithPrefix (exposition: string, prefix: string): string {
  const kept: string[] = []
  for (const line of exposition.split('\n')) {
    const name = line.startsWith('# ') ? (line.split(' ')[2] ?? '') : line
    if (name.startsWith(prefix)) kept.push(line)
  }
  return kept.join('\n') + '\n'
}

/** A running Prometheus server. */
export interface PrometheusServer {
  /** http://127.0.0.1:<port> */
  readonly url: string
  readonly child: ChildProcess
  /** Everything it logged so far. */
  log (): string
  /** Runs an instant query now; the result vector (throws on an API error). */
  query (expr: string): Promise<readonly VectorSample[]>
  /** SIGTERMs it (SIGKILL after 10 s) and waits for the exit. */
  stop (): Promise<void>
}

/** One sample of an instant-query vector. */
export interface VectorSample {
  readonly metric: Readonly<Record<string, string>>
  readonly value: number
}

function isRecord (v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** Parses a /api/v1/query answer of result type vector. */
export function parseVector (body: unknown): VectorSample[] {
  if (!isRecord(body) || body.status !== 'success' || !isRecord(body.data)) throw new Error(`query failed: ${JSON.stringify(body)}`)
  const { resultType, result } = body.data
  if (resultType !== 'vector' || !Array.isArray(result)) throw new Error(`not a vector: ${JSON.stringify(body.data)}`)
  return result.map((r: unknown) => {
    if (!isRecord(r) || !isRecord(r.metric) || !Array.isArray(r.value)) throw new Error(`bad sample: ${JSON.stringify(r)}`)
    const metric: Record<string, string> = {}
    for (const [k, v] of Object.entries(r.metric)) metric[k] = String(v)
    return { metric, value: Number(r.value[1]) }
  })
}

/**
 * Starts `prometheus` on 127.0.0.1 and a free port, scraping `targets` (host:port, path
 * /metrics) every second as job "switchyard", its TSDB and config under `dir`. Resolves
 * when /-/ready answers 200. Stopped in teardown; `timeout` bounds its life even if this
 * process dies without running teardown.
 */
export async function startPrometheus (t: Teardown, dir: string, targets: readonly string[], deadlineMs = 60_000): Promise<PrometheusServer> {
  const port = await freePort()
  const configFile = join(dir, 'prometheus.yml')
  writeFileSync(configFile, [
    'global:',
    '  scrape_interval: 1s',
    '  evaluation_interval: 1s',
    'scrape_configs:',
    '  - job_name: switchyard',
    '    scrape_interval: 1s',
    '    scrape_timeout: 1s',
    '    metrics_path: /metrics',
    '    static_configs:',
    `      - targets: [${targets.map((x) => `'${x}'`).join(', ')}]`,
    ''
  ].join('\n'))
  const child = spawn('timeout', ['--kill-after=5', '180', 'prometheus',
    `--config.file=${configFile}`,
    `--storage.tsdb.path=${join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
    '--log.level=warn'
  ], { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  child.stdout.setEncoding('utf8').on('data', (d: string) => { out += d })
  child.stderr.setEncoding('utf8').on('data', (d: string) => { out += d })
  const exited = new Promise<void>((resolve) => { child.once('close', () => resolve()) })
  const running = (): boolean => child.exitCode === null && child.signalCode === null
  // If this process exits without teardown (uncaught error), still end the child.
  const onExit = (): void => { if (running()) child.kill('SIGKILL') }
  process.once('exit', onExit)
  const stop = async (): Promise<void> => {
    process.removeListener('exit', onExit)
    if (running()) {
      child.kill('SIGTERM')
      const timer = setTimeout(() => { if (running()) child.kill('SIGKILL') }, 10_000)
      await exited
      clearTimeout(timer)
    }
  }
  t.teardown(stop)

  const url = `http://127.0.0.1:${port}`
  await until(`prometheus to be ready (${url}/-/ready answers 200)`, async () => {
    if (!running()) throw new Error(`prometheus exited before it was ready:\n${out}`)
    try {
      const res = await request(`${url}/-/ready`)
      await res.body.dump()
      return res.statusCode === 200
    } catch { return false /* not listening yet */ }
  }, { timeoutMs: deadlineMs, everyMs: 100, detail: () => out })

  return {
    url,
    child,
    log: () => out,
    async query (expr: string) {
      const res = await request(`${url}/api/v1/query?${new URLSearchParams({ query: expr }).toString()}`)
      return parseVector(await res.body.json())
    },
    stop
  }
}

/**
 * Polls `check` until it returns a value (not undefined), at most `deadlineMs`; then
 * rejects with what `describe` says about the last attempt. `untilValue` with Prometheus's
 * pace (it scrapes every second).
 */
export async function eventually<T> (check: () => Promise<T | undefined>, describe: () => string, deadlineMs = 60_000, everyMs = 250): Promise<T> {
  return await untilValue('a Prometheus query to answer as expected', check, { timeoutMs: deadlineMs, everyMs, detail: describe })
}
