/**
 * The rollout engine's two figures (issue 11), measured in one run on this machine:
 *
 * 1. Its cost on the data path: load through two switchyards at the same weights (90/10,
 *    new clients), one with a rollout running (an analysis every second, the driver reading
 *    heartbeats and writing the document), one without; interleaved rounds, the ratio of
 *    req/s (rollout ÷ none) per round, its median. The data path only reads the routing
 *    table, so no change is expected.
 * 2. Time from a failing interval's end to every instance routing blue: three switchyard
 *    processes on one Redis, a green that fails every request, rollouts with failureLimit 1,
 *    repeated; per rollout, max over instances of when it applied the rollback's version
 *    (its heartbeat's appliedAt, a precise clock shared by processes on one host) minus the
 *    failing interval's nominal end (the analysis's `at`). p50 / p99 / max.
 *
 *   node --import tsx bench/rollout.ts   (ROUNDS, DURATION, ROLLBACKS, QUICK=1)
 */
import { createServer } from 'node:http'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { request } from 'undici'
import { freePort, listenLoopback, sleep, until, waitForReady } from '../test/helpers/harness.js'
import { startRedis } from '../test/helpers/redis.js'
import { cpuPlan, Cleanups, spawnNode } from './lib/children.js'
import { pickLoadGen, runLoad } from './lib/load.js'
import { isMain } from './lib/micro.js'
import { envNumber, settings } from './lib/options.js'
import { median, percentile, round } from './lib/stats.js'
import { startSwitchyardChild, startUpstreams } from './lib/switchyard.js'

/** What this benchmark measured. */
export interface RolloutBenchResult {
  readonly dataPath: { readonly rounds: number, readonly reqPerSecWith: number[], readonly reqPerSecWithout: number[], readonly ratioMedian: number, readonly analysesDuringLoad: number }
  readonly rollback: { readonly instances: number, readonly samplesMs: number[], readonly p50Ms: number, readonly p99Ms: number, readonly maxMs: number }
}

/** The parts of the admin API's answers this benchmark reads. */
interface Answer {
  readonly status: number
  readonly json: {
    readonly version: number
    readonly rollout: { readonly phase: string, readonly stage: string, readonly endReason: string | null, readonly analyses: unknown[], readonly lastAnalysis: { readonly at: string } }
    readonly instances: Array<{ readonly appliedVersion: number, readonly appliedAt: string }>
  }
}

async function call (url: string, method: string, body?: unknown): Promise<Answer> {
  const res = await request(url, { method: method as 'GET', headers: body === undefined ? {} : { 'content-type': 'application/json' }, body: body === undefined ? null : JSON.stringify(body) })
  const text = await res.body.text()
  return { status: res.statusCode, json: (text === '' ? {} : JSON.parse(text)) as Answer['json'] }
}

async function dataPathCost (t: Cleanups): Promise<RolloutBenchResult['dataPath']> {
  const plan = cpuPlan()
  const gen = pickLoadGen()
  const upstreams = await startUpstreams(t, plan.servers)
  const without = await startSwitchyardChild(t, { upstreams, weights: { blue: 90, green: 10 }, cpus: plan.servers })
  const withRollout = await startSwitchyardChild(t, { upstreams, weights: { blue: 100, green: 0 }, cpus: plan.servers })
  const started = await call(`${withRollout.adminUrl}/rollouts`, 'POST', { to: 'green', steps: [{ weight: 10, pauseSeconds: 86400 }, { weight: 100 }], analysis: { intervalSeconds: 1, minRequests: 1, maxLatencyRatio: 1000, failureLimit: 100 } })
  if (started.status !== 201) throw new Error(`POST /rollouts answered ${started.status}: ${JSON.stringify(started.json)}`)
  await until('the rollout step applied', async () => (await call(`${withRollout.adminUrl}/rollout`, 'GET')).json.rollout.stage === 'analysing')
  const analysesBefore = (await call(`${withRollout.adminUrl}/rollout`, 'GET')).json.rollout.analyses.length
  const rounds = settings.rounds
  const a: number[] = []
  const b: number[] = []
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? [withRollout, without] : [without, withRollout]
    for (const target of order) {
      if (settings.warmup > 0) await runLoad(gen, { url: `${target.proxyUrl}/`, connections: settings.connections, seconds: settings.warmup, cpus: plan.load })
      const res = await runLoad(gen, { url: `${target.proxyUrl}/`, connections: settings.connections, seconds: settings.duration, cpus: plan.load })
      ;(target === withRollout ? a : b).push(res.reqPerSec)
    }
  }
  const after = (await call(`${withRollout.adminUrl}/rollout`, 'GET')).json.rollout
  if (after.phase !== 'progressing') throw new Error(`the rollout ended during the load: ${after.phase} ${after.endReason}`)
  const ratios = a.map((v, i) => v / (b[i] as number))
  return { rounds, reqPerSecWith: a.map((v) => round(v, 0)), reqPerSecWithout: b.map((v) => round(v, 0)), ratioMedian: round(median(ratios), 3), analysesDuringLoad: after.analyses.length - analysesBefore }
}

