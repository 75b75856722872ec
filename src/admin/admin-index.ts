/**
 * `GET /` on the admin listener: a short index of where to go, so a newcomer who opens the
 * admin URL finds the dashboard, the API description, the state and the metrics instead of a
 * 404. It names routes only (nothing about the state, the targets or the tokens), so it needs
 * no token, like /healthz. JSON by default; HTML (links only, no script) when the client
 * prefers it, e.g. a browser opened on the admin URL.
 */

/** The routes the index links to, with what each is. */
export const ADMIN_INDEX_LINKS: ReadonlyArray<{ readonly href: string, readonly rel: string, readonly title: string }> = [
  { href: '/ui', rel: 'ui', title: 'the live dashboard' },
  { href: '/openapi.json', rel: 'openapi', title: 'the OpenAPI 3.1 description of this API' },
  { href: '/state', rel: 'state', title: 'the routing state (weights, version, previous)' },
  { href: '/rollout', rel: 'rollout', title: 'the current (or last) rollout' },
  { href: '/targets', rel: 'targets', title: 'targets with mode and health' },
  { href: '/history', rel: 'history', title: 'the audit log of changes' },
  { href: '/metrics', rel: 'metrics', title: 'Prometheus metrics' },
  { href: '/readyz', rel: 'readyz', title: 'readiness' }
]

/** The JSON body of GET /. */
export function adminIndex (): Record<string, unknown> {
  return {
    name: 'switchyard admin API',
    links: Object.fromEntries(ADMIN_INDEX_LINKS.map((l) => [l.rel, l.href])),
    docs: 'routes other than /, /healthz, /readyz, /metrics and /openapi.json take Authorization: Bearer <token> when tokens are configured'
  }
}

/** True when an Accept header prefers HTML to JSON (a browser's does; curl's does not). */
export function prefersHtml (accept: string | undefined): boolean {
  if (accept === undefined) return false
  const html = accept.indexOf('text/html')
  if (html < 0) return false
  const json = accept.indexOf('application/json')
  return json < 0 || html < json
}

/** The HTML body of GET / (links only). */
export function adminIndexHtml (): string {
  const items = ADMIN_INDEX_LINKS.map((l) => `<li><a href="${l.href}">${l.href}</a> ${l.title}</li>`).join('\n')
  return `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>switchyard admin</title></head>\n<body><h1>switchyard admin API</h1>\n<ul>\n${items}\n</ul></body></html>\n`
}
