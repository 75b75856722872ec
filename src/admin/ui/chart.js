// Small SVG line charts (no library): one polyline per color over time, a few grid lines
// and labels. A null value breaks the line (no request in that interval).

const NS = 'http://www.w3.org/2000/svg'
const W = 600
const H = 170
const PAD = { left: 52, right: 10, top: 10, bottom: 22 }

function svg (tag, attrs, text) {
  const el = document.createElementNS(NS, tag)
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v))
  if (text !== undefined) el.textContent = text
  return el
}

/** A "nice" upper bound ≥ v for the y axis (1, 2, 2.5, 5 × 10^n). */
function niceMax (v) {
  if (!(v > 0)) return 1
  const p = 10 ** Math.floor(Math.log10(v))
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p
  return 10 * p
}

/**
 * Draws into `container`: `at` (ms, oldest first), `lines` [{ cls, values }] aligned with
 * `at`, `format(v)` for the axis labels, and the window shown (ms, ending at the last point).
 */
export function drawChart (container, { at, lines, format, windowMs, minMax = 0 }) {
  const root = svg('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', preserveAspectRatio: 'none' })
  const end = at.length > 0 ? at[at.length - 1] : Date.now()
  const start = end - windowMs
  let max = minMax
  for (const l of lines) for (let i = 0; i < at.length; i++) if (at[i] >= start && l.values[i] !== null && l.values[i] > max) max = l.values[i]
  max = niceMax(max)
  const x = (t) => PAD.left + (W - PAD.left - PAD.right) * (t - start) / windowMs
  const y = (v) => PAD.top + (H - PAD.top - PAD.bottom) * (1 - v / max)
  for (let k = 0; k <= 4; k++) {
    const v = max * k / 4
    root.append(svg('line', { x1: PAD.left, x2: W - PAD.right, y1: y(v), y2: y(v), class: 'grid' }))
    root.append(svg('text', { x: PAD.left - 6, y: y(v) + 4, class: 'axis', 'text-anchor': 'end' }, format(v)))
  }
  const span = windowMs < 120_000 ? `${Math.round(windowMs / 1000)} s` : `${Math.round(windowMs / 60_000)} min`
  root.append(svg('text', { x: PAD.left, y: H - 6, class: 'axis' }, `−${span}`))
  root.append(svg('text', { x: W - PAD.right, y: H - 6, class: 'axis', 'text-anchor': 'end' }, 'now'))
  for (const l of lines) {
    let points = []
    const flush = () => {
      if (points.length === 1) root.append(svg('circle', { cx: points[0][0], cy: points[0][1], r: 2, class: `dot ${l.cls}` }))
      if (points.length > 1) root.append(svg('polyline', { points: points.map((p) => p.join(',')).join(' '), class: `line ${l.cls}` }))
      points = []
    }
    for (let i = 0; i < at.length; i++) {
      if (at[i] < start) continue
      const v = l.values[i]
      if (v === null || v === undefined) { flush(); continue }
      points.push([x(at[i]).toFixed(1), y(v).toFixed(1)])
    }
    flush()
  }
  container.replaceChildren(root)
}