async function rollbackTime (t: Cleanups): Promise<RolloutBenchResult['rollback']> {
  const redis = await startRedis(t)
  const ok = await listenLoopback(createServer((_req, res) => { res.end('blue') }))
  const bad = await listenLoopback(createServer((_req, res) => { res.statusCode = 500; res.end('green failed') }))
  t.teardown(ok.close)
  t.teardown(bad.close)
  const dir = await mkdtemp(join(tmpdir(), 'swy-bench-rollout-'))
  const instances: Array<{ proxyUrl: string, adminUrl: string }> = []
  for (const id of ['a', 'b', 'c']) {
    const proxyPort = await freePort()
    const adminPort = await freePort()
    const file = join(dir, `${id}.json`)
    await writeFile(file, JSON.stringify({
      listen: { host: '127.0.0.1', port: proxyPort },
      admin: { listen: { host: '127.0.0.1', port: adminPort } },
      colors: { blue: { targets: [`http://127.0.0.1:${ok.port}`] }, green: { targets: [`http://127.0.0.1:${bad.port}`] } },
      initial: { weights: { blue: 100, green: 0 } },
      store: { kind: 'redis', url: redis.url, lastKnownPath: join(dir, `${id}-last.json`) },
      health: { passive: { enabled: false } },
      instance: { id: `bench-${id}` },
      log: { level: 'warn' }
    }))
    const p = spawnNode(t, process.env.BENCH_DIST === '1' ? 'dist/cli.js' : 'src/cli.ts', ['serve', '--config', file], { tsx: process.env.BENCH_DIST !== '1' })
    const adminUrl = `http://127.0.0.1:${adminPort}`
    await waitForReady(p, adminUrl)
    instances.push({ proxyUrl: `http://127.0.0.1:${proxyPort}`, adminUrl })
  }
  let running = true
  const loops = instances.flatMap((i) => [0, 1].map(async () => {
    while (running) {
      try { const r = await request(`${i.proxyUrl}/`); await r.body.dump() } catch { await sleep(10) }
    }
  }))
  const admin = (instances[0] as { adminUrl: string }).adminUrl
  const samples: number[] = []
  const n = envNumber('ROLLBACKS', 20, 3)
  try {
    for (let k = 0; k < n; k++) {
      const s = await call(`${admin}/rollouts`, 'POST', { to: 'green', steps: [{ weight: 50, pauseSeconds: 86400 }, { weight: 100 }], analysis: { intervalSeconds: 1, minRequests: 20, maxLatencyRatio: 1000, failureLimit: 1 } })
      if (s.status !== 201) throw new Error(`POST /rollouts answered ${s.status}: ${JSON.stringify(s.json)}`)
      let r: Answer['json']['rollout'] | undefined
      await until('the rollout to roll back', async () => { r = (await call(`${admin}/rollout`, 'GET')).json.rollout; return r.phase !== 'progressing' }, 60_000)
      if (r?.phase !== 'rolled-back') throw new Error(`expected rolled-back, got ${String(r?.phase)}`)
      const version = (await call(`${admin}/state`, 'GET')).json.version
      let applied: Answer['json']['instances'] = []
      await until('every instance to report the rollback', async () => {
        applied = (await call(`${admin}/instances`, 'GET')).json.instances
        return applied.length === instances.length && applied.every((i) => i.appliedVersion >= version)
      }, 30_000)
      const last = Math.max(...applied.map((i) => Date.parse(i.appliedAt)))
      samples.push(last - Date.parse(r.lastAnalysis.at))
    }
  } finally {
    running = false
    await Promise.all(loops)
  }
  const sorted = [...samples].sort((x, y) => x - y)
  return { instances: instances.length, samplesMs: samples, p50Ms: round(percentile(sorted, 50), 1), p99Ms: round(percentile(sorted, 99), 1), maxMs: round(sorted.at(-1) ?? 0, 1) }
}

/** Runs both parts. */
export async function runRolloutBench (): Promise<RolloutBenchResult> {
  const t = new Cleanups()
  try {
    const dataPath = await dataPathCost(t)
    await t.run()
    const rollback = await rollbackTime(t)
    return { dataPath, rollback }
  } finally {
    await t.run()
  }
}

if (isMain(import.meta.url)) {
  const r = await runRolloutBench()
  process.stdout.write(JSON.stringify(r, null, 2) + '\n')
  process.stdout.write(`data path: req/s with a rollout running ÷ without = ${r.dataPath.ratioMedian} (median of ${r.dataPath.rounds} rounds; ${r.dataPath.analysesDuringLoad} analyses during the load)\n`)
  process.stdout.write(`failing interval end → ${r.rollback.instances} instances routing blue: p50 ${r.rollback.p50Ms} ms, p99 ${r.rollback.p99Ms} ms, max ${r.rollback.maxMs} ms over ${r.rollback.samplesMs.length} rollbacks\n`)
}
