/**
 * The arithmetic of DNS discovery, with no I/O: what a resolution means for the pool (which
 * addresses it holds, given that a failed family keeps its last answer), which targets join
 * and which leave, when to resolve next, and how a discovered target is named.
 *
 * Fail-static: a family (A or AAAA) whose query failed keeps the addresses it last had, and a
 * resolution that leaves no address at all changes nothing. A name that only ever had A
 * records answers AAAA queries with "no data", which is an answer (no address), not a failure.
 */

/** What one query (A or AAAA) gave. */
export type FamilyAnswer =
  | { readonly kind: 'records', readonly addresses: readonly string[], readonly ttlSeconds: number }
  | { readonly kind: 'none' }
  | { readonly kind: 'failed', readonly reason: string }

/** The addresses a color's pool should hold after one resolution, and why not when it keeps the last ones. */
export type Resolution =
  | { readonly ok: true, readonly v4: readonly string[], readonly v6: readonly string[], readonly ttlSeconds: number | undefined }
  | { readonly ok: false, readonly v4: readonly string[], readonly v6: readonly string[], readonly reason: string }

/** The addresses the pool held after the last resolution, per family. */
export interface Known {
  readonly v4: readonly string[]
  readonly v6: readonly string[]
}

/**
 * Combines the A and AAAA answers with what was known. `ok: false` (counted and logged) when
 * a query failed or when nothing at all was found; the pool keeps the last addresses of every
 * family that failed, and all of them when nothing was found.
 */
export function combine (known: Known, a: FamilyAnswer, aaaa: FamilyAnswer): Resolution {
  const failures = [a, aaaa].flatMap((f, i) => f.kind === 'failed' ? [`${i === 0 ? 'A' : 'AAAA'}: ${f.reason}`] : [])
  const v4 = a.kind === 'records' ? sorted(a.addresses) : a.kind === 'none' ? [] : known.v4
  const v6 = aaaa.kind === 'records' ? sorted(aaaa.addresses) : aaaa.kind === 'none' ? [] : known.v6
  if (v4.length === 0 && v6.length === 0) {
    return { ok: false, v4: known.v4, v6: known.v6, reason: failures.length > 0 ? failures.join('; ') : 'no A or AAAA record' }
  }
  if (failures.length > 0) return { ok: false, v4, v6, reason: failures.join('; ') }
  const ttls = [a, aaaa].flatMap((f) => f.kind === 'records' ? [f.ttlSeconds] : [])
  return { ok: true, v4, v6, ttlSeconds: ttls.length === 0 ? undefined : Math.min(...ttls) }
}

function sorted (addresses: readonly string[]): string[] {
  return [...new Set(addresses)].sort()
}

/** Which origins join and which leave. */
export interface PoolDiff {
  readonly add: readonly string[]
  readonly remove: readonly string[]
}

/** The difference between the origins discovery holds and the ones it should hold. */
export function diffOrigins (held: Iterable<string>, wanted: Iterable<string>): PoolDiff {
  const have = new Set(held)
  const want = new Set(wanted)
  return {
    add: [...want].filter((o) => !have.has(o)),
    remove: [...have].filter((o) => !want.has(o))
  }
}

/** The shortest wait between two resolutions a TTL can ask for (a TTL of 0 must not spin). */
export const MIN_TTL_MS = 1000

/**
 * When to resolve next: when the shortest TTL runs out, but at least every `intervalMs`, and
 * not sooner than MIN_TTL_MS because of a TTL (a configured intervalMs below it still wins:
 * the operator asked for it). Without a TTL (a failed or empty resolution): intervalMs.
 */
export function nextDelayMs (ttlSeconds: number | undefined, intervalMs: number): number {
  if (ttlSeconds === undefined) return intervalMs
  return Math.min(intervalMs, Math.max(ttlSeconds * 1000, MIN_TTL_MS))
}

/** The host part of a URL for an address (IPv6 in brackets). */
export function hostOf (address: string): string {
  return address.includes(':') ? `[${address}]` : address
}

/** The origin of a discovered address. */
export function originOf (scheme: string, address: string, port: number): string {
  return `${scheme}://${hostOf(address)}:${port}`
}

/** A discovered target's id: readable and stable, e.g. `blue-dns-10.0.0.5:3000` or `blue-dns-[fd00::5]:3000`. */
export function discoveredId (color: string, address: string, port: number): string {
  return `${color}-dns-${hostOf(address)}:${port}`
}
