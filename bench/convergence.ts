/**
 * Convergence: three switchyard processes on one real redis-server; 100 flips through the
 * admin API of the first, each with ?wait. For every flip: the time from the write's commit
 * (the CAS returned) to the last instance's applied snapshot, from the instances' own
 * heartbeats (same machine, same clock). Prints p50/p99/max and writes
 * bench/results/convergence.json.
 *
 *   npm run bench:convergence        (FLIPS=100 INSTANCES=3 to change the shape)
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { mkdtemp } from 'node:fs/promises'
import { until } from '../test/helpers/harness.js'
import { freePort, spawnCli, waitForReady } from '../test/helpers/process.js'
import { startRedis } from '../test/helpers/redis.js'
import { adminCall, startUpstream } from '../test/helpers/services.js'

const FLIPS = Number(process.env.FLIPS ?? 100)
const INSTANCES = Number(process.env.INSTANCES ?? 3)
const cleanups: Array<() => unknown> = []
const t = { teardown: (fn: () => unknown) => { cleanups.push(fn) } }

function round (ms: number): number {
  return Math.round(ms * 100) / 100
}

function percentile (sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN
}

async function main (): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'swy-convergence-'))
  const redis = await startRedis(t)
  const blue = await startUpstream(t, 'blue')
  const green = await startUpstream(t, 'green')
  const admins: string[] = []
  for (let i = 0; i < INSTANCES; i++) {
    const proxyPort = await freePort()
    const adminPort = await freePort()
    const file = join(dir, `i${i}.json`)
    await writeFile(file, JSON.stringify({
      listen: { host: '127.0.0.1', port: proxyPort },
      admin: { listen: { host: '127.0.0.1', port: adminPort } },
      colors: { blue: { targets: [blue.url] }, green: { targets: [green.url] } },
      log: { level: 'warn' },
      instance: { id: `i${i}` },
      store: { kind: 'redis', url: redis.url, lastKnownPath: join(dir, `i${i}-lk.json`), heartbeatMs: 200 }
    }))
    const p = spawnCli(t, ['serve', '--config', file])
    const admin = `http://127.0.0.1:${adminPort}`
    await waitForReady(p, admin)
    admins.push(admin)
  }
  const first = admins[0] as string
  await until(`${INSTANCES} live instances`, async () => ((await adminCall(first, 'GET', '/instances')).json as { instances: unknown[] }).instances.length === INSTANCES)
  const samples: number[] = []
  let lagged = 0
  for (let i = 0; i < FLIPS; i++) {
    const r = await adminCall(first, 'POST', '/flip?wait=2000', { to: i % 2 === 0 ? 'green' : 'blue', reason: `convergence ${i}` })
    const p = (r.json as { propagation?: { converged: boolean, slowestMs: number | null, applied: unknown[] } }).propagation
    if (r.status !== 200 || p === undefined || !p.converged || p.slowestMs === null || p.applied.length !== INSTANCES) { lagged++; continue }
    samples.push(p.slowestMs)
  }
  samples.sort((a, b) => a - b)
  const result = {
    at: new Date().toISOString(),
    instances: INSTANCES,
    flips: FLIPS,
    converged: samples.length,
    notConverged: lagged,
    p50Ms: round(percentile(samples, 50)),
    p99Ms: round(percentile(samples, 99)),
    maxMs: round(samples.at(-1) ?? Number.NaN),
    method: 'commit (CAS returned, writer clock) → max appliedAt over instances (their clocks, same host; performance.timeOrigin + now())'
  }
  process.stdout.write(`convergence over ${FLIPS} flips, ${INSTANCES} instances: p50 ${result.p50Ms} ms, p99 ${result.p99Ms} ms, max ${result.maxMs} ms, not converged ${lagged}\n`)
  await mkdir(new URL('results/', import.meta.url), { recursive: true })
  await writeFile(new URL('results/convergence.json', import.meta.url), JSON.stringify(result, null, 2) + '\n')
}

main().catch((e: unknown) => { process.stderr.write(`${(e as Error).stack ?? String(e)}\n`); process.exitCode = 1 })
  .finally(async () => { for (const c of cleanups.reverse()) await c() })
