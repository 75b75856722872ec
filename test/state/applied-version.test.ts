/**
 * The version an instance reports as applied (heartbeats, `?wait`, GET /instances) when a
 * listener applies states elsewhere too (a cluster's workers: onApplyAwaited): only once its
 * promise resolved. Without such a listener, at once, as before.
 */
import t from 'tap'
import { setWeights, type ChangeMeta } from '../../src/routing/routing-state.js'
import { MemoryStore } from '../../src/state/memory-store.js'
import { Switchboard, type Transition } from '../../src/state/switchboard.js'
import { until } from '../helpers/services.js'

const META: ChangeMeta = { changedBy: 'test', reason: 'test', at: '2025-03-01T12:00:00.000Z' }
const toGreen = (bp: number): Transition => (s, meta) => ({ ok: true, value: setWeights(s, { blue: 10_000 - bp, green: bp }, meta) })

async function started (t: { teardown (fn: () => unknown): void }, store: MemoryStore, id: string): Promise<Switchboard> {
  const sb = new Switchboard({ store, colors: ['blue', 'green'], initialWeights: { blue: 10_000, green: 0 }, instanceId: id, heartbeatMs: 60_000 })
  t.teardown(() => sb.stop())
  await sb.start(new Date())
  return sb
}

async function reported (store: MemoryStore, id: string): Promise<number | undefined> {
  return (await store.instances()).find((i) => i.id === id)?.appliedVersion
}

t.test('without an awaited listener a change counts as applied at once', async (t) => {
  const store = new MemoryStore()
  const sb = await started(t, store, 'one')
  t.equal((await sb.change(toGreen(1000), META)).ok, true)
  const p = await sb.waitFor(2, 5000)
  t.equal(p.lagging.length, 0)
  t.equal(p.applied[0]?.appliedVersion, 2)
  await until('the heartbeat to report version 2', async () => await reported(store, 'one') === 2)
})

t.test('with an awaited listener the instance lags until its promise resolves, then beats and converges', async (t) => {
  const store = new MemoryStore()
  const sb = await started(t, store, 'two')
  const pending: Array<() => void> = []
  sb.onApplyAwaited(async (state, before) => {
    if (before === null) return
    await new Promise<void>((resolve) => { pending.push(resolve) })
  })
  t.equal((await sb.change(toGreen(1000), META)).ok, true)
  t.equal(sb.state.version, 2, 'the control plane routes writes from version 2 at once')
  const lagging = await sb.propagation(2)
  t.equal(lagging.applied.length, 0, 'not applied while the listener has not resolved')
  t.equal(lagging.lagging[0]?.appliedVersion, 1)
  const wait = sb.waitFor(2, 60_000)
  await until('the awaited listener to be called', () => pending.length === 1)
  pending[0]?.()
  const p = await wait
  t.equal(p.lagging.length, 0, 'the wait ends once the listener resolved (woken by the heartbeat it sent)')
  t.equal(p.applied[0]?.appliedVersion, 2)
  t.equal(await reported(store, 'two'), 2, 'the heartbeat reports version 2')
})
