/**
 * Micro benchmark harness over mitata's `measure`: JIT warm-up, batching of sub-µs
 * functions and GC-aware sampling come from mitata; this prints ops/s and returns the
 * figures for bench/results/latest.json.
 */
import { pathToFileURL } from 'node:url'
import { do_not_optimize as doNotOptimize, measure } from 'mitata'
import { settings } from './options.js'
import { fmt, round } from './stats.js'

/** One micro benchmark's figures. */
export interface MicroResult {
  readonly name: string
  /** Operations per second (1e9 / mean ns per op). */
  readonly opsPerSec: number
  readonly meanNs: number
  readonly p50Ns: number
  readonly p99Ns: number
  readonly samples: number
}

/** Benchmarks one function; `fn` must return what it computed (kept alive, never optimized away). */
export async function bench (name: string, fn: () => unknown): Promise<MicroResult> {
  const stats = await measure(() => { doNotOptimize(fn()) }, { min_cpu_time: settings.microMs * 1e6 })
  const result: MicroResult = {
    name,
    opsPerSec: Math.round(1e9 / stats.avg),
    meanNs: round(stats.avg, 1),
    p50Ns: round(stats.p50, 1),
    p99Ns: round(stats.p99, 1),
    samples: stats.samples.length
  }
  process.stdout.write(`  ${name.padEnd(52)} ${fmt(result.opsPerSec).padStart(13)} ops/s  ${fmt(result.meanNs, 1).padStart(8)} ns/op\n`)
  return result
}

/** Throws unless `condition` holds: a benchmark that measures the wrong path is worse than none. */
export function check (condition: boolean, what: string): void {
  if (!condition) throw new Error(`benchmark set-up is wrong: ${what}`)
}

/** True when the module at `url` is the script node was started with. */
export function isMain (url: string): boolean {
  const entry = process.argv[1]
  return entry !== undefined && pathToFileURL(entry).href === url
}

/** Runs a micro file's `run` when it is the entry script. */
export function runIfMain (url: string, run: () => Promise<readonly MicroResult[]>): void {
  if (isMain(url)) run().catch((e: unknown) => { process.stderr.write(`${(e as Error).stack ?? String(e)}\n`); process.exitCode = 1 })
}
