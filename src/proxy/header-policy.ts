/**
 * The data path's header policy, both directions, in one place: which headers a client may
 * not pass to an upstream and why, which headers of an upstream's response never reach the
 * client, and the forwarding headers the proxy sets itself. Used by the HTTP path and the
 * WebSocket upgrade path.
 *
 * Why this is ours and not the HTTP client library's: undici 7 throws in its Request
 * constructor on `connection` values it does not like, `keep-alive`, `upgrade`,
 * `transfer-encoding` and `expect` (lib/core/request.js processHeader). The throw happens
 * inside Client.dispatch, which then returns false; undici's Pool reads false as "this
 * connection is busy" and marks it as needing a drain that never comes, so after
 * `upstream.connections` such requests every request to that origin queues forever (a
 * wedge). Reply-from strips only `connection`, `transfer-encoding` and Connection-listed
 * names. So nothing refusable may ever reach undici: the policy removes what must not be
 * forwarded, and a request carrying a value undici would still refuse is answered 400 by us
 * before any upstream is touched (see `refusal`).
 */
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http'

/** Request headers never forwarded, with the reason for each. */
export const REQUEST_REMOVED: Readonly<Record<string, string>> = Object.freeze({
  connection: 'hop-by-hop (RFC 9110 §7.6.1): describes the client\'s connection to us; undici refuses some values',
  'keep-alive': 'hop-by-hop (RFC 9110 §7.6.1); undici refuses it (the wedge)',
  'proxy-connection': 'hop-by-hop in practice (non-standard Connection for proxies)',
  te: 'hop-by-hop (RFC 9110 §7.6.1): transfer codings the client accepts from us',
  trailer: 'hop-by-hop (RFC 9110 §7.6.1): announces trailers of the client\'s chunked framing',
  'transfer-encoding': 'hop-by-hop (RFC 9110 §7.6.1): framing is redone on the upstream connection; undici refuses it',
  upgrade: 'hop-by-hop (RFC 9110 §7.6.1); WebSocket upgrades take the upgrade path; undici refuses it (the wedge)',
  'proxy-authorization': 'credentials meant for a proxy, never for the upstream',
  'proxy-authenticate': 'a proxy challenge, never sent by a client to an upstream',
  expect: 'Node answers 100 Continue to the client itself (other expectations get 417 from Node); undici refuses it (the wedge)',
  'http2-settings': 'belongs to an h2c upgrade, which the proxy does not forward'
})

/** Forwarding headers a client may not choose unless `proxy.trustForwarded` (the proxy sets its own). */
export const FORWARDING_REMOVED: Readonly<Record<string, string>> = Object.freeze({
  forwarded: 'client-chosen forwarding information (RFC 7239) is not trusted',
  'x-forwarded-for': 'set by the proxy to the client address',
  'x-forwarded-host': 'set by the proxy to the request\'s Host',
  'x-forwarded-proto': 'set by the proxy to the listener\'s scheme',
  'x-forwarded-port': 'client-chosen forwarding information is not trusted',
  'x-forwarded-prefix': 'client-chosen forwarding information is not trusted',
  'x-real-ip': 'client-chosen address headers are not trusted',
  'x-client-ip': 'client-chosen address headers are not trusted',
  'true-client-ip': 'client-chosen address headers are not trusted'
})

/** Response headers never forwarded to the client, with the reason for each. */
export const RESPONSE_REMOVED: Readonly<Record<string, string>> = Object.freeze({
  connection: 'hop-by-hop (RFC 9110 §7.6.1): describes the upstream connection',
  'keep-alive': 'hop-by-hop (RFC 9110 §7.6.1): the upstream connection\'s keep-alive',
  'proxy-connection': 'hop-by-hop in practice',
  te: 'hop-by-hop (RFC 9110 §7.6.1)',
  trailer: 'hop-by-hop (RFC 9110 §7.6.1): the response is reframed by Node',
  'transfer-encoding': 'hop-by-hop (RFC 9110 §7.6.1): the response is reframed by Node',
  upgrade: 'hop-by-hop (RFC 9110 §7.6.1)',
  'proxy-authenticate': 'hop-by-hop (RFC 9110 §11.7.1): a challenge from a proxy behind us'
})

