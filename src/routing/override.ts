/**
 * Override values: the opt-in header or cookie that forces a color (QA on green before the
 * flip). Unsigned, the value is the color name. Signed, it is `<color>.<mac>` where the MAC
 * covers `override:<color>`, so only holders of a value handed out by an operator can force
 * a color. Accepted values are precomputed per route table: a request does one map lookup.
 */
import type { Mac } from './sticky-cookie.js'

/** The value a client must send to force `color`. */
export function overrideValue (color: string, mac: Mac | undefined): string {
  return mac === undefined ? color : `${color}.${mac(`override:${color}`)}`
}
