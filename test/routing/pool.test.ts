import t from 'tap'
import fc from 'fast-check'
import { addTarget, flipTo, initialState, removeTarget, rollback, sameRouting, setTargetMode, setWeights, targetMode, type RoutingState } from '../../src/routing/routing-state.js'
import { defaultTargetId, describeDifferences, fullPool, poolChanges, poolDifferences, targetOrigin, type Pool } from '../../src/routing/pool.js'
import { checkStoredState } from '../../src/state/stored-state.js'
import { holds, meta } from './fixtures/routing.js'

const COLORS = ['blue', 'green'] as const
const CONFIG: Pool = { blue: [{ id: 'b1', url: 'http://10.0.0.1:3000' }, { id: 'b2', url: 'http://10.0.0.2:3000' }], green: [{ id: 'g1', url: 'http://10.0.1.1:3000' }] }
const T0 = meta('2026-12-01T10:00:00.000Z', 'initial')
const T1 = meta('2026-12-01T10:05:00.000Z', 'add')
const T2 = meta('2026-12-01T10:10:00.000Z', 'more')

/** A state written by the release before the pool (no pool field). */
const old = initialState(COLORS, { blue: 10_000, green: 0 }, T0)
const seeded = initialState(COLORS, { blue: 10_000, green: 0 }, T0, CONFIG)

function must (r: ReturnType<typeof addTarget>): RoutingState {
  if (!r.ok) throw new Error(`${r.error.code}: ${r.error.message}`)
  return r.value
}

t.test('target URLs: http(s) origins only, with the default port written out', async (t) => {
  const cases: ReadonlyArray<readonly [string, string | RegExp]> = [
    ['http://10.0.0.21:3000', 'http://10.0.0.21:3000'],
    ['http://10.0.0.21:3000/', 'http://10.0.0.21:3000'],
    ['https://api.internal', 'https://api.internal:443'],
    ['http://API.internal', 'http://api.internal:80'],
    ['http://[::1]:8080', 'http://[::1]:8080'],
    ['ftp://10.0.0.21:3000', /must be http or https/],
    ['http://u:p@10.0.0.21:3000', /credentials/],
    ['http://10.0.0.21:3000/app', /must be an origin/],
    ['http://10.0.0.21:3000?x=1', /must be an origin/],
    ['http://10.0.0.21:3000/?', /must be an origin/],
    ['http://10.0.0.21:3000#f', /must be an origin/],
    ['10.0.0.21:3000', /must be http or https|not a URL/],
    ['not a url', /not a URL/]
  ]
  for (const [url, want] of cases) {
    const r = targetOrigin(url)
    if (typeof want === 'string') t.same(r, { ok: true, value: want }, url)
    else t.match(r.ok ? '' : r.error, want, url)
  }
  t.equal(defaultTargetId('blue', 'http://10.0.0.21:3000'), 'blue-10.0.0.21:3000', 'default id: color and host:port')
})

t.test('the seed holds the config\'s targets; a state without a pool means the config\'s targets', async (t) => {
  t.same(seeded.pool, CONFIG)
  t.equal(old.pool, undefined)
  t.same(fullPool(COLORS, old.pool, CONFIG), CONFIG)
  t.same(fullPool(COLORS, { blue: [] }, CONFIG), { blue: [], green: CONFIG.green }, 'a color the pool does not name has the config\'s')
})

t.test('addTarget: a versioned target change with the new target at the end of its color', async (t) => {
  for (const [name, base] of [['seeded', seeded], ['old format', old]] as const) {
    const snapshot = structuredClone(base)
    const added = must(addTarget(base, CONFIG, 'blue', { id: 'b3', url: 'http://10.0.0.3:3000' }, 'enabled', T1))
    t.equal(added.version, base.version + 1, `${name}: version + 1`)
    t.equal(added.kind, 'target', `${name}: kind target`)
    t.same(added.pool, { blue: [...CONFIG.blue ?? [], { id: 'b3', url: 'http://10.0.0.3:3000' }], green: CONFIG.green }, `${name}: every color named, the config's targets kept`)
    t.same(added.weights, base.weights, `${name}: no traffic moved`)
    t.same(added.previous?.pool, base.pool, `${name}: previous records the pool it replaced`)
    t.notOk(sameRouting(base, added), `${name}: a pool change is a change`)
    t.strictSame(base, snapshot, `${name}: input untouched`)
    t.same(checkStoredState(added), [], `${name}: the stored-state schema accepts it`)
  }
  const disabled = must(addTarget(seeded, CONFIG, 'green', { id: 'g2', url: 'http://10.0.1.2:3000' }, 'disabled', T1))
  t.equal(targetMode(disabled, 'green', 'g2'), 'disabled', 'added disabled: its mode is in the modes map')
})

