/**
 * Terminal rendering, pure: ANSI styles (only on a TTY, never with NO_COLOR), aligned
 * tables, and percentage bars. Everything returns strings; the caller writes them.
 */

/** Text styles; identity functions when colors are off. */
export interface Style {
  readonly on: boolean
  bold (s: string): string
  dim (s: string): string
  red (s: string): string
  green (s: string): string
  yellow (s: string): string
  /** A color's name (or text) drawn in that color when the terminal has it (blue, green, …). */
  paint (color: string, s: string): string
}

const SGR: Readonly<Record<string, number>> = { red: 31, green: 32, yellow: 33, blue: 34, magenta: 35, cyan: 36 }

function sgr (code: number, s: string): string {
  return `\x1b[${code}m${s}\x1b[0m`
}

/** Styles for a stream: colors only on a TTY and only when NO_COLOR is unset or empty. */
export function styleFor (stream: { readonly isTTY?: boolean }, env: NodeJS.ProcessEnv): Style {
  const on = stream.isTTY === true && (env.NO_COLOR === undefined || env.NO_COLOR === '') && env.TERM !== 'dumb'
  const wrap = (code: number) => (s: string): string => on ? sgr(code, s) : s
  return {
    on,
    bold: wrap(1),
    dim: wrap(2),
    red: wrap(31),
    green: wrap(32),
    yellow: wrap(33),
    paint: (color, s) => on ? sgr(SGR[color] ?? 36, s) : s
  }
}

/** Styles that never color (tests, pipes). */
export const PLAIN: Style = styleFor({ isTTY: false }, {})

/** The length of a string as shown (ANSI sequences take no room). */
export function visibleLength (s: string): number {
  // eslint-disable-next-line no-control-regex -- matching the SGR sequences this module writes
  return s.replace(/\x1b\[[0-9;]*m/g, '').length
}

function pad (s: string, width: number): string {
  return s + ' '.repeat(Math.max(0, width - visibleLength(s)))
}

/** An aligned table: a header row, then the rows, columns two spaces apart (indented by `indent`). */
export function table (headers: readonly string[], rows: ReadonlyArray<readonly string[]>, style: Style = PLAIN, indent = ''): string {
  const widths = headers.map((h, i) => Math.max(visibleLength(h), ...rows.map((r) => visibleLength(r[i] ?? ''))))
  const line = (cells: readonly string[]): string => indent + cells.map((c, i) => i === cells.length - 1 ? c : pad(c, widths[i] ?? 0)).join('  ').trimEnd()
  return [style.dim(line(headers)), ...rows.map(line)].join('\n') + '\n'
}

/** A bar `width` cells wide, `percent` of it filled. */
export function bar (percent: number, width: number, fill = '█', empty = '░'): string {
  const n = Math.round(Math.min(100, Math.max(0, percent)) / 100 * width)
  return fill.repeat(n) + empty.repeat(width - n)
}

/** A percent as shown: up to two decimals, no trailing zeros (`12.5 %`). */
export function percent (p: number): string {
  return `${Number(p.toFixed(2))} %`
}

/** Moves the cursor up over `lines` lines and clears to the end of the screen (redrawing a live view). */
export function rewind (lines: number): string {
  return lines > 0 ? `\x1b[${lines}F\x1b[J` : ''
}

/** How many terminal rows `text` takes on a terminal `columns` wide (long lines wrap). */
export function rowsOf (text: string, columns: number | undefined): number {
  const lines = text.split('\n')
  if (lines[lines.length - 1] === '') lines.pop()
  if (columns === undefined || columns <= 0) return lines.length
  return lines.reduce((n, l) => n + Math.max(1, Math.ceil(visibleLength(l) / columns)), 0)
}
