/**
 * Keeps this instance's target pools in step with the routing state's pool (see
 * src/routing/pool.ts): a target the state adds joins (source `config` when the config lists
 * it, else `api`); one the state drops is retired (no new requests; it leaves once those in
 * flight have finished), so a removal is one versioned write and every instance drains
 * locally. Targets DNS discovery found (source `dns`) are this instance's own and never
 * touched here. Runs when a state is applied, never on the data path.
 */
import { poolTargets, type Pool, type PoolTarget } from '../routing/pool.js'
import type { TargetMode } from '../routing/routing-state.js'
import type { Target, TargetPools } from './target-pool.js'

/** Origins of pool entries, by object: a state's pool arrays are carried over from version to version, so each URL is parsed once. */
const origins = new WeakMap<PoolTarget, string>()

function originOf (t: PoolTarget): string {
  let o = origins.get(t)
  if (o === undefined) {
    o = new URL(t.url).origin
    origins.set(t, o)
  }
  return o
}

/**
 * Adds, retires (and un-retires) targets so that each color's pool matches `pool` (config:
 * the fallback). Linear in the targets: it runs on the event loop the data path shares.
 */
export function syncPools (pools: TargetPools, colors: readonly string[], pool: Pool | undefined, config: Pool, modeOf: (color: string, id: string) => TargetMode): void {
  colors.forEach((color, c) => {
    const wanted = poolTargets(pool, config, color)
    const wantedById = new Map<string, string>()
    for (const w of wanted) wantedById.set(w.id, originOf(w))
    const have = new Map<string, Target>()
    // A copy: retiring an idle target removes it from the live list at once.
    for (const t of [...(pools.byColor[c] ?? [])]) {
      if (t.source === 'dns' || t.removed) continue
      const origin = wantedById.get(t.id)
      if (origin === undefined) pools.retire(t)
      // The same id at a new address: the old one goes now (its requests in flight finish), so the id has one target.
      else if (origin !== t.origin) pools.remove(t)
      else have.set(t.id, t)
    }
    let fromConfig: Set<string> | undefined
    for (const w of wanted) {
      const t = have.get(w.id)
      if (t !== undefined) {
        if (t.retiring) pools.unretire(t)
        continue
      }
      fromConfig ??= new Set(poolTargets(undefined, config, color).map((f) => `${f.id}\0${originOf(f)}`))
      const source = fromConfig.has(`${w.id}\0${originOf(w)}`) ? 'config' : 'api'
      pools.add(c, { id: w.id, url: w.url }, source, modeOf(color, w.id))
    }
  })
}