t.test('addTarget and removeTarget refuse what does not fit', async (t) => {
  const code = (r: ReturnType<typeof addTarget>): string => r.ok ? 'ok' : r.error.code
  t.equal(code(addTarget(seeded, CONFIG, 'blue', { id: 'b1', url: 'http://10.0.0.9:3000' }, 'enabled', T1)), 'TARGET_EXISTS', 'same id')
  t.equal(code(addTarget(seeded, CONFIG, 'blue', { id: 'bx', url: 'http://10.0.0.1:3000' }, 'enabled', T1)), 'TARGET_EXISTS', 'same origin')
  t.equal(code(addTarget(old, { blue: [{ id: 'h', url: 'http://h' }] }, 'blue', { id: 'bx', url: 'http://h:80' }, 'enabled', T1)), 'TARGET_EXISTS', 'same origin spelled with its default port')
  t.equal(code(addTarget(seeded, CONFIG, 'green', { id: 'b1', url: 'http://10.0.0.1:3000' }, 'enabled', T1)), 'ok', 'ids and origins are per color')
  t.equal(code(addTarget(seeded, CONFIG, 'red', { id: 'r', url: 'http://10.0.0.1:3000' }, 'enabled', T1)), 'UNKNOWN_COLOR')
  t.equal(code(removeTarget(seeded, CONFIG, 'blue', 'nope', T1)), 'UNKNOWN_TARGET')
  t.equal(code(removeTarget(seeded, CONFIG, 'red', 'b1', T1)), 'UNKNOWN_COLOR')
})

t.test('removeTarget: by id or URL, and its mode goes with it', async (t) => {
  const drained = setTargetMode(seeded, 'blue', 'b1', 'draining', T1)
  const byId = must(removeTarget(drained, CONFIG, 'blue', 'b1', T2))
  t.same(byId.pool?.blue, [CONFIG.blue?.[1]])
  t.same(byId.targets, {}, 'the removed target\'s mode is gone')
  const byUrl = must(removeTarget(seeded, CONFIG, 'blue', 'http://10.0.0.2:3000/', T2))
  t.same(byUrl.pool?.blue?.map((x) => x.id), ['b1'])
  t.same(poolChanges(COLORS, seeded.pool, byUrl.pool, CONFIG), [{ color: 'blue', id: 'b2', url: 'http://10.0.0.2:3000', change: 'removed' }])
  const fromOld = must(removeTarget(old, CONFIG, 'green', 'g1', T2))
  t.same(fromOld.pool, { blue: CONFIG.blue, green: [] }, 'an old-format state gets the whole pool written')
})

t.test('a rollback does not touch the pool, and still undoes the last traffic shift', async (t) => {
  const canary = setWeights(seeded, { blue: 9000, green: 1000 }, T1)
  const added = must(addTarget(canary, CONFIG, 'green', { id: 'g2', url: 'http://10.0.1.2:3000' }, 'enabled', T2))
  const back = rollback(added, T2)
  if (!back.ok) throw new Error(back.error.message)
  t.same(back.value.weights, seeded.weights, 'the canary is undone')
  t.same(back.value.pool, added.pool, 'the added target stays')
})

