// The weights panel: a bar per color, an editor (one slider between the two colors of a
// two-color setup; a number per color otherwise), flip and rollback buttons.
import { colorClass, fill, h } from './dom.js'

const $ = (id) => document.getElementById(id)

let built = ''
let dirty = false
let inputs = {}

function format (n) {
  return `${Math.round(n * 100) / 100} %`
}

/** The editor's weights: {color: percent}. */
function draft (colors) {
  if (colors.length === 2) {
    const v = Number(inputs[colors[1]].value)
    return { [colors[0]]: Math.round((100 - v) * 100) / 100, [colors[1]]: v }
  }
  return Object.fromEntries(colors.map((c) => [c, Number(inputs[c].value)]))
}

function showDraft (colors) {
  const w = draft(colors)
  $('weight-draft').textContent = colors.map((c) => `${c} ${format(w[c])}`).join(' · ')
}

function build (colors, ctx) {
  built = colors.join(',')
  dirty = false
  inputs = {}
  const editor = $('weight-editor')
  const apply = h('button', { type: 'button', class: 'write', dataset: { testid: 'apply-weights' }, onclick: () => { void ctx.setWeights(draft(colors)).then((ok) => { if (ok) dirty = false }) } }, 'Set weights…')
  const reset = h('button', { type: 'button', onclick: () => { dirty = false; ctx.refresh() } }, 'Reset')
  if (colors.length === 2) {
    const slider = h('input', { type: 'range', min: 0, max: 100, step: 1, id: 'weight-slider', class: 'write', 'aria-label': `${colors[1]} percent`, dataset: { testid: 'weight-slider' } })
    slider.addEventListener('input', () => { dirty = true; showDraft(colors) })
    inputs[colors[1]] = slider
    fill(editor, h('div', { class: 'slider' }, h('span', { class: colorClass(colors, colors[0]) }, colors[0]), slider, h('span', { class: colorClass(colors, colors[1]) }, colors[1])),
      h('div', { class: 'draft' }, h('span', { id: 'weight-draft', dataset: { testid: 'weight-draft' } }), apply, reset))
  } else {
    const rows = colors.map((c) => {
      const input = h('input', { type: 'number', min: 0, max: 100, step: 0.01, class: 'write', 'aria-label': `${c} percent`, dataset: { testid: `weight-${c}` } })
      input.addEventListener('input', () => { dirty = true; showDraft(colors) })
      inputs[c] = input
      return h('label', { class: colorClass(colors, c) }, c, ' ', input, ' %')
    })
    fill(editor, h('div', { class: 'numbers' }, rows), h('div', { class: 'draft' }, h('span', { id: 'weight-draft' }), apply, reset))
  }
}

/** Renders the state's weights, and the editor unless the operator is editing it. */
export function renderWeights (state, ctx) {
  const colors = state.colors
  fill($('weight-bars'), colors.map((c) => {
    const bar = h('div', { class: `fill ${colorClass(colors, c)}` })
    bar.style.width = `${state.weights[c] ?? 0}%`
    return h('div', { class: 'bar' }, h('span', { class: 'name' }, c), h('div', { class: 'track' }, bar),
      h('span', { class: 'pct', dataset: { testid: `weight-${c}-now` } }, format(state.weights[c] ?? 0)))
  }))
  if (built !== colors.join(',')) build(colors, ctx)
  if (!dirty) {
    if (colors.length === 2) inputs[colors[1]].value = String(state.weights[colors[1]] ?? 0)
    else for (const c of colors) inputs[c].value = String(state.weights[c] ?? 0)
    showDraft(colors)
  }
  fill($('switch-actions'),
    colors.filter((c) => state.weights[c] !== 100).map((c) =>
      h('button', { type: 'button', class: 'write', dataset: { testid: `flip-${c}` }, onclick: () => { void ctx.flip(c) } }, `Flip to ${c}…`)),
    h('button', { type: 'button', class: 'write', dataset: { testid: 'rollback' }, disabled: state.previous === null, onclick: () => { void ctx.rollback() } },
      state.previous === null ? 'Roll back' : `Roll back to v${state.previous.version} (${colors.map((c) => `${c} ${format(state.previous.weights[c] ?? 0)}`).join(', ')})…`))
}
