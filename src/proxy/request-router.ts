/**
 * The data path's named routing step: from a request's headers and the time to a color, a
 * reason and the sticky Set-Cookie to send. It owns what routing needs between requests —
 * the compiled route table (swapped by apply()), the cookie MAC's precomputed midstates, the
 * minted-cookie array, the header-bucket seed and the fresh-bucket sequence — and nothing
 * about sockets, targets or fastify. route() reads no clock (the caller passes `now`), does
 * no I/O and allocates nothing for a returning client (its cookie is located and parsed in
 * place, then found in a fixed-size table of verified cookies or its HMAC checked in place:
 * cost and memory do not grow with the number of clients) nor for a new one (the signed Set-Cookie of a (bucket, color)
 * is built once per minute and reused): it fills and returns one outcome object it reuses
 * (read it before the next call). test/proxy/alloc-guard.test.ts holds it to that.
 */
import { randomInt } from 'node:crypto'
import type { IncomingHttpHeaders } from 'node:http'
import type { Config } from '../config/config-types.js'
import { decide } from '../routing/decide.js'
import { nextFreshBucket } from '../routing/fresh-bucket.js'
import { headerBucket, saltToSeed } from '../routing/header-bucket.js'
import { buildRouteTable, type OverrideRule, type RouteTable } from '../routing/route-table.js'
import type { RoutingState } from '../routing/routing-state.js'
import { encodeStickyCookie, findCookie, MAC_LENGTH, StickyParse, verifyStickyCookieAt } from '../routing/sticky-cookie.js'
import { BUCKETS, type Reason } from '../routing/types.js'
import { colorForBucket } from '../routing/weights.js'
import { CookieCache } from './cookie-cache.js'
import { hmacFor, MidstateHmac } from './sticky-mac.js'

const MODE_NONE = 0
const MODE_COOKIE = 1
const MODE_HEADER = 2

/** What route() decided. One object per router, refilled by every call. */
export class RouteOutcome {
  /** The color index, -1 when no color can serve (503). */
  color = -1
  /** Why, as an index in REASONS. */
  reasonIndex = 0
  reason: Reason = 'fallback'
  /** The Set-Cookie to send with the response, '' for none. */
  cookie = ''
  /** The request carried an override value this table honours. */
  overridden = false
}

/** What the router is built from. */
export interface RouterOptions {
  readonly colors: readonly string[]
  readonly sticky: Config['sticky']
  readonly overrides: Config['overrides']
  /** The store's secret (sticky-cookie MAC and, without sticky.salt, the header-bucket seed). */
  readonly secret: string
  /** Per color: 1 when it has a target that can take a request now (kept current by the pools). */
  readonly available: Uint8Array
  /** Where the fresh-bucket sequence starts (random when not given). */
  readonly freshStart?: number
  /** Memory budget of the verified-cookie table (see CookieCache; 4 MiB by default). */
  readonly cookieCacheBytes?: number
}

/** Routes requests to colors. */
export class RequestRouter {
  readonly #colors: readonly string[]
  readonly #available: Uint8Array
  readonly #mode: number
  readonly #cookieName: string
  readonly #cookieAttrs: string
  readonly #ttl: number
  readonly #stickyHeader: string
  readonly #salt: string | undefined
  readonly #overrideHeader: string
  readonly #overridesOn: boolean
  readonly #overrideRule: OverrideRule
  readonly #cookies: CookieCache
  readonly #outcome = new RouteOutcome()
  readonly #parsed = new StickyParse()
  readonly #bounds = new Int32Array(1)
  // Signed Set-Cookie values per (bucket, color), reused within their minute: a new client
  // costs an array read instead of an HMAC (issuedAt is rounded down to the minute).
  readonly #minted: Array<string | undefined>
  readonly #mintedMinute: Int32Array
  #cookieMac: MidstateHmac
  #seed: number
  #lastFresh: number
  #table: RouteTable

  constructor (opts: RouterOptions) {
    const { colors, sticky, overrides } = opts
    this.#colors = colors
    this.#available = opts.available
    this.#mode = sticky.mode === 'cookie' ? MODE_COOKIE : sticky.mode === 'header' ? MODE_HEADER : MODE_NONE
    this.#cookieName = sticky.cookie
    this.#ttl = sticky.ttlSeconds
    this.#cookieAttrs = `; Path=/; Max-Age=${sticky.ttlSeconds}; HttpOnly; SameSite=${sticky.sameSite}${sticky.secure || sticky.sameSite === 'None' ? '; Secure' : ''}`
    this.#stickyHeader = sticky.header.toLowerCase()
    this.#salt = sticky.salt
    this.#overrideHeader = overrides.header.toLowerCase()
    this.#overridesOn = overrides.enabled
    this.#overrideRule = { enabled: overrides.enabled, mac: overrides.secret === undefined ? undefined : hmacFor(overrides.secret, 'override') }
    this.#cookieMac = new MidstateHmac(opts.secret, 'sticky-cookie')
    this.#cookies = new CookieCache(this.#cookieMac, opts.cookieCacheBytes)
    this.#seed = saltToSeed(sticky.salt ?? hmacFor(opts.secret, 'header-salt')('salt'))
    this.#lastFresh = opts.freshStart ?? randomInt(BUCKETS)
    this.#minted = new Array<string | undefined>(BUCKETS * colors.length).fill(undefined)
    this.#mintedMinute = new Int32Array(BUCKETS * colors.length)
    this.#table = buildRouteTable(0, colors, Object.fromEntries(colors.map((c, i) => [c, i === 0 ? BUCKETS : 0])), this.#overrideRule)
  }

