/**
 * Sticky cookie codec. The value is `<bucket>.<color>.<issuedAt>.<mac>`: the client's random
 * bucket and the color that last served it (base-36 integers and a color name), the issue
 * time in seconds, and a truncated HMAC-SHA256 over the first three fields. The HMAC itself
 * is passed in (src/routing stays free of node:crypto); the MAC is compared in constant time.
 * The cookie holds no address and no secret: only a bucket the client could have drawn itself
 * and a color name it already sees in responses.
 */
import { constantTimeEqual } from './constant-time.js'
import { BUCKETS } from './types.js'

/** Computes the MAC of a payload (HMAC-SHA256, base64url, truncated to MAC_LENGTH). */
export type Mac = (payload: string) => string

/** Characters of base64url MAC kept in the cookie (132 bits). */
export const MAC_LENGTH = 22

/** What a valid cookie says. */
export interface StickyCookie {
  readonly bucket: number
  readonly color: string
  readonly issuedAt: number
}

const COLOR_NAME = /^[a-z][a-z0-9-]{0,31}$/

/** Serializes and signs a sticky cookie value. */
export function encodeStickyCookie (cookie: StickyCookie, mac: Mac): string {
  const payload = `${cookie.bucket.toString(36)}.${cookie.color}.${cookie.issuedAt.toString(36)}`
  return `${payload}.${mac(payload)}`
}

function isBase36 (s: string, start: number, end: number, maxLen: number): boolean {
  const len = end - start
  if (len < 1 || len > maxLen) return false
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i)
    if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 122))) return false
  }
  return true
}

/**
 * Verifies a cookie value: exact shape, bucket in range, not issued in the future (beyond
 * `skewSeconds`), not older than `ttlSeconds`, and a MAC that matches. Anything else
 * (tampered, truncated, foreign secret, expired) yields undefined: never honoured.
 */
export function verifyStickyCookie (value: string, mac: Mac, nowSeconds: number, ttlSeconds: number, skewSeconds = 300): StickyCookie | undefined {
  if (value.length > 96) return undefined
  const d1 = value.indexOf('.')
  const d2 = d1 < 0 ? -1 : value.indexOf('.', d1 + 1)
  const d3 = d2 < 0 ? -1 : value.indexOf('.', d2 + 1)
  if (d3 < 0 || value.indexOf('.', d3 + 1) !== -1) return undefined
  if (value.length - d3 - 1 !== MAC_LENGTH) return undefined
  if (!isBase36(value, 0, d1, 3) || !isBase36(value, d2 + 1, d3, 10)) return undefined
  const color = value.slice(d1 + 1, d2)
  if (!COLOR_NAME.test(color)) return undefined
  const bucket = parseInt(value.slice(0, d1), 36)
  const issuedAt = parseInt(value.slice(d2 + 1, d3), 36)
  if (bucket >= BUCKETS) return undefined
  if (issuedAt > nowSeconds + skewSeconds || nowSeconds - issuedAt > ttlSeconds) return undefined
  if (!constantTimeEqual(mac(value.slice(0, d3)), value.slice(d3 + 1))) return undefined
  return { bucket, color, issuedAt }
}

/**
 * Finds one cookie's value in a Cookie header without parsing the rest of it.
 * Matches `name=` only at the start of the header or after a `;` (and optional spaces).
 */
export function readCookie (header: string, name: string): string | undefined {
  let from = 0
  for (;;) {
    const at = header.indexOf(name, from)
    if (at < 0) return undefined
    const end = at + name.length
    let before = at - 1
    while (before >= 0 && header.charCodeAt(before) === 32) before--
    if ((before < 0 || header.charCodeAt(before) === 59) && header.charCodeAt(end) === 61) {
      const stop = header.indexOf(';', end + 1)
      return stop < 0 ? header.slice(end + 1).trim() : header.slice(end + 1, stop).trim()
    }
    from = end
  }
}
