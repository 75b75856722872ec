/**
 * Benchmark entry point (`npm run bench`): the micro benchmarks (bench/micro/), the macro
 * benchmark (bench/macro.ts), the scale benchmark (bench/scale.ts: 1, 20 k and 1 M distinct
 * returning clients) and flips under load (bench/flip-under-load.ts), in that order, in
 * about 7 minutes; then a summary with the targets of bench/README.md, and every figure
 * with the machine's description in bench/results/latest.json (BENCH_RESULTS to change it).
 * QUICK=1 runs everything with tiny durations (a smoke test, figures meaningless) and writes
 * bench/results/quick.json. The convergence benchmark is separate: `npm run bench:convergence`.
 */
import { spawnSync } from 'node:child_process'
import { mkdir, writeFile } from 'node:fs/promises'
import { cpus, loadavg, totalmem } from 'node:os'
import { dirname, resolve } from 'node:path'
import { ROOT } from '../test/helpers/harness.js'
import { printFlip, runFlipUnderLoad, type FlipResult } from './flip-under-load.js'
import { pickLoadGen } from './lib/load.js'
import type { MicroResult } from './lib/micro.js'
import { QUICK, settings } from './lib/options.js'
import { fmt, round } from './lib/stats.js'
import { printMacro, runMacro, type MacroResult } from './macro.js'
import { runMicro } from './micro/index.js'
import { printScale, runScale, type ScaleResult } from './scale.js'

/** One target of bench/README.md and whether this run met it. */
export interface TargetCheck {
  readonly target: string
  readonly value: string
  readonly met: boolean
}

/** The whole results file. */
export interface BenchResults {
  readonly date: string
  readonly quick: boolean
  readonly machine: {
    readonly cpus: number
    readonly cpuModel: string
    readonly memoryGB: number
    readonly node: string
    readonly platform: string
    readonly loadGen: string
    readonly loadAverageAtStart: readonly number[]
    readonly loadAverageAtEnd: readonly number[]
    readonly commit: string
  }
  readonly settings: typeof settings
  readonly seconds: { readonly micro: number, readonly macro: number, readonly scale: number, readonly flip: number, readonly total: number }
  readonly micro: readonly MicroResult[]
  readonly macro: MacroResult
  readonly scale: ScaleResult
  readonly flipUnderLoad: FlipResult
  readonly targets: readonly TargetCheck[]
}

function commit (): string {
  const head = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' })
  if (head.status !== 0) return 'unknown'
  const dirty = spawnSync('git', ['status', '--porcelain', '--', 'src'], { cwd: ROOT, encoding: 'utf8' }).stdout.trim() !== ''
  return `${head.stdout.trim()}${dirty ? ' (src modified)' : ''}`
}

