/**
 * Exactly one driver, and a rollout that outlives it. Two switchyard processes share a real
 * Redis; the one driving is SIGKILLed mid-rollout and the other takes the lease over and
 * completes it, no step skipped or repeated. A single instance on a file store restarted
 * mid-rollout resumes at the same step with the same step start.
 */
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { freePort, sleep, until } from '../helpers/harness.js'
import { spawnCli, waitForReady, type CliProcess } from '../helpers/process.js'
import { startRedis } from '../helpers/redis.js'
import { adminCall, send, startTestSwitchyard, testConfig, type Upstream } from '../helpers/services.js'
import { rolloutHistory, rolloutOf, startFaultyUpstream, untilRollout } from '../helpers/rollouts.js'

t.setTimeout(6 * 60_000)

interface Instance {
  readonly id: string
  readonly cli: CliProcess
  readonly proxyUrl: string
  readonly adminUrl: string
}

async function serve (t: Test, dir: string, id: string, redisUrl: string, blue: string, green: string): Promise<Instance> {
  const proxyPort = await freePort()
  const adminPort = await freePort()
  const config = join(dir, `${id}.yaml`)
  await writeFile(config, `
listen: { host: 127.0.0.1, port: ${proxyPort} }
admin: { listen: { host: 127.0.0.1, port: ${adminPort} } }
colors:
  blue:  { targets: ["${blue}"] }
  green: { targets: ["${green}"] }
initial: { weights: { blue: 100, green: 0 } }
store: { kind: redis, url: "${redisUrl}", heartbeatMs: 100, instanceTtlMs: 1500, lastKnownPath: "${join(dir, `${id}-last.json`)}" }
instance: { id: ${id} }
rollout: { tickMs: 50, leaseTtlMs: 1000 }
log: { level: warn }
`)
  const cli = spawnCli(t, ['serve', '--config', config])
  const adminUrl = `http://127.0.0.1:${adminPort}`
  await waitForReady(cli, adminUrl)
  return { id, cli, proxyUrl: `http://127.0.0.1:${proxyPort}`, adminUrl }
}

/** Traffic through every instance still up (a dead one's requests fail fast; pace them). */
function traffic (t: Test, instances: Instance[]): void {
  let running = true
  const loops = instances.flatMap((i) => [0, 1].map(async () => {
    while (running) {
      try { await send(`${i.proxyUrl}/`) } catch { await sleep(50) }
    }
  }))
  t.teardown(async () => { running = false; await Promise.all(loops) })
}

t.test('Redis, two instances: the driver is killed mid-rollout; the other takes over and completes it', async (t) => {
  const redis = await startRedis(t)
  const blue = await startFaultyUpstream(t, 'blue')
  const green = await startFaultyUpstream(t, 'green')
  const dir = t.testdir({})
  const a = await serve(t, dir, 'sy-a', redis.url, blue.url, green.url)
  const b = await serve(t, dir, 'sy-b', redis.url, blue.url, green.url)
  traffic(t, [a, b])
  const started = await adminCall(a.adminUrl, 'POST', '/rollouts', {
    to: 'green',
    steps: [{ weight: 20, pauseSeconds: 1 }, { weight: 40, pauseSeconds: 2 }, { weight: 60, pauseSeconds: 1 }, { weight: 100 }],
    analysis: { intervalSeconds: 1, minRequests: 5, maxLatencyRatio: 1000, failureLimit: 5 }
  })
  t.equal(started.status, 201, started.body)
  const mid = await untilRollout(a.adminUrl, 'step 2 applied everywhere', (r) => r.stepIndex === 1 && r.stage === 'analysing')
  t.ok(mid.driver === 'sy-a' || mid.driver === 'sy-b', `a driver is named: ${String(mid.driver)}`)
  t.match(await rolloutOf(b.adminUrl), { id: mid.id, driver: mid.driver }, 'both instances see the same rollout and driver')
  // The step's clock started only once both instances routed by its version.
  const seen = ((await adminCall(a.adminUrl, 'GET', '/instances')).json as { instances: Array<{ id: string, appliedVersion: number, appliedAt: string }> }).instances
  t.equal(seen.length, 2)
  for (const i of seen) {
    if (i.appliedVersion === mid.stepVersion) t.ok(Date.parse(i.appliedAt) <= Date.parse(mid.stepStartedAt ?? ''), `${i.id} applied step 2 (${i.appliedAt}) before it started (${String(mid.stepStartedAt)})`)
  }
  const [dead, survivor] = mid.driver === 'sy-a' ? [a, b] : [b, a]
  dead.cli.signal('SIGKILL')
  await dead.cli.exited
  const takenOver = await untilRollout(survivor.adminUrl, 'the survivor to drive', (r) => r.driver === survivor.id || r.phase === 'succeeded')
  t.ok(takenOver.driver === survivor.id || takenOver.phase === 'succeeded')
  const done = await untilRollout(survivor.adminUrl, 'the rollout to succeed', (r) => r.phase !== 'progressing', 180_000)
  t.equal(done.phase, 'succeeded', JSON.stringify(done.lastAnalysis))
  const steps = (await rolloutHistory(survivor.adminUrl)).filter((e) => e.rollout?.event === 'step')
  t.same(steps.map((e) => e.rollout?.step), [0, 1, 2, 3], 'no step skipped or repeated')
  t.match((await adminCall(survivor.adminUrl, 'GET', '/state')).json, { weights: { blue: 0, green: 100 } })
})

t.test('a single instance restarted mid-rollout resumes at the same step and step start', async (t) => {
  const blue = await startFaultyUpstream(t, 'blue')
  const green = await startFaultyUpstream(t, 'green')
  const dir = t.testdir({})
  const config = testConfig([blue, green] as unknown as Upstream[], { initial: { weights: { blue: 100, green: 0 } }, rollout: { tickMs: 50 }, store: { kind: 'file', path: join(dir, 'state.json') } })
  const first = await startTestSwitchyard(t, config)
  const started = await adminCall(first.adminUrl, 'POST', '/rollouts', {
    to: 'green',
    steps: [{ weight: 10, pauseSeconds: 1 }, { weight: 30, pauseSeconds: 3600 }, { weight: 100 }],
    analysis: { intervalSeconds: 1, minRequests: 1, maxLatencyRatio: 1000 }
  })
  t.equal(started.status, 201, started.body)
  let sending = true
  const loop = (async () => {
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- cleared below, after this loop started
    while (sending) { try { await send(`${first.proxyUrl}/`) } catch { await sleep(20) } }
  })()
  const before = await untilRollout(first.adminUrl, 'step 2 applied', (r) => r.stepIndex === 1 && r.stage === 'analysing')
  sending = false
  await loop
  await first.close()
  const second = await startTestSwitchyard(t, config)
  const after = await rolloutOf(second.adminUrl)
  t.match(after, { id: before.id, stepIndex: 1, stage: 'analysing', stepStartedAt: before.stepStartedAt, phase: 'progressing' }, 'the same step and step start')
  const goingOn = await untilRollout(second.adminUrl, 'an analysis after the restart', (r) => r.analyses.length > before.analyses.length)
  t.equal(goingOn.stepIndex, 1)
  t.equal(goingOn.driver, second.switchboard.instanceId, 'the restarted instance drives')
  await until('state at 30 %', async () => ((await adminCall(second.adminUrl, 'GET', '/state')).json as { weights: { green: number } }).weights.green === 30)
})
