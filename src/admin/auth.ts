/**
 * Admin authentication: bearer tokens with a name and a role. Presented tokens are hashed
 * and compared against every configured token with timingSafeEqual, without an early exit,
 * so the time taken says nothing about which token (or how much of one) matched. With no
 * tokens configured the config loader has already ensured the admin API is on loopback.
 */
import { createHash, timingSafeEqual } from 'node:crypto'
import type { AdminToken } from '../config/config-types.js'
import type { ErrorCode } from '../errors.js'

/** Who is calling, as recorded in `changedBy`. */
export interface Principal {
  readonly name: string
  readonly role: 'read' | 'write'
}

/** The principal of unauthenticated calls on a loopback-only admin API without tokens. */
export const LOOPBACK_PRINCIPAL: Principal = Object.freeze({ name: 'loopback', role: 'write' })

/** The outcome of authenticating one request. */
export type AuthOutcome = { readonly ok: true; readonly principal: Principal } | { readonly ok: false; readonly code: ErrorCode }

function digest (value: string): Buffer {
  return createHash('sha256').update(value).digest()
}

/** Builds an authenticator for the configured tokens (digests computed once). */
export function createAuthenticator (tokens: readonly AdminToken[]): (authorization: string | undefined, write: boolean) => AuthOutcome {
  const table = tokens.map((t) => ({ digest: digest(t.token), principal: Object.freeze({ name: t.name, role: t.role }) }))
  return (authorization, write) => {
    if (table.length === 0) return { ok: true, principal: LOOPBACK_PRINCIPAL }
    if (authorization === undefined || authorization === '') return { ok: false, code: 'SWY_ERR_AUTH_MISSING_TOKEN' }
    const m = /^Bearer[ ]+(\S+)\s*$/i.exec(authorization)
    if (m === null) return { ok: false, code: 'SWY_ERR_AUTH_INVALID_TOKEN' }
    const presented = digest(m[1] as string)
    let found: Principal | undefined
    for (const row of table) {
      if (timingSafeEqual(presented, row.digest) && found === undefined) found = row.principal
    }
    if (found === undefined) return { ok: false, code: 'SWY_ERR_AUTH_INVALID_TOKEN' }
    if (write && found.role !== 'write') return { ok: false, code: 'SWY_ERR_AUTH_FORBIDDEN' }
    return { ok: true, principal: found }
  }
}

/**
 * The admin API's authenticator, whose tokens a config reload replaces (rotation without a
 * restart). A request reads the current table once: a reload between two requests applies
 * to the second, and a token removed by it is refused from then on.
 */
export class AdminAuth {
  #check: (authorization: string | undefined, write: boolean) => AuthOutcome
  #count: number

  constructor (tokens: readonly AdminToken[]) {
    this.#check = createAuthenticator(tokens)
    this.#count = tokens.length
  }

  /** Uses these tokens from now on (digests computed once, here). */
  setTokens (tokens: readonly AdminToken[]): void {
    this.#check = createAuthenticator(tokens)
    this.#count = tokens.length
  }

  /** True when tokens are configured (else the loopback-only listener needs none). */
  get configured (): boolean {
    return this.#count > 0
  }

  /** Authenticates one request's Authorization header. */
  authenticate (authorization: string | undefined, write: boolean): AuthOutcome {
    return this.#check(authorization, write)
  }
}