/** The response headers' removed names, as an array read on every answer. */
const RESPONSE_NAMES: readonly string[] = Object.freeze(Object.keys(RESPONSE_REMOVED))

/** Names a Connection header may not remove: the framing and target Node already parsed. */
const PROTECTED: Readonly<Record<string, 1>> = Object.assign(Object.create(null) as Record<string, 1>, {
  host: 1, 'content-length': 1, 'content-type': 1
} as const)

/** The policy's settings. */
export interface HeaderPolicyOptions {
  /** The override header (lower case), never forwarded. */
  readonly overrideHeader: string
  /** Keep (and append to) the client's forwarding headers. */
  readonly trustForwarded: boolean
  /** The data listener serves TLS (x-forwarded-proto https). */
  readonly tls: boolean
}

/**
 * CGI-style upstreams (PHP-FPM, WSGI, nginx with underscores_in_headers) read `X_Forwarded_For`
 * and `X-Forwarded-For` as the same variable, so a removed name spelled with underscores is
 * removed too (nginx drops every underscore name by default for this reason).
 */
const UNDERSCORES = /_/g

/** undici's (and Node's) test for a header value it refuses. */
const BAD_VALUE = /[^\t\x20-\x7e\x80-\xff]/

function lookup (names: readonly string[]): Readonly<Record<string, 1>> {
  const out = Object.create(null) as Record<string, 1>
  for (const n of names) out[n] = 1
  return out
}

/** The header policy of one data path (compiled once). */
export class HeaderPolicy {
  readonly #drop: Readonly<Record<string, 1>>
  readonly #responseDrop: Readonly<Record<string, 1>>
  readonly #trust: boolean
  readonly #proto: string

  constructor (opts: HeaderPolicyOptions) {
    const names = [...Object.keys(REQUEST_REMOVED), opts.overrideHeader.toLowerCase()]
    if (!opts.trustForwarded) names.push(...Object.keys(FORWARDING_REMOVED))
    this.#drop = lookup(names)
    this.#responseDrop = lookup(RESPONSE_NAMES)
    this.#trust = opts.trustForwarded
    this.#proto = opts.tls ? 'https' : 'http'
  }

  /**
   * Why undici would refuse this request's headers after the policy, or undefined when it
   * would not. Node's parser already rejects bad names and values; checked here anyway so
   * the promise "never a refused request on an undici connection" does not rest on it.
   */
  refusal (headers: IncomingHttpHeaders): string | undefined {
    const drop = this.#drop
    for (const k in headers) {
      if (drop[k] === 1) continue
      const v = headers[k]
      if (typeof v === 'string') {
        if (BAD_VALUE.test(v)) return `the ${k} header has a character that cannot be forwarded`
      } else if (Array.isArray(v)) {
        for (let i = 0; i < v.length; i++) if (BAD_VALUE.test(v[i] as string)) return `the ${k} header has a character that cannot be forwarded`
      }
    }
    return undefined
  }

  /**
   * The headers to send upstream for a request: the client's, minus what the policy removes
   * (and what its Connection header lists), plus the forwarding headers.
   * @param host the upstream's host (reply-from's), sent as Host
   * @param ip the client's address
   */
  request (src: IncomingHttpHeaders, host: string | undefined, ip: string): IncomingHttpHeaders {
    const drop = this.#drop
    const out: IncomingHttpHeaders = {}
    for (const k in src) {
      if (drop[k] !== 1 && (k.indexOf('_') < 0 || drop[k.replace(UNDERSCORES, '-')] !== 1)) out[k] = src[k]
    }
    const listed = src.connection
    if (listed !== undefined) stripListed(out, listed, false)
    if (host !== undefined) out.host = host
    this.#forwarding(src, out, ip)
    return out
  }

  /** The headers for a WebSocket upgrade to the upstream (the ws client makes its own handshake headers). */
  websocket (src: IncomingHttpHeaders, ip: string): IncomingHttpHeaders {
    const out: IncomingHttpHeaders = {}
    if (this.#trust) {
      for (const k of Object.keys(FORWARDING_REMOVED)) if (src[k] !== undefined) out[k] = src[k]
    }
    this.#forwarding(src, out, ip)
    if (src.cookie !== undefined) out.cookie = src.cookie
    return out
  }

