// The read-mostly panels: traffic charts, the rollout, targets and the last changes.
import { drawChart } from './chart.js'
import { ago, colorClass, fill, h } from './dom.js'

const $ = (id) => document.getElementById(id)
// The charts span the figures kept so far: at least 1 min, at most 5.
const windowOf = (at) => Math.min(5 * 60_000, Math.max(60_000, at.length < 2 ? 0 : at[at.length - 1] - at[0]))

function last (values) {
  for (let i = values.length - 1; i >= 0; i--) if (values[i] !== null) return values[i]
  return null
}

const rate = (v) => v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2)
const ratio = (v) => `${(v * 100).toFixed(v >= 0.1 ? 0 : 1)} %`
const seconds = (v) => v >= 1 ? `${v.toFixed(1)} s` : `${(v * 1000).toFixed(v >= 0.01 ? 0 : 1)} ms`

/** Draws the three charts and the legend with each color's latest figures. */
export function renderTraffic (figures) {
  const colors = figures.colors
  const windowMs = windowOf(figures.at)
  const lines = (key) => colors.map((c) => ({ cls: colorClass(colors, c), values: figures.series[c]?.[key] ?? [] }))
  drawChart($('chart-rate'), { at: figures.at, lines: lines('rate'), format: rate, windowMs })
  drawChart($('chart-errors'), { at: figures.at, lines: lines('errorRatio'), format: ratio, windowMs, minMax: 0.01 })
  drawChart($('chart-p99'), { at: figures.at, lines: lines('p99'), format: seconds, windowMs, minMax: 0.001 })
  fill($('legend'), colors.map((c) => {
    const s = figures.series[c] ?? { rate: [], errorRatio: [], p99: [] }
    const r = last(s.rate)
    const e = last(s.errorRatio)
    const p = last(s.p99)
    return h('div', { class: `item ${colorClass(colors, c)}`, dataset: { testid: `legend-${c}` } },
      h('span', { class: 'swatch' }), h('strong', {}, c),
      h('span', { dataset: { testid: `rate-${c}` }, title: 'requests per second' }, r === null ? '–' : `${rate(r)} req/s`),
      h('span', { title: '5xx ratio' }, e === null ? '–' : `${ratio(e)} 5xx`),
      h('span', { title: 'p99 latency' }, p === null ? '–' : `p99 ${seconds(p)}`))
  }))
}

function figuresText (side) {
  return `${side.requests} req, ${ratio(side.errorRatio)} 5xx, ${side.latency === null ? '–' : seconds(side.latency)}`
}

const ROLLOUT_ACTIONS = [
  ['pause', (r) => r.phase === 'progressing' || r.phase === 'awaiting-approval'],
  ['resume', (r) => r.phase === 'paused'],
  ['approve', (r) => r.phase === 'awaiting-approval'],
  ['promote', (r) => r.active],
  ['abort', (r) => r.active]
]

/** The active (or last) rollout: phase, steps with the current one marked, verdicts, actions. */
export function renderRollout (answer, ctx) {
  const body = $('rollout-body')
  if (answer.status === 404) {
    fill(body, h('p', { class: 'muted', dataset: { testid: 'no-rollout' } }, 'No rollout. Start one with ', h('code', {}, 'switchyard rollout start --to COLOR --steps 5,25,50,100'), '.'))
    return
  }
  const r = answer.body?.rollout
  if (answer.status !== 200 || r === undefined) {
    fill(body, h('p', { class: 'error' }, `rollout: ${answer.body?.error ?? answer.status}`))
    return
  }
  const steps = r.steps.map((s, i) => h('li', { class: i < r.stepIndex || (!r.active && r.phase === 'succeeded') ? 'done' : i === r.stepIndex && r.active ? 'current' : '' },
    `${s.weight} %`, h('small', {}, s.pause === 'approval' ? 'approval' : `${s.pauseSeconds ?? 0} s`)))
  const analyses = (r.analyses ?? []).slice(-8).reverse().map((a) => h('tr', { class: `verdict-${a.verdict}` },
    h('td', {}, ago(a.at)), h('td', {}, String(a.step + 1)), h('td', { class: 'verdict' }, a.verdict),
    h('td', {}, figuresText(a.from)), h('td', {}, figuresText(a.to)), h('td', {}, a.why)))
  const clock = r.stepPauseSeconds === null ? 'waiting for approval' : `${Math.round(r.stepElapsedSeconds ?? 0)} / ${r.stepPauseSeconds} s`
  fill(body,
    h('p', {}, h('span', { class: `phase phase-${r.phase}`, dataset: { testid: 'rollout-phase' } }, r.phase), ' ',
      `${r.from} → ${r.to}, step ${Math.min(r.stepIndex + 1, r.steps.length)} of ${r.steps.length}`, r.active ? ` (${r.stage}, ${clock})` : '',
      ` · started by ${r.startedBy} ${ago(r.startedAt)}`, r.reason ? ` · “${r.reason}”` : '', r.endReason ? ` · ${r.endReason}` : ''),
    h('ol', { class: 'steps' }, steps),
    analyses.length === 0
      ? h('p', { class: 'muted' }, 'No analysis yet.')
      : h('table', { class: 'analyses' }, h('thead', {}, h('tr', {}, ['when', 'step', 'verdict', r.from, r.to, 'why'].map((t) => h('th', {}, t)))), h('tbody', {}, analyses)),
    h('div', { class: 'actions' }, ROLLOUT_ACTIONS.map(([name, allowed]) =>
      h('button', { type: 'button', class: 'write', disabled: !allowed(r), dataset: { testid: `rollout-${name}` }, onclick: () => { void ctx.rolloutAction(name, r) } }, `${name[0].toUpperCase()}${name.slice(1)}…`))))
}

/** The targets with their mode and health (the id's tooltip says where it came from: config, api, dns), and drain / enable. */
export function renderTargets (targets, colors, ctx) {
  fill($('target-rows'), targets.map((t) => h('tr', { dataset: { testid: `target-${t.color}-${t.id}` } },
    h('td', { class: colorClass(colors, t.color) }, t.color), h('td', { title: `source: ${t.source ?? 'config'}` }, t.id), h('td', {}, h('code', {}, t.url)),
    h('td', { class: `mode-${t.mode}` }, t.mode), h('td', { class: `health-${t.health}` }, t.health + (t.ejectedUntil ? ' (ejected)' : '')),
    h('td', { class: 'num' }, String(t.inFlight ?? 0)),
    h('td', {},
      h('button', { type: 'button', class: 'write', disabled: t.mode === 'draining', dataset: { testid: `drain-${t.color}-${t.id}` }, onclick: () => { void ctx.target(t, 'drain') } }, 'Drain…'),
      h('button', { type: 'button', class: 'write', disabled: t.mode === 'enabled', dataset: { testid: `enable-${t.color}-${t.id}` }, onclick: () => { void ctx.target(t, 'enable') } }, 'Enable…')))))
}

/** The last changes, newest first. */
export function renderHistory (entries, colors) {
  fill($('history-rows'), entries.map((e) => h('tr', {},
    h('td', { class: 'num' }, `v${e.version}`), h('td', {}, e.kind),
    h('td', {}, colors.map((c) => `${c} ${e.after?.weights?.[c] ?? 0} %`).join(' · ')),
    h('td', {}, e.changedBy), h('td', {}, e.reason), h('td', { title: e.changedAt }, ago(e.changedAt)))))
}
