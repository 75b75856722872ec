/**
 * The pool part of the routing state: which targets (id and origin URL) each color has.
 * A color the state's `pool` does not name has the config's targets (a state written by a
 * release before the pool, or a color the config added since); the config's targets are
 * otherwise only the initial pool, written when the store is empty. Adding and removing a
 * target are transitions like the others: pure, versioned, and a rollback leaves them.
 */
import { err, ok, type Problem, type Result } from './types.js'

/** One target of a color's pool, as the state stores it. */
export interface PoolTarget {
  readonly id: string
  /** An origin: http(s)://host:port, nothing more. */
  readonly url: string
}

/** Each color's targets, in order. */
export type Pool = Readonly<Record<string, readonly PoolTarget[]>>

/** The config's targets (per color, in color order) by color name: the initial pool, and that of a state that names none. */
export function configPool (colors: readonly string[], targets: ReadonlyArray<readonly PoolTarget[]>): Pool {
  return Object.fromEntries(colors.map((c, i) => [c, targets[i] ?? []]))
}

/** The most targets a color's pool may hold (the config's bound too). */
export const MAX_POOL_TARGETS = 256

/** The targets of `color`: the state's pool, or the config's (`fallback`) when the state names none. */
export function poolTargets (pool: Pool | undefined, fallback: Pool, color: string): readonly PoolTarget[] {
  if (pool !== undefined && Object.hasOwn(pool, color)) return pool[color] as readonly PoolTarget[]
  return Object.hasOwn(fallback, color) ? fallback[color] as readonly PoolTarget[] : []
}

/** Every color's targets (the state's pool filled in with the config's for colors it does not name). */
export function fullPool (colors: readonly string[], pool: Pool | undefined, fallback: Pool): Pool {
  const out: Record<string, readonly PoolTarget[]> = {}
  for (const c of colors) out[c] = poolTargets(pool, fallback, c)
  return out
}

/** True when two pools hold the same targets in the same order (absent and undefined alike). */
export function samePool (a: Pool | undefined, b: Pool | undefined): boolean {
  if (a === b) return true
  if (a === undefined || b === undefined) return false
  const keys = Object.keys(a)
  if (keys.length !== Object.keys(b).length) return false
  for (const c of keys) {
    if (!Object.hasOwn(b, c)) return false
    const x = a[c] as readonly PoolTarget[]
    const y = b[c] as readonly PoolTarget[]
    if (x.length !== y.length) return false
    for (let i = 0; i < x.length; i++) if ((x[i] as PoolTarget).id !== (y[i] as PoolTarget).id || (x[i] as PoolTarget).url !== (y[i] as PoolTarget).url) return false
  }
  return true
}

/**
 * The origin of a target URL, or a problem: http or https, a host, and nothing after it (no
 * path but "/", no query, no fragment, no credentials). The default port is written out, so
 * one address has one spelling.
 */