  #forwarding (src: IncomingHttpHeaders, out: IncomingHttpHeaders, ip: string): void {
    const trust = this.#trust
    const prior = trust ? src['x-forwarded-for'] : undefined
    out['x-forwarded-for'] = typeof prior === 'string' && prior !== '' ? `${prior}, ${ip}` : ip
    if (!trust || out['x-forwarded-proto'] === undefined) out['x-forwarded-proto'] = this.#proto
    if (!trust || out['x-forwarded-host'] === undefined) {
      const h = src.host
      if (h !== undefined) out['x-forwarded-host'] = h
    }
  }

  /**
   * The response headers the client gets: `headers` itself when none of the removed names is
   * there, else a copy without them (and without what its Connection header lists). A copy,
   * not `delete`: deleting a property that is not the last one added turns the object into
   * a dictionary, which cost ≈ 0.9 µs an answer from an upstream sending Connection and
   * Keep-Alive (bench:profile; a copy of the same headers ≈ 0.1 µs).
   */
  forClient<H extends OutgoingHttpHeaders | IncomingHttpHeaders> (headers: H): H {
    const names = RESPONSE_NAMES
    let i = 0
    while (i < names.length && !((names[i] as string) in headers)) i++
    if (i === names.length) return headers
    const drop = this.#responseDrop
    const out: OutgoingHttpHeaders = {}
    for (const k in headers) if (drop[k] !== 1) out[k] = headers[k]
    const listed = headers.connection
    if (typeof listed === 'string') stripListed(out, listed, true)
    else if (Array.isArray(listed)) for (const l of listed) stripListed(out, String(l), true)
    return out as unknown as H
  }

  /**
   * Removes, in place, the response headers that never reach the client (deleted: fastify
   * would send an undefined value as an empty header).
   */
  response (headers: OutgoingHttpHeaders | IncomingHttpHeaders): void {
    const listed = headers.connection
    // The eight removed names are looked up, not the upstream's headers enumerated: a for-in
    // over every response header cost ≈ 0.8 µs a request (bench:profile). Same result: the
    // keys of undici's and Node's header objects are lower case, as the names are.
    const names = RESPONSE_NAMES
    for (let i = 0; i < names.length; i++) {
      const k = names[i] as string
      if (k in headers) delete headers[k]
    }
    if (typeof listed === 'string') stripListed(headers, listed, true)
    else if (Array.isArray(listed)) for (const l of listed) stripListed(headers, String(l), true)
  }
}

/**
 * Removes every header a Connection value lists: on a request copy by setting it undefined
 * (undici skips undefined values; `delete` would turn the object into a slow dictionary), on
 * a response by deleting it. The common values (keep-alive, close) cost no allocation.
 */
function stripListed (out: IncomingHttpHeaders | OutgoingHttpHeaders, listed: string, remove: boolean): void {
  let start = 0
  const n = listed.length
  while (start < n) {
    let end = listed.indexOf(',', start)
    if (end < 0) end = n
    let a = start
    let b = end
    while (a < b && (listed.charCodeAt(a) === 32 || listed.charCodeAt(a) === 9)) a++
    while (b > a && (listed.charCodeAt(b - 1) === 32 || listed.charCodeAt(b - 1) === 9)) b--
    if (b > a && !isCommon(listed, a, b)) {
      const name = listed.slice(a, b).toLowerCase()
      if (PROTECTED[name] !== 1 && out[name] !== undefined) {
        if (remove) delete out[name]
        else out[name] = undefined
      }
    }
    start = end + 1
  }
}

/** keep-alive or close (any case): nothing to strip. */
function isCommon (s: string, a: number, b: number): boolean {
  const len = b - a
  return (len === 5 && equalsLower(s, a, 'close')) || (len === 10 && equalsLower(s, a, 'keep-alive'))
}

/** s[a, a + lit.length) equals the lower-case `lit`, ignoring ASCII case; no allocation. */
function equalsLower (s: string, a: number, lit: string): boolean {
  for (let i = 0; i < lit.length; i++) {
    let c = s.charCodeAt(a + i)
    if (c >= 65 && c <= 90) c += 32
    if (c !== lit.charCodeAt(i)) return false
  }
  return true
}
