/**
 * Smoke test of the benchmark suite: `QUICK=1` runs micro, macro, scale and flip-under-load with
 * tiny durations and must write every figure to its results file. Benchmarks are not tests:
 * nothing here asserts on a timing, only that each benchmark ran and reported its figures.
 */
import { spawn } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import type { BenchResults } from '../../bench/run.js'
import { TARGETS } from '../../bench/macro.js'
import { ROOT } from '../helpers/process.js'

const MICRO = [
  'decide, valid cookie (read+cache hit+decide)',
  'decide, valid cookie uncached (read+HMAC verify+decide)',
  'decide, no cookie (fresh bucket+decide+mint)',
  'decide, header-keyed (headerBucket+decide)',
  'decide, signed override (lookup+decide)',
  'decide alone (known sticky bucket)',
  'verifyStickyCookie (valid)',
  'verifyStickyCookieAt + MidstateHmac (valid)',
  'buildRouteTable, 2 colors',
  'buildRouteTable, 8 colors',
  'buildRouteTable, 8 colors, signed overrides'
]

// A whole QUICK=1 bench run (micro, macro against three servers, flips under load): tap's
// 120 s per-file budget is too tight on a machine whose cores are all busy.
t.setTimeout(10 * 60_000)

const positive = (x: unknown): boolean => typeof x === 'number' && Number.isFinite(x) && x > 0
const finite = (x: unknown): boolean => typeof x === 'number' && Number.isFinite(x)

t.test('QUICK=1 bench runs every benchmark and writes its figures', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'swy-bench-smoke-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const file = join(dir, 'quick.json')
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/run.ts'], {
    cwd: ROOT,
    env: { ...process.env, QUICK: '1', BENCH_RESULTS: file },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let out = ''
  child.stdout.setEncoding('utf8').on('data', (d: string) => { out += d })
  child.stderr.setEncoding('utf8').on('data', (d: string) => { out += d })
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve))
  t.equal(code, 0, 'bench exits 0', { output: out })
  t.match(out, /macro summary/, 'prints the macro summary')
  t.match(out, /flip-under-load summary/, 'prints the flip summary')
  t.match(out, /targets/, 'prints the targets')

  const r = JSON.parse(await readFile(file, 'utf8')) as BenchResults
  t.equal(r.quick, true)
  t.ok(!Number.isNaN(Date.parse(r.date)), 'dated')
  t.ok(positive(r.machine.cpus), 'machine: cpus')
  t.equal(r.machine.node, process.version, 'machine: node version')
  t.ok(r.machine.loadGen === 'wrk' || r.machine.loadGen === 'autocannon', `machine: load generator (${r.machine.loadGen})`)

  t.same(r.micro.map((m) => m.name), MICRO, 'every micro benchmark ran, in order')
  for (const m of r.micro) t.ok(positive(m.opsPerSec) && positive(m.meanNs), `${m.name}: ops/s and ns/op`)

  t.equal(r.macro.loadGen, r.machine.loadGen)
  for (const name of TARGETS) {
    const th = r.macro.throughput[name]
    t.equal(th.rounds.length, r.macro.rounds, `${name}: one load run per round`)
    t.ok(positive(th.reqPerSec) && finite(th.p50Ms) && positive(th.p99Ms), `${name}: req/s, p50, p99`)
    t.ok(positive(th.reqPerSecVsBaseline) && positive(th.reqPerSecVsDirect) && positive(th.p99VsBaseline) && positive(th.p99VsDirect), `${name}: ratios`)
    const c1 = r.macro.latencyC1[name]
    t.equal(c1.rounds.length, r.macro.rounds, `${name}: one c=1 run per round`)
    t.ok(positive(c1.p50Ms) && finite(c1.addedP50UsOverDirect), `${name}: c=1 p50 and added µs`)
  }
  t.equal(r.macro.throughput.direct.reqPerSecVsDirect, 1, 'direct is its own reference')
  t.equal(r.macro.throughput.baseline.reqPerSecVsBaseline, 1, 'the baseline is its own reference')
  t.ok(positive(r.macro.metricsOnVsOff), 'metrics on ÷ off ratio')
  t.ok(r.macro.greenShareOfFresh > 0 && r.macro.greenShareOfFresh < 0.5, `90/10 split seen (green ${r.macro.greenShareOfFresh})`)
  t.ok(positive(r.macro.rss.startMB) && positive(r.macro.rss.midMB) && positive(r.macro.rss.endMB) && finite(r.macro.rss.growthMidToEnd), 'RSS samples')

  if (r.machine.loadGen === 'wrk') {
    t.same(r.scale.rows.map((x) => x.name), ['baseline', 'fresh', 'returning-1', 'returning-200', 'returning-2k', 'bare-1', 'bare-2k'], 'scale: every scenario ran (QUICK sizes)')
    for (const x of r.scale.rows) {
      t.equal(x.rounds.length, r.scale.rounds, `scale ${x.name}: one load run per round`)
      t.ok(positive(x.reqPerSec) && positive(x.ratio) && positive(x.cpuUsPerRequest) && positive(x.cpuRatio) && positive(x.rssMaxMB) && positive(x.rssEndMB), `scale ${x.name}: req/s, ratio, RSS`)
    }
    t.equal(r.scale.rows.find((x) => x.name === 'returning-1')?.ratio, 1, 'returning-1 is the returning rows\' reference')
  } else {
    t.match(r.scale.skipped, /wrk/, 'scale: skipped without wrk, and says why')
  }
  t.match(out, /scale (summary|: skipped)/, 'prints the scale summary')

  const f = r.flipUnderLoad
  t.equal(f.flips, r.settings.flips, 'every flip was sent')
  t.ok(positive(f.requests) && positive(f.measuredFlips), 'requests recorded between flips')
  t.ok(finite(f.failed) && finite(f.non2xx) && finite(f.flipsFailed) && finite(f.staleAfterAnswer), 'failure counts')
  t.ok(finite(f.staleWindow.p50Ms) && finite(f.staleWindow.p99Ms) && finite(f.staleWindow.maxMs), 'stale window p50/p99/max')
  t.ok(finite(f.firstNewColor.p50Ms) && finite(f.firstNewColor.maxMs), 'first new color p50/max')

  t.ok(r.targets.length >= 10 && r.targets.every((c) => typeof c.met === 'boolean' && c.value !== ''), 'every target checked')
})
