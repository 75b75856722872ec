/**
 * Maps a failed upstream call (reply-from / undici errors, and their causes) to a coded
 * error and a metric kind, so clients see a stable 502/504 body and operators a fixed label.
 */
import type { ErrorCode } from '../errors.js'
import type { UpstreamErrorKind } from '../metrics/metrics.js'

/** How one upstream failure is reported. */
export interface UpstreamFailure {
  readonly code: ErrorCode
  readonly kind: UpstreamErrorKind
}

const CONNECT: UpstreamFailure = { code: 'SWY_ERR_UPSTREAM_UNREACHABLE', kind: 'connect' }
const TIMEOUT: UpstreamFailure = { code: 'SWY_ERR_UPSTREAM_TIMEOUT', kind: 'timeout' }
const RESET: UpstreamFailure = { code: 'SWY_ERR_UPSTREAM_RESET', kind: 'reset' }
const BAD: UpstreamFailure = { code: 'SWY_ERR_UPSTREAM_BAD_RESPONSE', kind: 'bad_response' }

const BY_CODE: Readonly<Record<string, UpstreamFailure>> = {
  ECONNREFUSED: CONNECT,
  ENOTFOUND: CONNECT,
  EAI_AGAIN: CONNECT,
  EHOSTUNREACH: CONNECT,
  ENETUNREACH: CONNECT,
  UND_ERR_CONNECT_TIMEOUT: TIMEOUT,
  UND_ERR_HEADERS_TIMEOUT: TIMEOUT,
  UND_ERR_BODY_TIMEOUT: TIMEOUT,
  FST_REPLY_FROM_GATEWAY_TIMEOUT: TIMEOUT,
  FST_REPLY_FROM_TIMEOUT: TIMEOUT,
  FST_REPLY_FROM_HTTP_REQUEST_TIMEOUT: TIMEOUT,
  ETIMEDOUT: TIMEOUT,
  ECONNRESET: RESET,
  EPIPE: RESET,
  UND_ERR_SOCKET: RESET,
  UND_ERR_CLOSED: RESET
}

/** Classifies an upstream error by its code or the code of any error in its cause chain. */
export function classifyUpstreamError (error: unknown): UpstreamFailure {
  let e: unknown = error
  for (let depth = 0; depth < 5 && typeof e === 'object' && e !== null; depth++) {
    const code = (e as { code?: unknown }).code
    if (typeof code === 'string') {
      const hit = BY_CODE[code]
      if (hit !== undefined) return hit
    }
    e = (e as { cause?: unknown }).cause
  }
  return BAD
}