export function targetOrigin (url: string): Result<string, string> {
  let u: URL
  try { u = new URL(url) } catch { return err(`"${url}" is not a URL`) }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return err(`"${url}" must be http or https, not ${u.protocol.slice(0, -1)}`)
  if (u.username !== '' || u.password !== '') return err(`"${u.host}…" must not carry credentials`)
  if (u.pathname !== '/' || u.search !== '' || u.hash !== '' || /[?#]$/.test(url)) return err(`"${url}" must be an origin (scheme, host and port only; no path, query or fragment)`)
  const port = u.port !== '' ? u.port : u.protocol === 'https:' ? '443' : '80'
  return ok(`${u.protocol}//${u.hostname}:${port}`)
}

/** The id a target gets when none is given: its color and host:port, e.g. `blue-10.0.0.21:3000`. */
export function defaultTargetId (color: string, origin: string): string {
  return `${color}-${new URL(origin).host}`
}

/** Same origin: the URLs' origins with default ports written out. */
function sameOrigin (a: string, b: string): boolean {
  const x = targetOrigin(a)
  const y = targetOrigin(b)
  return x.ok && y.ok ? x.value === y.value : a === b
}

/** The target of a color's pool with this id or this URL's origin. */
export function findInPool (targets: readonly PoolTarget[], idOrUrl: string): PoolTarget | undefined {
  const byId = targets.find((t) => t.id === idOrUrl)
  if (byId !== undefined) return byId
  const origin = targetOrigin(idOrUrl)
  return origin.ok ? targets.find((t) => sameOrigin(t.url, origin.value)) : undefined
}

/** Problems of adding `target` to `targets`: its id or its origin is there already, or the pool is full. */
export function addProblem (color: string, targets: readonly PoolTarget[], target: PoolTarget): Problem | undefined {
  const byId = targets.find((t) => t.id === target.id)
  if (byId !== undefined) return { code: 'TARGET_EXISTS', message: `color "${color}" already has a target "${target.id}" (${byId.url}); choose another id, or remove it first` }
  const byOrigin = targets.find((t) => sameOrigin(t.url, target.url))
  if (byOrigin !== undefined) return { code: 'TARGET_EXISTS', message: `color "${color}" already has ${target.url}, as target "${byOrigin.id}"` }
  if (targets.length >= MAX_POOL_TARGETS) return { code: 'TARGET_EXISTS', message: `color "${color}" already has ${MAX_POOL_TARGETS} targets, the most a pool may hold` }
  return undefined
}

/** One color's difference between the store's pool and the config's targets. */
export interface PoolDifference {
  readonly color: string
  /** In the store's pool, not in the config. */
  readonly storeOnly: readonly PoolTarget[]
  /** In the config, not in the store's pool. */
  readonly configOnly: readonly PoolTarget[]
}

/**
 * Where the state's pool differs from the config's targets (by id and origin), per color
 * the state's pool names. Empty when they agree or the state has no pool.
 */
export function poolDifferences (colors: readonly string[], pool: Pool | undefined, config: Pool): PoolDifference[] {
  if (pool === undefined) return []
  const out: PoolDifference[] = []
  const key = (t: PoolTarget): string => `${t.id}\0${targetOrigin(t.url).ok ? (targetOrigin(t.url) as { value: string }).value : t.url}`
  for (const color of colors) {
    if (!Object.hasOwn(pool, color)) continue
    const stored = pool[color] as readonly PoolTarget[]
    const wanted = poolTargets(undefined, config, color)
    const inConfig = new Set(wanted.map(key))
    const inStore = new Set(stored.map(key))
    const storeOnly = stored.filter((t) => !inConfig.has(key(t)))
    const configOnly = wanted.filter((t) => !inStore.has(key(t)))
    if (storeOnly.length > 0 || configOnly.length > 0) out.push({ color, storeOnly, configOnly })
  }
  return out
}

/** One line per difference, naming the targets, for the start-up warning and `switchyard check`. */
export function describeDifferences (diffs: readonly PoolDifference[]): string[] {
  const list = (ts: readonly PoolTarget[]): string => ts.map((t) => `${t.id} (${t.url})`).join(', ')
  return diffs.map((d) => `${d.color}: ${[
    d.storeOnly.length > 0 ? `the store's pool has ${list(d.storeOnly)}, which the config does not list` : '',
    d.configOnly.length > 0 ? `the config lists ${list(d.configOnly)}, which the store's pool does not have` : ''
  ].filter((s) => s !== '').join('; ')}`)
}

/** A target that joined or left a color's pool between two versions. */
export interface PoolChange {
  readonly color: string
  readonly id: string
  readonly url: string
  readonly change: 'added' | 'removed'
}

/** The targets added and removed between two pools (by id; `fallback` fills in colors a pool does not name). */
export function poolChanges (colors: readonly string[], before: Pool | undefined, after: Pool | undefined, fallback: Pool): PoolChange[] {
  const out: PoolChange[] = []
  for (const color of colors) {
    const was = poolTargets(before, fallback, color)
    const now = poolTargets(after, fallback, color)
    for (const t of was) if (!now.some((n) => n.id === t.id)) out.push({ color, id: t.id, url: t.url, change: 'removed' })
    for (const t of now) if (!was.some((w) => w.id === t.id)) out.push({ color, id: t.id, url: t.url, change: 'added' })
  }
  return out
}
