/**
 * A bounded cache of sticky-cookie values that already passed HMAC verification, so a
 * returning client costs a map lookup instead of an HMAC-SHA256 (≈2.7 µs, the largest
 * per-request cost of routing). Only verified values enter it, it is emptied when the
 * secret changes, and the TTL is still checked on every hit. Two generations bound its
 * size without per-entry bookkeeping: when the young map fills, it becomes the old one and
 * the previous old one is dropped; a hit in the old map is promoted.
 */
import { verifyStickyCookie, type Mac, type StickyCookie } from '../routing/sticky-cookie.js'

/** Verified-cookie cache in front of verifyStickyCookie. */
export class CookieCache {
  readonly #generation: number
  #young = new Map<string, StickyCookie>()
  #old = new Map<string, StickyCookie>()
  #mac: Mac

  /** @param maxEntries about how many distinct cookies to remember (two generations of half) */
  constructor (mac: Mac, maxEntries = 40_000) {
    this.#mac = mac
    this.#generation = Math.max(1, maxEntries >> 1)
  }

  /** The verified cookie a value stands for, or undefined (never honoured). */
  verify (value: string, nowSeconds: number, ttlSeconds: number): StickyCookie | undefined {
    let c = this.#young.get(value)
    if (c === undefined) {
      c = this.#old.get(value)
      if (c === undefined) {
        c = verifyStickyCookie(value, this.#mac, nowSeconds, ttlSeconds)
        if (c === undefined) return undefined
      }
      this.#remember(value, c)
    }
    // A cached cookie still expires; the future-skew check was made when it was verified.
    return nowSeconds - c.issuedAt > ttlSeconds ? undefined : c
  }

  /** Remembers a cookie this instance minted (it is valid by construction). */
  remember (value: string, cookie: StickyCookie): void {
    this.#remember(value, cookie)
  }

  #remember (value: string, c: StickyCookie): void {
    if (this.#young.size >= this.#generation) {
      this.#old = this.#young
      this.#young = new Map()
    }
    this.#young.set(value, c)
  }

  /** Uses a new MAC (secret changed): forgets everything verified under the old one. */
  reset (mac: Mac): void {
    this.#mac = mac
    this.#young = new Map()
    this.#old = new Map()
  }

  /** Entries held (both generations). */
  get size (): number {
    return this.#young.size + this.#old.size
  }
}
