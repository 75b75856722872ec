import t from 'tap'
import type { OutlierPolicy } from '../../src/health/outlier.js'
import { syncPools } from '../../src/proxy/pool-sync.js'
import { TargetPools, type MembershipEvent } from '../../src/proxy/target-pool.js'
import type { Pool } from '../../src/routing/pool.js'
import { reconcileColors } from '../../src/state/reconcile-colors.js'
import { addTarget, initialState } from '../../src/routing/routing-state.js'
import { checkStoredState } from '../../src/state/stored-state.js'

const policy: OutlierPolicy = { enabled: true, consecutiveFailures: 3, baseEjectionMs: 1000, maxEjectionMs: 8000 }
const COLORS = ['blue', 'green']
const CONFIG: Pool = { blue: [{ id: 'a', url: 'http://a.test:80' }, { id: 'b', url: 'http://b.test:80' }], green: [{ id: 'g', url: 'http://g.test:80' }] }
const enabled = (): 'enabled' => 'enabled'

function setup (): { pools: TargetPools, events: string[], view: () => string[] } {
  const pools = new TargetPools(COLORS, [CONFIG.blue ?? [], CONFIG.green ?? []], policy)
  const events: string[] = []
  pools.onMembership((e: MembershipEvent) => events.push(`${e.kind} ${e.target.colorName}/${e.target.id} ${e.target.source}`))
  const view = (): string[] => pools.byColor.flat().map((x) => `${x.colorName}/${x.id} ${x.origin} ${x.source}${x.retiring ? ' retiring' : ''}`)
  return { pools, events, view }
}

t.test('the pools follow the state\'s pool: joins by source, leaves once idle, DNS targets untouched', async (t) => {
  const { pools, events, view } = setup()
  const dns = pools.add(0, { id: 'd', url: 'http://d.test:80' }, 'dns')
  events.length = 0
  syncPools(pools, COLORS, undefined, CONFIG, enabled)
  t.same(events, [], 'no pool in the state: the config\'s, nothing changes')

  const busy = pools.byColor[0]?.[0]
  if (busy === undefined) throw new Error('no a')
  busy.inFlight = 1
  const next: Pool = { blue: [{ id: 'b', url: 'http://b.test:80' }, { id: 'n', url: 'http://n.test:80' }], green: [] }
  syncPools(pools, COLORS, next, CONFIG, (c, id) => id === 'n' ? 'disabled' : 'enabled')
  t.same(view(), ['blue/a http://a.test config retiring', 'blue/b http://b.test config', 'blue/d http://d.test dns', 'blue/n http://n.test api'], 'a retires (a request in flight), n joins from the API, d (DNS) stays, g (idle) left at once')
  t.same(events, ['added blue/n api', 'removed green/g config'])
  t.equal(pools.byColor[0]?.find((x) => x.id === 'n')?.mode, 'disabled', 'a target joins in the state\'s mode')
  t.equal(pools.available[1], 0, 'green has no target left')
  t.ok(dns.usable, 'the DNS target still takes requests')

  syncPools(pools, COLORS, { ...next, blue: [{ id: 'a', url: 'http://a.test:80' }, ...next.blue ?? []] }, CONFIG, enabled)
  t.notOk(busy.retiring, 'wanted again before it left: taken back, not duplicated')
  t.ok(busy.usable)
  t.equal(pools.byColor[0]?.filter((x) => x.id === 'a').length, 1)

  syncPools(pools, COLORS, { blue: [{ id: 'a', url: 'http://a2.test:80' }], green: [] }, CONFIG, enabled)
  t.same(view(), ['blue/d http://d.test dns', 'blue/a http://a2.test api'], 'the same id at a new address replaces the old one at once; b and n (idle) left')
  t.ok(busy.removed, 'the old object is out (its request in flight still holds it)')
  pools.close()
})

t.test('colors dropped from the config take their pool and modes with them', async (t) => {
  const three = initialState(['blue', 'green', 'red'], { blue: 10_000, green: 0, red: 0 }, { changedBy: 't', reason: 'r', at: '2026-12-01T00:00:00.000Z' }, { ...CONFIG, red: [{ id: 'r', url: 'http://r.test:80' }] })
  const added = addTarget(three, {}, 'red', { id: 'r2', url: 'http://r2.test:80' }, 'disabled', { changedBy: 't', reason: 'r', at: '2026-12-01T00:00:01.000Z' })
  if (!added.ok) throw new Error(added.error.message)
  const out = reconcileColors(added.value, ['blue', 'green'], new Date('2026-12-01T00:01:00.000Z'))
  if (!out.ok) throw new Error(out.error)
  t.same(Object.keys(out.value.pool ?? {}), ['blue', 'green'])
  t.same(out.value.targets, {})
  t.same(checkStoredState(out.value), [], 'the reconciled state is storable')
})