  /** The route table requests are decided on now. */
  get table (): RouteTable {
    return this.#table
  }

  /** The override header's name (lower case). */
  get overrideHeader (): string {
    return this.#overrideHeader
  }

  /** Compiles and swaps the route table for a newly applied state. */
  apply (state: RoutingState): void {
    this.#table = buildRouteTable(state.version, this.#colors, state.weights, this.#overrideRule, state.drainUntil)
  }

  /** Uses a new cookie secret (another instance's won a store re-seed): forgets every cookie verified or minted under the old one. */
  setSecret (secret: string): void {
    this.#cookieMac = new MidstateHmac(secret, 'sticky-cookie')
    this.#cookies.reset(this.#cookieMac)
    this.#minted.fill(undefined)
    if (this.#salt === undefined) this.#seed = saltToSeed(hmacFor(secret, 'header-salt')('salt'))
  }

  /**
   * Decides one request: override, drain, sticky cookie or header bucket, fresh bucket,
   * fallback (see decide()), and the sticky cookie to set.
   * @param now milliseconds since the epoch
   * @returns the router's outcome object, valid until the next call
   */
  route (headers: IncomingHttpHeaders, now: number): RouteOutcome {
    const t = this.#table
    const mode = this.#mode
    let override: string | undefined
    if (this.#overridesOn) {
      const v = headers[this.#overrideHeader]
      if (typeof v === 'string') override = v
    }
    let stickyBucket = -1
    // The color index the cookie names (-1: none, or a valid name this router does not know).
    let lastColor = -1
    if (mode === MODE_COOKIE) {
      const header = headers.cookie
      if (header !== undefined) {
        const start = findCookie(header, this.#cookieName, this.#bounds)
        const p = this.#parsed
        if (start >= 0 && verifyStickyCookieAt(header, start, this.#bounds[0] as number, this.#cookies, (now / 1000) | 0, this.#ttl, this.#colors, p)) {
          stickyBucket = p.bucket
          lastColor = p.color
        }
      }
    } else if (mode === MODE_HEADER) {
      const v = headers[this.#stickyHeader]
      if (typeof v === 'string' && v !== '') stickyBucket = headerBucket(v, this.#seed)
    }
    let fresh = 0
    if (stickyBucket < 0) fresh = this.#lastFresh = nextFreshBucket(this.#lastFresh)
    const decision = decide(t, override, stickyBucket, fresh, lastColor, now / 1000, this.#available)
    const color = decision.color
    const o = this.#outcome
    o.color = color
    o.reasonIndex = decision.reasonIndex
    o.reason = decision.reason
    o.overridden = override !== undefined && t.overrides.has(override)
    o.cookie = ''
    // The cookie records the color the weights chose for this client (not a fallback), so
    // it returns there when that color recovers, and drain knows where it was.
    if (mode === MODE_COOKIE && color >= 0) {
      if (decision.reason !== 'override' && decision.reason !== 'fallback') {
        if (stickyBucket < 0) o.cookie = this.#mint(fresh, color, now)
        else if (lastColor !== color) o.cookie = this.#mint(stickyBucket, color, now)
      } else if (stickyBucket < 0 && decision.reason === 'fallback') {
        o.cookie = this.#mint(fresh, colorForBucket(t.thresholds, fresh), now)
      }
    }
    return o
  }

  /** The Set-Cookie for a bucket and color index; signed once per minute, remembered as verified. */
  #mint (bucket: number, color: number, now: number): string {
    const minute = Math.floor(now / 60_000)
    const i = bucket * this.#colors.length + color
    const known = this.#minted[i]
    if (known !== undefined && this.#mintedMinute[i] === minute) return known
    const header = this.#sign(bucket, color, minute)
    this.#minted[i] = header
    this.#mintedMinute[i] = minute
    return header
  }

  /**
   * Signs a Set-Cookie (once per bucket, color and minute). Kept out of #mint: a closure in
   * #mint would make V8 allocate its context on every call, hits included.
   */
  #sign (bucket: number, color: number, minute: number): string {
    const mac = this.#cookieMac
    const issuedAt = minute * 60
    const value = encodeStickyCookie({ bucket, color: this.#colors[color] as string, issuedAt }, (payload) => mac.mac(payload))
    this.#cookies.remember(bucket, color, issuedAt, value.slice(value.length - MAC_LENGTH))
    return `${this.#cookieName}=${value}${this.#cookieAttrs}`
  }
}
