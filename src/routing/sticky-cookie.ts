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
 * Checks a MAC in place: s[macStart, macStart + MAC_LENGTH) against the MAC of s[start, end),
 * the payload `<bucket>.<color>.<issuedAt>` whose parsed fields come along (a cache may key on them).
 */
export interface MacCheck {
  matches: (s: string, start: number, end: number, macStart: number, bucket: number, color: number, issuedAt: number) => boolean
}

/** Where verifyStickyCookieAt writes a valid cookie (one object per caller, refilled by every call). */
export class StickyParse {
  bucket = -1
  /** Index of the cookie's color in the caller's color list, -1 for a valid name it does not know. */
  color = -1
  issuedAt = 0
}

function base36At (s: string, start: number, end: number, maxLen: number): number {
  const len = end - start
  if (len < 1 || len > maxLen) return -1
  let v = 0
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i)
    if (c >= 48 && c <= 57) v = v * 36 + (c - 48)
    else if (c >= 97 && c <= 122) v = v * 36 + (c - 87)
    else return -1
  }
  return v
}

function isColorNameAt (s: string, start: number, end: number): boolean {
  const len = end - start
  if (len < 1 || len > 32) return false
  const first = s.charCodeAt(start)
  if (first < 97 || first > 122) return false
  for (let i = start + 1; i < end; i++) {
    const c = s.charCodeAt(i)
    if (!((c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 45)) return false
  }
  return true
}

function colorIndexAt (s: string, start: number, end: number, colors: readonly string[]): number {
  const len = end - start
  for (let k = 0; k < colors.length; k++) {
    const name = colors[k] as string
    if (name.length !== len) continue
    let i = 0
    while (i < len && name.charCodeAt(i) === s.charCodeAt(start + i)) i++
    if (i === len) return k
  }
  return -1
}

/**
 * verifyStickyCookie on s[start, end) without slicing it: the same checks in the same
 * order, the MAC checked in place by `check`, the color resolved to its index in `colors`.
 * Allocates nothing. Fills `out` and returns true for a valid cookie; false otherwise
 * (`out` is then unspecified).
 */
export function verifyStickyCookieAt (s: string, start: number, end: number, check: MacCheck, nowSeconds: number, ttlSeconds: number,
  colors: readonly string[], out: StickyParse, skewSeconds = 300): boolean {
  if (end - start > 96) return false
  const d1 = s.indexOf('.', start)
  if (d1 < 0 || d1 >= end) return false
  const d2 = s.indexOf('.', d1 + 1)
  if (d2 < 0 || d2 >= end) return false
  const d3 = s.indexOf('.', d2 + 1)
  if (d3 < 0 || d3 >= end) return false
  const d4 = s.indexOf('.', d3 + 1)
  if (d4 >= 0 && d4 < end) return false
  if (end - d3 - 1 !== MAC_LENGTH) return false
  const bucket = base36At(s, start, d1, 3)
  const issuedAt = base36At(s, d2 + 1, d3, 10)
  if (bucket < 0 || issuedAt < 0) return false
  if (!isColorNameAt(s, d1 + 1, d2)) return false
  if (bucket >= BUCKETS) return false
  if (issuedAt > nowSeconds + skewSeconds || nowSeconds - issuedAt > ttlSeconds) return false
  const color = colorIndexAt(s, d1 + 1, d2, colors)
  if (!check.matches(s, start, d3, d3 + 1, bucket, color, issuedAt)) return false
  out.bucket = bucket
  out.color = color
  out.issuedAt = issuedAt
  return true
}

/** The characters String.prototype.trim removes. */
function isTrimmed (c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13) || c === 160 || c === 0xfeff || c === 0x2028 || c === 0x2029 || (c >= 0x2000 && c <= 0x200a) || c === 0x1680 || c === 0x202f || c === 0x205f || c === 0x3000
}

/**
 * readCookie without slicing: the bounds [start, end) of the value readCookie would
 * return (trimmed the same way), start in the return value and end in `bounds[0]`;
 * -1 when the cookie is absent.
 */
export function findCookie (header: string, name: string, bounds: Int32Array): number {
  let from = 0
  for (;;) {
    const at = header.indexOf(name, from)
    if (at < 0) return -1
    const end = at + name.length
    let before = at - 1
    while (before >= 0 && header.charCodeAt(before) === 32) before--
    if ((before < 0 || header.charCodeAt(before) === 59) && header.charCodeAt(end) === 61) {
      const semi = header.indexOf(';', end + 1)
      let stop = semi < 0 ? header.length : semi
      let start = end + 1
      while (start < stop && isTrimmed(header.charCodeAt(start))) start++
      while (stop > start && isTrimmed(header.charCodeAt(stop - 1))) stop--
      bounds[0] = stop
      return start
    }
    from = end
  }
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
