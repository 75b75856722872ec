/**
 * Parsing of argument values, pure: durations (`90s`, `5m`, `1h`, `1500ms`, plain seconds),
 * numbers in a range, and `color=percent` assignments. Each returns the value or a message
 * for a usage error; none throws.
 */

/** A parsed value or why it is not one. */
export type Value<T> = { readonly ok: true, readonly value: T } | { readonly ok: false, readonly message: string }

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }

/**
 * A duration in milliseconds: `250ms`, `90s`, `5m`, `1h`, `1m30s`, or a plain number in
 * `plainUnit` (seconds for pauses and intervals, milliseconds for `--wait`).
 */
export function parseDuration (text: string, what: string, plainUnit: 's' | 'ms' = 's'): Value<number> {
  const t = text.trim()
  if (/^\d+(\.\d+)?$/.test(t)) return { ok: true, value: Math.round(Number(t) * (plainUnit === 's' ? 1000 : 1)) }
  const parts = [...t.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)]
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== t) {
    return { ok: false, message: `${what} must be a duration such as 90s, 5m, 1h or plain ${plainUnit === 's' ? 'seconds' : 'milliseconds'}, not "${text}"` }
  }
  let ms = 0
  for (const p of parts) ms += Number(p[1]) * (UNIT_MS[p[2] as string] ?? 0)
  return { ok: true, value: Math.round(ms) }
}

/** A number from `min` to `max` (an integer when `integer`). */
export function parseNumber (text: string, what: string, min: number, max: number, integer = false): Value<number> {
  const n = /^-?\d+(\.\d+)?$/.test(text.trim()) ? Number(text) : Number.NaN
  if (Number.isNaN(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
    return { ok: false, message: `${what} must be ${integer ? 'an integer' : 'a number'} from ${min} to ${max}, not "${text}"` }
  }
  return { ok: true, value: n }
}

/** `blue=90 green=10` as `{ blue: 90, green: 10 }` (the server checks colors and the sum). */
export function parseAssignments (items: readonly string[]): Value<Record<string, number>> {
  const out: Record<string, number> = {}
  for (const item of items) {
    const m = /^([a-z][a-z0-9-]{0,31})=(\d+(?:\.\d+)?)%?$/.exec(item)
    if (m === null) return { ok: false, message: `"${item}" is not COLOR=PERCENT (e.g. blue=90)` }
    const color = m[1] as string
    if (color in out) return { ok: false, message: `color "${color}" is given twice` }
    out[color] = Number(m[2])
  }
  return { ok: true, value: out }
}

/** A duration in words for humans: `45s`, `5m`, `2m10s`, `1h5m`. */
export function formatDuration (seconds: number): string {
  const s = Math.max(0, Math.round(seconds))
  if (s < 60) return `${s}s`
  const h = Math.floor(s / 3600)
  const m = Math.floor((s % 3600) / 60)
  const rest = s % 60
  if (h > 0) return `${h}h${m > 0 ? `${m}m` : ''}`
  return `${m}m${rest > 0 ? `${rest}s` : ''}`
}

/** How long ago an ISO time was, in words (`12s ago`), or the time itself when unparsable. */
export function ago (iso: string | null | undefined, now = Date.now()): string {
  if (iso === null || iso === undefined || iso === '') return '-'
  const t = Date.parse(iso)
  if (Number.isNaN(t)) return iso
  const s = (now - t) / 1000
  return s < 0 ? 'just now' : `${formatDuration(s)} ago`
}
