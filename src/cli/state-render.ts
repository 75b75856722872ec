/**
 * Rendering of the routing state and its neighbours, pure: weights as bars per color, the
 * targets, instances and history as tables, and the lagging instances of a write.
 */
import { bar, percent, PLAIN, table, type Style } from './render.js'
import { ago } from './values.js'
import type { HistoryBody, InstanceBody, StateBody, TargetBody } from './views.js'

/** One bar per color, in the state's color order. */
export function weightBars (state: StateBody, style: Style = PLAIN, indent = '  '): string {
  const width = Math.max(...state.colors.map((c) => c.length))
  return state.colors.map((c) => {
    const w = state.weights[c] ?? 0
    return `${indent}${style.paint(c, c.padEnd(width))}  ${style.paint(c, bar(w, 40))}  ${percent(w).padStart(8)}`
  }).join('\n') + '\n'
}

/** `v12 weights by alice 3m ago: "canary"`. */
export function changeLine (s: StateBody, now = Date.now()): string {
  const reason = s.reason === undefined || s.reason === '' ? '' : `: "${s.reason}"`
  return `v${s.version} ${s.kind ?? 'change'} by ${s.changedBy ?? '?'} ${ago(s.changedAt, now)}${reason}`
}

/** `applied on K of M instances`, when the server said. */
export function appliedLine (s: StateBody, style: Style = PLAIN): string {
  const i = s.instances
  if (i === undefined || i === null) return 'instances unknown (store unreachable)'
  const text = `applied on ${i.applied} of ${i.total} instance${i.total === 1 ? '' : 's'}`
  return i.applied === i.total ? style.green(text) : style.yellow(text)
}

function healthText (h: string, style: Style): string {
  return h === 'healthy' ? style.green(h) : h === 'unknown' ? style.yellow(h) : style.red(h)
}

function modeText (m: string, style: Style): string {
  return m === 'enabled' ? m : style.yellow(m)
}

/** The targets table. */
export function targetsTable (targets: readonly TargetBody[], style: Style = PLAIN, indent = ''): string {
  if (targets.length === 0) return `${indent}no targets\n`
  return table(['COLOR', 'TARGET', 'URL', 'MODE', 'HEALTH', 'IN FLIGHT'], targets.map((t) => [
    style.paint(t.color, t.color), t.id, t.url, modeText(t.mode, style),
    healthText(t.health, style) + (t.ejectedUntil === undefined ? '' : ` (ejected until ${t.ejectedUntil})`), String(t.inFlight)
  ]), style, indent)
}

/** The instances table; instances behind `version` are marked lagging. */
export function instancesTable (instances: readonly InstanceBody[], version: number, style: Style = PLAIN, now = Date.now()): string {
  if (instances.length === 0) return 'no live instances\n'
  return table(['INSTANCE', 'APPLIED', 'APPLIED AT', 'LAST SEEN', ''], instances.map((i) => [
    i.id + (i.self === true ? ' (this one)' : ''),
    i.appliedVersion >= version ? style.green(`v${i.appliedVersion}`) : style.yellow(`v${i.appliedVersion} lagging`),
    ago(i.appliedAt, now), ago(i.lastSeen, now), ''
  ]), style)
}

/** The history table, newest first as the server lists it. */
export function historyTable (entries: readonly HistoryBody[], style: Style = PLAIN, now = Date.now()): string {
  if (entries.length === 0) return 'no history\n'
  return table(['VERSION', 'KIND', 'BY', 'WHEN', 'WEIGHTS', 'REASON'], entries.map((e) => [
    `v${e.version}`, e.kind, e.changedBy, ago(e.changedAt, now),
    Object.entries(e.after.weights).map(([c, w]) => `${style.paint(c, c)}=${Number(w.toFixed(2))}`).join(' '),
    e.reason
  ]), style)
}

/** `lagging: i-2 (v4), i-3 (v3)`. */
export function laggingText (lagging: readonly InstanceBody[]): string {
  return lagging.map((i) => `${i.id} (v${i.appliedVersion})`).join(', ')
}
