// Building DOM nodes from data: text always goes in as text nodes (never as HTML), so
// nothing the API returns (reasons, names) can become markup.

/** Creates an element: `h('td', { class: 'x', dataset: { testid: 'y' } }, 'text', child)`. */
export function h (tag, attrs = {}, ...children) {
  const el = document.createElement(tag)
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue
    if (k === 'class') el.className = v
    else if (k === 'dataset') Object.assign(el.dataset, v)
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v)
    else if (v === true) el.setAttribute(k, '')
    else el.setAttribute(k, String(v))
  }
  append(el, children)
  return el
}

function append (el, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue
    if (Array.isArray(c)) append(el, c)
    else el.append(c instanceof window.Node ? c : document.createTextNode(String(c)))
  }
}

/** Replaces an element's children. */
export function fill (el, ...children) {
  el.replaceChildren()
  append(el, children)
}

/** "12 s ago", "3 min ago", or the date. */
export function ago (iso, now = Date.now()) {
  const ms = now - Date.parse(iso)
  if (!Number.isFinite(ms)) return ''
  if (ms < 60_000) return `${Math.max(0, Math.round(ms / 1000))} s ago`
  if (ms < 3_600_000) return `${Math.round(ms / 60_000)} min ago`
  if (ms < 86_400_000) return `${Math.round(ms / 3_600_000)} h ago`
  return new Date(iso).toISOString().slice(0, 16).replace('T', ' ')
}

/** The CSS class of a color by its position (the palette is in style.css). */
export function colorClass (colors, name) {
  const i = colors.indexOf(name)
  return `c${i < 0 ? 'x' : i % 6}`
}
