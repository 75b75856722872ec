/**
 * One name's A and AAAA records through node:dns's Resolver (c-ares: it asks the servers
 * itself, with no cache and no /etc/hosts, so a TTL is the server's). Each color has its own
 * Resolver: `discovery.resolver` points it at one server (tests, sidecar resolvers), else it
 * uses the system's.
 */
import { promises as dns, type RecordWithTtl } from 'node:dns'
import type { FamilyAnswer } from './discovery-plan.js'

/** Queries a name stops at: c-ares tries each server this many times (timeoutMs each, doubled per try). */
const TRIES = 2

/** "No such record": the name has none of this family, or does not exist. An answer, not a failure. */
const NO_RECORDS = new Set(['ENODATA', 'ENOTFOUND'])

/** Resolves A and AAAA records of names with one resolver. */
export class DnsQuery {
  readonly #resolver: dns.Resolver

  /**
   * @param server `host:port`, `[v6]:port` or an address (port 53); absent: the system's servers
   * @param timeoutMs how long one query waits for an answer
   */
  constructor (server: string | undefined, timeoutMs: number) {
    this.#resolver = new dns.Resolver({ timeout: timeoutMs, tries: TRIES })
    if (server !== undefined) this.#resolver.setServers([server])
  }

  /** The A and the AAAA answer of `name`, queried at once. Never rejects. */
  async resolve (name: string): Promise<readonly [FamilyAnswer, FamilyAnswer]> {
    return await Promise.all([
      this.#family(this.#resolver.resolve4(name, { ttl: true })),
      this.#family(this.#resolver.resolve6(name, { ttl: true }))
    ])
  }

  async #family (query: Promise<RecordWithTtl[]>): Promise<FamilyAnswer> {
    try {
      const records = await query
      if (records.length === 0) return { kind: 'none' }
      return { kind: 'records', addresses: records.map((r) => r.address), ttlSeconds: Math.min(...records.map((r) => r.ttl)) }
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? ''
      if (NO_RECORDS.has(code)) return { kind: 'none' }
      return { kind: 'failed', reason: code === '' ? (e as Error).message : code }
    }
  }

  /** Ends the queries in flight (they fail with ECANCELLED). */
  cancel (): void {
    this.#resolver.cancel()
  }
}
