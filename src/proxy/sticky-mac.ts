/**
 * The HMAC behind sticky cookies and signed overrides: HMAC-SHA256 keyed with the store's
 * secret, base64url, truncated to MAC_LENGTH. Separate keys per use are derived from the
 * one secret so a cookie MAC can never be replayed as an override value.
 *
 * The data path verifies cookies with MidstateHmac: the same HMAC-SHA256 (FIPS 180-4 /
 * RFC 2104, bit for bit: every cookie node:crypto signed verifies), computed in JavaScript
 * from the two precomputed pad midstates, so a cookie costs two SHA-256 compressions over
 * preallocated Int32Arrays, compared in constant time against the cookie's characters in
 * place: no object, no string, no Buffer per request. createHmac costs 1.5–2.7 µs a call,
 * most of it object set-up and the base64url string; this costs ≈0.75 µs, so a returning
 * client missing the verified-cookie table (src/proxy/cookie-cache.ts) costs little more
 * than one found in it. Payloads longer than one block (55 bytes) are not needed by the
 * cookie format and are refused.
 */
import { createHmac } from 'node:crypto'
import { MAC_LENGTH, type Mac } from '../routing/sticky-cookie.js'

// A module-local copy: an imported binding read in a loop condition costs a load and a
// hole check per iteration (measured: the 22-character compare took 270 ns instead of 75).
const MAC_CHARS = MAC_LENGTH

/** The key of one purpose, derived from the secret (32 bytes). */
function derivedKey (secret: string, purpose: string): Buffer {
  return createHmac('sha256', secret).update(`switchyard:${purpose}`).digest()
}

/** Builds a MAC function for one purpose from a secret. The secret is not kept in a closure field visible to logs. */
export function hmacFor (secret: string, purpose: string): Mac {
  const key = derivedKey(secret, purpose)
  return (payload: string) => createHmac('sha256', key).update(payload).digest('base64url').slice(0, MAC_LENGTH)
}

/** Bytes of payload one SHA-256 block takes after 64 bytes of pad (55 = 64 − 1 − 8). */
export const MAX_FAST_PAYLOAD = 55

const K = new Int32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2
])
const IV = new Int32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19])

/** base64url's alphabet as character codes, by 6-bit value. */
const B64URL = Uint8Array.from('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_', (c) => c.charCodeAt(0))

/** One SHA-256 compression of the 16 words in w[0..15] onto `from`, written to `to` (w is clobbered). */
function compress (from: Int32Array, w: Int32Array, to: Int32Array): void {
  const k = K
  for (let i = 16; i < 64; i++) {
    const x = w[i - 15] as number
    const y = w[i - 2] as number
    const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3)
    const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10)
    w[i] = ((w[i - 16] as number) + s0 + (w[i - 7] as number) + s1) | 0
  }
  let a = from[0] as number
  let b = from[1] as number
  let c = from[2] as number
  let d = from[3] as number
  let e = from[4] as number
  let f = from[5] as number
  let g = from[6] as number
  let h = from[7] as number
  for (let i = 0; i < 64; i++) {
    const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7))
    const t1 = (h + S1 + ((e & f) ^ (~e & g)) + (k[i] as number) + (w[i] as number)) | 0
    const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10))
    const t2 = (S0 + ((a & b) ^ (a & c) ^ (b & c))) | 0
    h = g
    g = f
    f = e
    e = (d + t1) | 0
    d = c
    c = b
    b = a
    a = (t1 + t2) | 0
  }
  to[0] = ((from[0] as number) + a) | 0
  to[1] = ((from[1] as number) + b) | 0
  to[2] = ((from[2] as number) + c) | 0
  to[3] = ((from[3] as number) + d) | 0
  to[4] = ((from[4] as number) + e) | 0
  to[5] = ((from[5] as number) + f) | 0
  to[6] = ((from[6] as number) + g) | 0
  to[7] = ((from[7] as number) + h) | 0
}

/**
 * HMAC-SHA256 of one purpose's key over short ASCII payloads, allocation-free: the
 * ipad/opad blocks are compressed once at construction, each call compresses the payload
 * block and the inner digest block. Not re-entrant (one instance owns its scratch arrays;
 * the data path is one thread).
 */
export class MidstateHmac {
  readonly #inner = new Int32Array(8)
  readonly #outer = new Int32Array(8)
  readonly #w = new Int32Array(64)
  readonly #digest = new Int32Array(8)

  constructor (secret: string, purpose: string) {
    const key = derivedKey(secret, purpose)
    const w = this.#w
    for (const [pad, into] of [[0x36, this.#inner], [0x5c, this.#outer]] as const) {
      for (let i = 0; i < 16; i++) {
        let word = 0
        for (let j = 0; j < 4; j++) word = (word << 8) | (((key[i * 4 + j] ?? 0) ^ pad) & 0xff)
        w[i] = word
      }
      compress(IV, w, into)
    }
    key.fill(0)
  }

  /**
   * Computes the MAC of s[start, end) into the digest. The caller guarantees every char
   * code there is < 128 (its UTF-8 bytes are its char codes) and end − start ≤ MAX_FAST_PAYLOAD.
   */
  #compute (s: string, start: number, end: number): Int32Array {
    const w = this.#w
    w.fill(0, 0, 16)
    const n = end - start
    for (let i = 0; i < n; i++) w[i >> 2] = (w[i >> 2] as number) | (s.charCodeAt(start + i) << (24 - ((i & 3) << 3)))
    w[n >> 2] = (w[n >> 2] as number) | (0x80 << (24 - ((n & 3) << 3)))
    w[15] = (64 + n) * 8
    const d = this.#digest
    compress(this.#inner, w, d)
    for (let i = 0; i < 8; i++) w[i] = d[i] as number
    w[8] = 0x80000000
    w.fill(0, 9, 15)
    w[15] = (64 + 32) * 8
    compress(this.#outer, w, d)
    return d
  }

  /**
   * True when s[macStart, macStart + MAC_LENGTH) is the base64url MAC of s[start, end),
   * compared in constant time (every character is visited whatever matches).
   */
  matches (s: string, start: number, end: number, macStart: number): boolean {
    if (end - start > MAX_FAST_PAYLOAD || s.length - macStart < MAC_LENGTH) return false
    const d = this.#compute(s, start, end)
    const alphabet = B64URL
    let diff = 0
    for (let j = 0; j < MAC_CHARS; j++) diff |= (alphabet[sextet(d, j)] as number) ^ s.charCodeAt(macStart + j)
    return diff === 0
  }

  /** The MAC of an ASCII payload of ≤ MAX_FAST_PAYLOAD bytes as a string (minting; allocates the string). */
  mac (payload: string): string {
    if (payload.length > MAX_FAST_PAYLOAD || !/^[\x20-\x7e]*$/.test(payload)) throw new Error(`MidstateHmac signs printable ASCII payloads of at most ${MAX_FAST_PAYLOAD} bytes`)
    const d = this.#compute(payload, 0, payload.length)
    let out = ''
    for (let j = 0; j < MAC_CHARS; j++) out += String.fromCharCode(B64URL[sextet(d, j)] as number)
    return out
  }
}

/** The j-th 6-bit group of a big-endian 256-bit digest (what base64 encodes as its j-th character). */
function sextet (d: Int32Array, j: number): number {
  const p = j * 6
  const w = p >>> 5
  const o = p & 31
  const hi = d[w] as number
  if (o <= 26) return (hi >>> (26 - o)) & 63
  return ((hi << (o - 26)) | ((d[w + 1] as number) >>> (58 - o))) & 63
}