/** Checks the figures against the targets of bench/README.md. */
export function checkTargets (micro: readonly MicroResult[], macro: MacroResult, flip: FlipResult, scale?: ScaleResult): TargetCheck[] {
  const checks: TargetCheck[] = []
  for (const name of ['switchyard-cookie', 'switchyard-fresh'] as const) {
    const t = macro.throughput[name]
    checks.push({ target: `${name} req/s ≥ 1.0× bare proxy`, value: `${fmt(t.reqPerSecVsBaseline, 2)}×`, met: t.reqPerSecVsBaseline >= 1 })
    checks.push({ target: `${name} p99 ≤ 1.1× bare proxy`, value: `${fmt(t.p99VsBaseline, 2)}×`, met: t.p99VsBaseline <= 1.1 })
  }
  const cookie = micro.find((m) => m.name === 'decide, valid cookie (read+cache hit+decide)')
  checks.push({ target: 'decide() with a valid cookie ≥ 5 M ops/s', value: `${fmt((cookie?.opsPerSec ?? 0) / 1e6, 2)} M ops/s`, met: (cookie?.opsPerSec ?? 0) >= 5e6 })
  checks.push({ target: `0 failed / 0 non-2xx over ${flip.flips} flips`, value: `${flip.failed} failed, ${flip.non2xx} non-2xx, ${flip.flipsFailed} flips refused`, met: flip.failed === 0 && flip.non2xx === 0 && flip.flipsFailed === 0 })
  for (const name of ['switchyard-cookie', 'switchyard-fresh'] as const) {
    const added = macro.latencyC1[name].addedP50UsOverDirect
    checks.push({ target: `${name} c=1 adds ≤ 150 µs p50 over direct`, value: `+${fmt(added, 0)} µs`, met: added <= 150 })
  }
  const last = scale?.rows.filter((r) => r.name.startsWith('returning-')).at(-1)
  if (last !== undefined && last.clients > 1) {
    checks.push({ target: `${last.name} req/s ≥ 0.97× ${last.ratioTo} (same run)`, value: `${fmt(last.ratio, 3)}× (server CPU per request ${fmt(last.cpuRatio, 3)}×)`, met: last.ratio >= 0.97 })
    const fresh = scale?.rows.find((r) => r.name === 'fresh')
    if (fresh !== undefined) checks.push({ target: 'scale: fresh req/s ≥ 1.0× bare proxy (same run)', value: `${fmt(fresh.ratio, 3)}×`, met: fresh.ratio >= 1 })
  }
  checks.push({ target: `RSS ≤ 150 MB after ${macro.rss.seconds} s`, value: `${macro.rss.endMB} MB`, met: macro.rss.endMB <= 150 })
  checks.push({ target: `RSS flat ${macro.rss.seconds / 2}→${macro.rss.seconds} s (< 5 % growth)`, value: `${fmt(macro.rss.growthMidToEnd * 100, 1)} %`, met: macro.rss.growthMidToEnd < 0.05 })
  return checks
}

async function main (): Promise<void> {
  const started = performance.now()
  const loadAverageAtStart = loadavg().map((x) => round(x, 2))
  // Read before the run: the sources under test are the ones the servers start from.
  const commitAtStart = commit()
  const loadGen = pickLoadGen()
  if (QUICK) process.stdout.write('QUICK=1: tiny durations, a smoke run; the figures mean nothing\n')

  const t0 = performance.now()
  const micro = await runMicro()
  const t1 = performance.now()
  const macro = await runMacro()
  const t2 = performance.now()
  const scale = await runScale()
  const t2b = performance.now()
  const flip = await runFlipUnderLoad()
  const t3 = performance.now()

  process.stdout.write('\n')
  printMacro(macro)
  printScale(scale)
  printFlip(flip)
  const targets = checkTargets(micro, macro, flip, scale)
  process.stdout.write(`targets${QUICK ? ' (quick run: not meaningful)' : ''}\n`)
  for (const c of targets) process.stdout.write(`  ${c.met ? 'met   ' : 'MISSED'}  ${c.target.padEnd(52)} ${c.value}\n`)

  const results: BenchResults = {
    date: new Date().toISOString(),
    quick: QUICK,
    machine: {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? 'unknown',
      memoryGB: round(totalmem() / 2 ** 30, 1),
      node: process.version,
      platform: `${process.platform} ${process.arch}`,
      loadGen,
      loadAverageAtStart,
      loadAverageAtEnd: loadavg().map((x) => round(x, 2)),
      commit: commitAtStart
    },
    settings,
    seconds: { micro: round((t1 - t0) / 1000, 1), macro: round((t2 - t1) / 1000, 1), scale: round((t2b - t2) / 1000, 1), flip: round((t3 - t2b) / 1000, 1), total: round((performance.now() - started) / 1000, 1) },
    micro,
    macro,
    scale,
    flipUnderLoad: flip,
    targets
  }
  const file = resolve(ROOT, process.env.BENCH_RESULTS ?? (QUICK ? 'bench/results/quick.json' : 'bench/results/latest.json'))
  await mkdir(dirname(file), { recursive: true })
  await writeFile(file, `${JSON.stringify(results, null, 2)}\n`)
  process.stdout.write(`\nwrote ${file} (${results.seconds.total} s in all)\n`)
}

main().catch((e: unknown) => { process.stderr.write(`${(e as Error).stack ?? String(e)}\n`); process.exitCode = 1 })
