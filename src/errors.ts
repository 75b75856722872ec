/**
 * Every error switchyard reports, in one table: a stable code (the API operators script
 * against), an HTTP status and a message. Edges (admin routes, the proxy, config loading)
 * turn failures into these; test/errors.test.ts keeps this table and docs/errors.md in step.
 */

import type { ProblemCode } from './routing/types.js'

/** One row of the error table. */
export interface ErrorDef {
  readonly status: number
  readonly message: string
}

/** The error table. Codes are API: extend, never rename. */
export const ERRORS = {
  SWY_ERR_ADMIN_INVALID_BODY: { status: 400, message: 'the request body is not valid' },
  SWY_ERR_ADMIN_BODY_TOO_LARGE: { status: 400, message: 'the request body is larger than admin.bodyLimit' },
  SWY_ERR_ADMIN_UNSUPPORTED_MEDIA_TYPE: { status: 400, message: 'the request body must be JSON (content-type: application/json)' },
  SWY_ERR_ADMIN_INVALID_IF_MATCH: { status: 400, message: 'If-Match must be a quoted state version, e.g. "12"' },
  SWY_ERR_ADMIN_INVALID_QUERY: { status: 400, message: 'the query string is not valid' },
  SWY_ERR_ADMIN_INVALID_PATH: { status: 400, message: 'the request path is not valid (bad percent-encoding, or a segment over 100 characters)' },
  SWY_ERR_ADMIN_BAD_REQUEST: { status: 400, message: 'the request is not valid HTTP/1.1 (unknown method, bad header line, or headers too large)' },
  SWY_ERR_ADMIN_NOT_FOUND: { status: 404, message: 'no such admin route' },
  SWY_ERR_ADMIN_CROSS_ORIGIN: { status: 403, message: 'the admin API does not answer browsers (Origin or Sec-Fetch-Site present) or non-loopback Host names on a loopback listener' },
  SWY_ERR_AUTH_MISSING_TOKEN: { status: 401, message: 'a bearer token is required' },
  SWY_ERR_AUTH_INVALID_TOKEN: { status: 401, message: 'the bearer token is not valid' },
  SWY_ERR_AUTH_FORBIDDEN: { status: 403, message: 'this token may not make changes' },
  SWY_ERR_WEIGHTS_SUM: { status: 400, message: 'weights must sum to 100' },
  SWY_ERR_WEIGHTS_PRECISION: { status: 400, message: 'weights take at most two decimals' },
  SWY_ERR_WEIGHTS_RANGE: { status: 400, message: 'a weight must be from 0 to 100' },
  SWY_ERR_UNKNOWN_COLOR: { status: 400, message: 'no such color' },
  SWY_ERR_COLOR_NOT_FOUND: { status: 404, message: 'the path names no configured color' },
  SWY_ERR_UNKNOWN_TARGET: { status: 404, message: 'no such target in that color' },
  SWY_ERR_TARGET_EXISTS: { status: 409, message: 'that color already has a target with this id or this URL' },
  SWY_ERR_TARGET_INVALID_URL: { status: 400, message: 'a target URL must be an http(s) origin: scheme, host and port, no path, query or credentials' },
  SWY_ERR_FLEET_MIXED: { status: 409, message: 'a live instance runs a switchyard release without target pools: a state it writes would drop the pool; upgrade it first, or send force' },
  SWY_ERR_TARGET_LAST_USABLE: { status: 409, message: 'this is the last usable target of a color that has traffic; send force to remove it anyway' },
  SWY_ERR_TARGET_UNHEALTHY: { status: 409, message: 'the color has no healthy target; send force: true to flip anyway' },
  SWY_ERR_NOTHING_TO_ROLL_BACK: { status: 409, message: 'there is no earlier state to roll back to' },
  SWY_ERR_ROLLOUT_ACTIVE: { status: 409, message: 'a rollout is active; pause, promote or abort it, or send "force": true to abort it and make this change' },
  SWY_ERR_NO_ROLLOUT: { status: 404, message: 'there has never been a rollout' },
  SWY_ERR_ROLLOUT_NOT_ACTIVE: { status: 409, message: 'the rollout has ended; start a new one' },
  SWY_ERR_ROLLOUT_PHASE: { status: 409, message: 'the rollout is not in a phase that allows this action' },
  SWY_ERR_ROLLOUT_INVALID: { status: 400, message: 'the rollout is not valid' },
  SWY_ERR_STATE_VERSION_CONFLICT: { status: 412, message: 'the state changed since the version given in If-Match' },
  SWY_ERR_STORE_UNAVAILABLE: { status: 503, message: 'the state store is unreachable; routing continues on the last state' },
  SWY_ERR_INTERNAL: { status: 500, message: 'internal error' },
  SWY_ERR_PROXY_BODY_TOO_LARGE: { status: 413, message: 'the request body is larger than proxy.bodyLimit' },
  SWY_ERR_PROXY_BAD_REQUEST: { status: 400, message: 'the request cannot be proxied' },
  SWY_ERR_PROXY_REQUEST_TIMEOUT: { status: 408, message: 'the request did not arrive within proxy.requestTimeoutMs (headers within proxy.headersTimeoutMs)' },
  SWY_ERR_NO_HEALTHY_UPSTREAM: { status: 503, message: 'no upstream can serve this request' },
  SWY_ERR_UPSTREAM_UNREACHABLE: { status: 502, message: 'the upstream could not be reached' },
  SWY_ERR_UPSTREAM_RESET: { status: 502, message: 'the upstream closed the connection' },
  SWY_ERR_UPSTREAM_BAD_RESPONSE: { status: 502, message: 'the upstream sent an invalid response' },
  SWY_ERR_UPSTREAM_TIMEOUT: { status: 504, message: 'the upstream did not answer in time' },
  SWY_ERR_CONFIG_INVALID: { status: 500, message: 'the configuration is not valid' },
  SWY_ERR_RELOAD_INVALID: { status: 400, message: 'the config file is not valid; nothing was reloaded and the running config stays' },
  SWY_ERR_RELOAD_NOT_LIVE: { status: 409, message: 'the config file changes settings that need a restart; nothing was reloaded and the running config stays' },
  SWY_ERR_STORE_CORRUPT: { status: 500, message: 'the stored state cannot be read' }
} as const satisfies Record<string, ErrorDef>

