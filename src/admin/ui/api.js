// The admin API from the page: the bearer token (from the URL fragment or the login form,
// kept in sessionStorage, never in a URL sent to the server) and one fetch wrapper.

const KEY = 'switchyard-token'

/** Moves `#token=…` from the address bar into sessionStorage, then clears the fragment. */
export function takeTokenFromFragment () {
  const m = /(?:^#|&)token=([^&]*)/.exec(window.location.hash)
  if (m === null) return
  sessionStorage.setItem(KEY, decodeURIComponent(m[1]))
  window.history.replaceState(null, '', window.location.pathname + window.location.search)
}

/** The stored token, or null. */
export function token () {
  return sessionStorage.getItem(KEY)
}

/** Stores (or, with null, forgets) the token. */
export function setToken (value) {
  if (value === null) sessionStorage.removeItem(KEY)
  else sessionStorage.setItem(KEY, value)
}

/**
 * Calls the admin API; resolves to `{ status, body }` (body: the parsed JSON or null), or
 * `{ status: 0, body: { error: 'NETWORK', message } }` when the listener cannot be reached.
 */
export async function call (method, path, body) {
  const headers = { accept: 'application/json' }
  const t = token()
  if (t !== null) headers.authorization = `Bearer ${t}`
  if (body !== undefined) headers['content-type'] = 'application/json'
  try {
    const res = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store',
      credentials: 'omit',
      // The page's Referrer-Policy is no-referrer, under which a browser sends `Origin: null`
      // on a POST; the admin API only accepts this listener's own Origin, so say it.
      referrerPolicy: 'same-origin'
    })
    const text = await res.text()
    let json = null
    try { json = text === '' ? null : JSON.parse(text) } catch { json = { error: 'BAD_ANSWER', message: text.slice(0, 200) } }
    return { status: res.status, body: json }
  } catch (e) {
    return { status: 0, body: { error: 'NETWORK', message: `the admin API cannot be reached (${e.message})` } }
  }
}

/** `CODE: message` of an error answer. */
export function describe (answer) {
  const b = answer.body ?? {}
  return `${b.error ?? `HTTP ${answer.status}`}: ${b.message ?? ''}`.trim()
}
