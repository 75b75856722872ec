/**
 * The dashboard page on the admin listener: `GET /ui` and its static files (read once from
 * the package's src/admin/ui/ when the server is built), served with a strict
 * Content-Security-Policy (scripts and styles from this origin only, no inline script), plus
 * the page's two small reads: `GET /ui/api/figures` (the recent per-color figures) and
 * `GET /ui/api/whoami` (may this token write?). The page itself and its files need no token
 * (a browser cannot send one when it navigates); everything it shows comes from the token-
 * checked API, called from the page with `Authorization: Bearer`.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import type { IncomingHttpHeaders } from 'node:http'
import { extname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { errorBody, ERRORS } from '../errors.js'
import { sendError } from './admin-errors.js'
import type { FiguresView } from './recent-figures.js'

/** The page's Content-Security-Policy: nothing but this origin's own files and API. */
export const UI_CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

/** Headers on every answer under /ui. */
const UI_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'content-security-policy': UI_CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-resource-policy': 'same-origin',
  'cross-origin-opener-policy': 'same-origin',
  'cache-control': 'no-cache'
})

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png'
}

/** What the dashboard routes need. */
export interface UiDeps {
  /** The recent figures (absent: the figures route answers an empty view). */
  readonly figures?: { view (): FiguresView } | undefined
  /** The colors, for the empty view. */
  readonly colors: readonly string[]
  /** Whether the admin API has tokens (else it is loopback-only and needs none). */
  readonly tokensConfigured: boolean
}

interface Asset {
  readonly body: Buffer | string
  readonly type: string
  readonly status: number
}

/**
 * The folder of the page's files: next to this module (src/admin/ui when run from the
 * sources), or, from the compiled dist/admin/, the package's src/admin/ui (tsc copies no
 * non-TS files, and package.json's "files" ships that folder).
 */
export function uiDirectory (): string {
  const beside = fileURLToPath(new URL('./ui/', import.meta.url))
  if (existsSync(join(beside, 'index.html'))) return beside
  return fileURLToPath(new URL('../../src/admin/ui/', import.meta.url))
}

/**
 * Reads the page's files: URL path (`/ui/app.js`) → body and content type. Without them
 * (an install that left them out) /ui answers SWY_ERR_INTERNAL naming the folder, and the
 * rest of the admin API works on: the page is a convenience, not a reason to stop.
 */
export function loadUiAssets (dir = uiDirectory()): UiAssets {
  const assets = new Map<string, Asset>()
  const names = existsSync(join(dir, 'index.html')) ? readdirSync(dir) : []
  for (const name of names) {
    const type = TYPES[extname(name)]
    if (type === undefined) continue
    assets.set(`/ui/${name}`, { body: readFileSync(join(dir, name)), type, status: 200 })
  }
  const index = assets.get('/ui/index.html') ?? {
    body: JSON.stringify(errorBody('SWY_ERR_INTERNAL', `the dashboard's files are not installed: no index.html in ${dir}`)) + '\n',
    type: 'application/json; charset=utf-8',
    status: ERRORS.SWY_ERR_INTERNAL.status
  }
  assets.set('/ui', index)
  return assets
}

/** The scheme://host:port of a URL, normalised (default ports dropped, lower case); undefined if not a URL. */
function originOf (url: string): string | undefined {
  try {
    const u = new URL(url)
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.origin : undefined
  } catch {
    return undefined
  }
}

/**
 * True for a request the dashboard page made to its own listener: the browser says
 * `Sec-Fetch-Site: same-origin`, and the Origin it sends (on writes) is this listener's own
 * origin as the request's Host names it. Browsers set both headers themselves; a page on any
 * other origin (another port of the same host included) gets `same-site` or `cross-site`.
 * A page on a DNS-rebound name passes this check with its own name as Host: a loopback
 * listener still refuses non-loopback Host names, and any other listener needs a token,
 * which the rebound page does not have (sessionStorage is per origin).
 */
export function fromOwnPage (headers: IncomingHttpHeaders, tls: boolean): boolean {
  if (headers['sec-fetch-site'] !== 'same-origin') return false
  const origin = headers.origin
  if (origin === undefined) return true
  const host = headers.host
  if (host === undefined) return false
  const own = originOf(`${tls ? 'https' : 'http'}://${host}`)
  return own !== undefined && originOf(origin) === own
}

/**
 * True for the page and its files (`/ui`, `/ui/<file>`): the paths that need no token (a
 * browser cannot send one when it loads them). An unknown file is a 404 that says nothing.
 */
export function isUiPagePath (path: string): boolean {
  return path === '/ui' || /^\/ui\/[^/]+$/.test(path)
}

/** The page and its files by URL path. */
export type UiAssets = ReadonlyMap<string, Asset>

/**
 * Registers GET /ui, its files (`assets`, from loadUiAssets) under one `GET /ui/:file` route
 * (so the route table and the OpenAPI document list four routes, not one per file) and /ui/api/*.
 */
export function registerUi (server: FastifyInstance, deps: UiDeps, assets: UiAssets): void {
  const serve = async (request: FastifyRequest, reply: FastifyReply): Promise<unknown> => {
    const path = request.url.split('?', 1)[0] as string
    const asset = assets.get(path)
    if (asset === undefined) {
      return sendError(reply, 'SWY_ERR_ADMIN_NOT_FOUND', `the dashboard has no file ${path}`)
    }
    void reply.code(asset.status).headers(UI_HEADERS).header('content-type', asset.type)
    return asset.body
  }
  server.get('/ui', serve)
  server.get('/ui/:file', serve)
  server.get('/ui/api/figures', async (_request, reply) => {
    void reply.headers(UI_HEADERS)
    return deps.figures?.view() ?? { intervalMs: 1000, windowSeconds: 0, colors: deps.colors, at: [], series: {} }
  })
  server.get('/ui/api/whoami', async (request, reply) => {
    void reply.headers(UI_HEADERS)
    const p = request.principal
    return { name: p?.name ?? null, write: p?.role === 'write', tokenRequired: deps.tokensConfigured }
  })
}
