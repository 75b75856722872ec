/**
 * Keeps this instance's target pools in step with the routing state's pool (see
 * src/routing/pool.ts): a target the state adds joins (source `config` when the config lists
 * it, else `api`); one the state drops is retired (no new requests; it leaves once those in
 * flight have finished), so a removal is one versioned write and every instance drains
 * locally. Targets DNS discovery found (source `dns`) are this instance's own and never
 * touched here. Runs when a state is applied, never on the data path.
 */
import { poolTargets, type Pool } from '../routing/pool.js'
import type { TargetMode } from '../routing/routing-state.js'
import type { Target, TargetPools } from './target-pool.js'

function originOf (url: string): string {
  return new URL(url).origin
}

/** Adds, retires (and un-retires) targets so that each color's pool matches `pool` (config: the fallback). */
export function syncPools (pools: TargetPools, colors: readonly string[], pool: Pool | undefined, config: Pool, modeOf: (color: string, id: string) => TargetMode): void {
  colors.forEach((color, c) => {
    const wanted = poolTargets(pool, config, color)
    const fromConfig = poolTargets(undefined, config, color)
    const wantedById = new Map(wanted.map((w) => [w.id, originOf(w.url)]))
    // A copy: retiring an idle target removes it from the live list at once.
    for (const t of [...(pools.byColor[c] ?? [])]) {
      if (t.source === 'dns' || t.removed) continue
      const origin = wantedById.get(t.id)
      if (origin === undefined) pools.retire(t)
      // The same id at a new address: the old one goes now (its requests in flight finish), so the id has one target.
      else if (origin !== t.origin) pools.remove(t)
    }
    for (const w of wanted) {
      const have: Target | undefined = pools.byColor[c]?.find((t) => t.source !== 'dns' && !t.removed && t.id === w.id)
      if (have !== undefined) {
        pools.unretire(have)
        continue
      }
      const source = fromConfig.some((f) => f.id === w.id && originOf(f.url) === originOf(w.url)) ? 'config' : 'api'
      pools.add(c, { id: w.id, url: w.url }, source, modeOf(color, w.id))
    }
  })
}