t.test('the start-up difference names both sides', async (t) => {
  const stored = must(addTarget(must(removeTarget(seeded, CONFIG, 'blue', 'b2', T1)), CONFIG, 'blue', { id: 'blue-10.0.0.9:3000', url: 'http://10.0.0.9:3000' }, 'enabled', T2))
  const diffs = poolDifferences(COLORS, stored.pool, CONFIG)
  t.same(diffs, [{ color: 'blue', storeOnly: [{ id: 'blue-10.0.0.9:3000', url: 'http://10.0.0.9:3000' }], configOnly: [{ id: 'b2', url: 'http://10.0.0.2:3000' }] }])
  t.same(describeDifferences(diffs), ["blue: the store's pool has blue-10.0.0.9:3000 (http://10.0.0.9:3000), which the config does not list; the config lists b2 (http://10.0.0.2:3000), which the store's pool does not have"])
  t.same(poolDifferences(COLORS, seeded.pool, CONFIG), [], 'none when they agree')
  t.same(poolDifferences(COLORS, undefined, CONFIG), [], 'none for a state without a pool (it is the config\'s)')
  t.same(poolDifferences(COLORS, { blue: [{ id: 'b1', url: 'http://10.0.0.1:3000/' }, { id: 'b2', url: 'http://10.0.0.2:3000' }] }, CONFIG), [], 'one address, two spellings: no difference')
})

type Op =
  | { kind: 'add', color: string, n: number, disabled: boolean }
  | { kind: 'remove', color: string, pick: number }
  | { kind: 'weights', green: number }
  | { kind: 'flip', color: string }
  | { kind: 'rollback' }

const arbColor = fc.constantFrom(...COLORS)
const arbOp: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('add' as const), color: arbColor, n: fc.integer({ min: 1, max: 6 }), disabled: fc.boolean() }),
  fc.record({ kind: fc.constant('remove' as const), color: arbColor, pick: fc.nat() }),
  fc.record({ kind: fc.constant('weights' as const), green: fc.integer({ min: 0, max: 10_000 }) }),
  fc.record({ kind: fc.constant('flip' as const), color: arbColor }),
  fc.constant({ kind: 'rollback' as const })
)

t.test('properties over any sequence of changes', async (t) => {
  holds(t, 'only target changes move the pool; ids and origins stay unique; every state is storable', fc.property(fc.boolean(), fc.array(arbOp, { maxLength: 30 }), (fromOld, ops) => {
    let s = fromOld ? old : seeded
    for (const op of ops) {
      const before = s
      const at = meta(new Date(Date.parse(s.changedAt) + 1000).toISOString())
      let r: ReturnType<typeof addTarget>
      switch (op.kind) {
        case 'add': r = addTarget(s, CONFIG, op.color, { id: `${op.color}-${op.n}`, url: `http://10.9.0.${op.n}:3000` }, op.disabled ? 'disabled' : 'enabled', at); break
        case 'remove': {
          const list = fullPool(COLORS, s.pool, CONFIG)[op.color] ?? []
          const victim = list[op.pick % Math.max(1, list.length)]
          r = removeTarget(s, CONFIG, op.color, victim?.id ?? 'none', at)
          break
        }
        case 'weights': r = { ok: true, value: setWeights(s, { blue: 10_000 - op.green, green: op.green }, at) }; break
        case 'flip': r = flipTo(s, op.color, at); break
        case 'rollback': r = rollback(s, at); break
      }
      if (!r.ok) continue
      s = r.value
      if (op.kind !== 'add' && op.kind !== 'remove' && s.pool !== before.pool) return false
      if (checkStoredState(s).length > 0) return false
      for (const list of Object.values(fullPool(COLORS, s.pool, CONFIG))) {
        if (new Set(list.map((x) => x.id)).size !== list.length) return false
        if (new Set(list.map((x) => targetOrigin(x.url).ok ? (targetOrigin(x.url) as { value: string }).value : x.url)).size !== list.length) return false
      }
      // Modes only name targets in the pool.
      for (const [color, ids] of Object.entries(s.targets ?? {})) {
        for (const id of Object.keys(ids)) if (!(fullPool(COLORS, s.pool, CONFIG)[color] ?? []).some((x) => x.id === id)) return false
      }
    }
    return true
  }))
})
