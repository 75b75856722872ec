import { copyFile, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { Redis } from 'ioredis'
import { validateConfig } from '../../src/config/load-config.js'
import { DEFAULT_ANALYSIS, type Rollout } from '../../src/rollout/types.js'
import type { RoutingState } from '../../src/routing/routing-state.js'
import { FileStore } from '../../src/state/file-store.js'
import { LastKnownFile } from '../../src/state/last-known.js'
import { RedisStore, type RedisStoreConfig } from '../../src/state/redis-store.js'
import { Switchboard, type Transition } from '../../src/state/switchboard.js'
import { setWeights } from '../../src/routing/routing-state.js'
import { startRedis } from '../helpers/redis.js'
import { PREVIOUS_RELEASE, previousReleaseRedis, restorePreviousRelease } from '../helpers/store-fixtures.js'

// Values the previous release wrote (captured by running it), read by this one: non-negotiable 7.

const META = { changedBy: 'test', reason: 'after the upgrade', at: '2026-12-01T00:00:00.000Z' }
const toHalf: Transition = (s, meta) => ({ ok: true, value: setWeights(s, { blue: 5000, green: 5000 }, meta) })

const ROLLOUT: Rollout = {
  id: 'r1',
  rev: 1,
  phase: 'progressing',
  from: 'blue',
  to: 'green',
  steps: [{ weight: 5, pauseSeconds: 60 }, { weight: 100 }],
  analysis: DEFAULT_ANALYSIS,
  reason: 'after the upgrade',
  startedAt: META.at,
  startedBy: 'test',
  startWeights: { blue: 10_000, green: 0 },
  startVersion: 7,
  stepIndex: 0,
  stage: 'applying',
  stepVersion: null,
  stepStartedAt: null,
  heldMs: 0,
  pausedAt: null,
  stepPasses: 0,
  approved: false,
  intervalStartedAt: null,
  baseline: null,
  reference: null,
  analyses: [],
  consecutiveFailures: 0,
  endedAt: null,
  endReason: null,
  updatedAt: META.at
}

interface StateFile { format: string, state: RoutingState, history: unknown[], secret: string }

t.test('a state file written by the previous release loads, and the next write works', async (t) => {
  const dir = t.testdir({})
  const path = join(dir, 'state.json')
  await copyFile(join(PREVIOUS_RELEASE, 'state.json'), path)
  const doc = JSON.parse(await readFile(path, 'utf8')) as StateFile
  const store = new FileStore(path)
  t.strictSame(await store.load(), doc.state, 'the state, as written')
  t.strictSame(await store.history(100), doc.history, 'every history entry')
  t.equal(await store.secret(), doc.secret, 'the secret')
  const sb = new Switchboard({ store, colors: ['blue', 'green'], initialWeights: { blue: 10_000, green: 0 }, instanceId: 'upgraded' })
  await sb.start(new Date(META.at))
  t.equal(sb.state.version, doc.state.version, 'the upgraded instance routes by it')
  t.ok((await sb.change(toHalf, META)).ok, 'and writes on top of it')
  await sb.stop()
  await store.close()
})

t.test('a state file written by the previous release has no rollout; the first one is added to it', async (t) => {
  const dir = t.testdir({})
  const path = join(dir, 'state.json')
  await copyFile(join(PREVIOUS_RELEASE, 'state.json'), path)
  const doc = JSON.parse(await readFile(path, 'utf8')) as StateFile
  const store = new FileStore(path)
  t.equal(await store.loadRollout(), null, 'no rollout')
  t.equal(await store.leaseHolder(), null, 'no lease')
  t.same(await store.writeRollout({ expectedRev: 0, rollout: ROLLOUT }), { ok: true }, 'a rollout starts on it')
  await store.close()
  const reopened = new FileStore(path)
  t.same(await reopened.loadRollout(), ROLLOUT, 'and is there after a restart')
  t.strictSame(await reopened.load(), doc.state, 'next to the state, untouched')
  t.strictSame(await reopened.history(100), doc.history, 'and the history')
  await reopened.close()
})

t.test('a last-known-state file written by the previous release reads', async (t) => {
  const lk = new LastKnownFile(join(PREVIOUS_RELEASE, 'last-known.json'))
  const raw = JSON.parse(await readFile(lk.path, 'utf8')) as { state: RoutingState, secret: string }
  t.strictSame(await lk.read(), { state: raw.state, secret: raw.secret })
})

t.test('Redis values written by the previous release read, and the next write works', async (t) => {
  const redis = await startRedis(t)
  const raw = new Redis(redis.url)
  t.teardown(() => raw.disconnect())
  await restorePreviousRelease(raw)
  const keys = previousReleaseRedis()
  const config = validateConfig({ colors: { blue: { targets: ['http://127.0.0.1:1'] }, green: { targets: ['http://127.0.0.1:2'] } }, store: { kind: 'redis', url: redis.url, lastKnownPath: join(t.testdir({}), 'lk.json') } }, {}).config.store as RedisStoreConfig
  const store = new RedisStore(config)
  t.teardown(() => store.close())
  await store.connect()
  t.strictSame(await store.load(), JSON.parse(keys['{swy}:state'] as string), 'the state')
  t.strictSame(await store.history(100), (keys['{swy}:history'] as string[]).map((e) => JSON.parse(e) as unknown), 'the history')
  t.equal(await store.secret(), keys['{swy}:secret'], 'the secret')
  t.strictSame(await store.instances(), Object.values(keys['{swy}:instances'] as Record<string, string>).map((i) => JSON.parse(i) as unknown), 'the heartbeat (sub-ms appliedAt)')
  const upgraded = new RedisStore(config)
  t.teardown(() => upgraded.close())
  const sb = new Switchboard({ store: upgraded, colors: ['blue', 'green'], initialWeights: { blue: 10_000, green: 0 }, instanceId: 'upgraded' })
  t.teardown(() => sb.stop())
  await sb.start(new Date(META.at))
  t.equal(sb.state.version, 7)
  const r = await sb.change(toHalf, META)
  t.ok(r.ok, 'a write on top of it')
  t.equal((await store.load())?.version, 8)
  t.equal(await store.loadRollout(), null, 'no rollout in what the previous release wrote')
  t.same(await store.writeRollout({ expectedRev: 0, rollout: ROLLOUT }), { ok: true }, 'the first one is written beside it')
  t.same(await upgraded.loadRollout(), ROLLOUT)
})