/** A stable error code. */
export type ErrorCode = keyof typeof ERRORS

/** The JSON body of every error response. */
export interface ErrorBody {
  readonly error: ErrorCode
  readonly message: string
}

/** An error carrying a code from the table; thrown only at the edges. */
export class SwitchyardError extends Error {
  readonly code: ErrorCode
  readonly statusCode: number

  constructor (code: ErrorCode, message?: string) {
    super(message ?? ERRORS[code].message)
    this.name = 'SwitchyardError'
    this.code = code
    this.statusCode = ERRORS[code].status
  }
}

/** The body for a code, with an optional specific message. */
export function errorBody (code: ErrorCode, message?: string): ErrorBody {
  return { error: code, message: message ?? ERRORS[code].message }
}

/**
 * The code of each problem the pure routing core reports (src/routing/types.ts). A table, not
 * `SWY_ERR_${code}`, so every code in use can be found by name and the compiler checks both sides.
 */
export const PROBLEM_ERRORS: { readonly [P in ProblemCode]: ErrorCode } = Object.freeze({
  WEIGHTS_SUM: 'SWY_ERR_WEIGHTS_SUM',
  WEIGHTS_PRECISION: 'SWY_ERR_WEIGHTS_PRECISION',
  WEIGHTS_RANGE: 'SWY_ERR_WEIGHTS_RANGE',
  UNKNOWN_COLOR: 'SWY_ERR_UNKNOWN_COLOR',
  NOTHING_TO_ROLL_BACK: 'SWY_ERR_NOTHING_TO_ROLL_BACK',
  TARGET_EXISTS: 'SWY_ERR_TARGET_EXISTS',
  UNKNOWN_TARGET: 'SWY_ERR_UNKNOWN_TARGET'
})

/**
 * A whole HTTP/1.1 error response as text, for listeners' client-error handlers (a request
 * Node's parser refused, or a client-side timeout), where there is no reply object, only
 * the socket. Always `Connection: close`: the connection's framing cannot be trusted.
 */
export function rawErrorResponse (code: ErrorCode, status: number = ERRORS[code].status, message?: string): string {
  const body = JSON.stringify(errorBody(code, message))
  return `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Error'}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`
}

const STATUS_TEXT: Readonly<Record<number, string>> = { 400: 'Bad Request', 408: 'Request Timeout', 431: 'Request Header Fields Too Large' }
