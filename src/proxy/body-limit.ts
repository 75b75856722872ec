/**
 * Request bodies on the data path: never parsed, streamed to the upstream byte for byte, and
 * counted against proxy.bodyLimit. A body with a Content-Length is checked before routing
 * (Node's parser stops at the length); a chunked one is piped through a BodyLimit that fails
 * past the limit, so the upstream call is aborted before the excess is sent. Whether a body
 * was touched decides whether a failed request can be sent again (a retry) and whether its
 * connection must close after our answer (an unread body cannot be skipped).
 */
import type { IncomingMessage } from 'node:http'
import { Transform, type TransformCallback } from 'node:stream'
import type { FastifyRequest } from 'fastify'
import { FAULT_CLIENT_GONE, FAULT_TOO_LARGE, type Exchange } from './exchange.js'

/** Thrown into the upstream body stream when the client's body passes proxy.bodyLimit. */
class BodyTooLargeError extends Error {
  readonly code = 'SWY_BODY_TOO_LARGE'
}

/**
 * Counts a streamed (chunked) body on its way upstream: past `limit` bytes it fails (and
 * marks its exchange FAULT_TOO_LARGE), so the upstream request is aborted before the excess
 * is sent.
 */
class BodyLimit extends Transform {
  #seen = 0
  readonly #limit: number
  readonly exchange: Exchange

  constructor (limit: number, exchange: Exchange) {
    super()
    this.#limit = limit
    this.exchange = exchange
  }

  override _transform (chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#seen += chunk.length
    if (this.#seen > this.#limit) {
      this.exchange.fault = FAULT_TOO_LARGE
      callback(new BodyTooLargeError('the request body is larger than proxy.bodyLimit'))
    } else {
      callback(null, chunk)
    }
  }
}

/** The client's request stream's link to the BodyLimit counting it. */
const kLimit = Symbol('switchyard.bodyLimit')
type TaggedMessage = IncomingMessage & { [kLimit]?: BodyLimit | undefined }

/**
 * Puts a chunked request body behind a BodyLimit of `limit` bytes: the request's body becomes
 * the counted stream. A body with a Content-Length, or one already replaced, is left alone.
 */
export function limitStreamedBody (request: FastifyRequest, ex: Exchange, limit: number): void {
  const headers = request.headers
  if (headers['content-length'] !== undefined || headers['transfer-encoding'] === undefined || request.body !== request.raw) return
  const counted = new BodyLimit(limit, ex)
  // Its error (too large, client gone) may come before undici listens (a pipelined request
  // not dispatched yet): never an uncaught 'error'.
  counted.on('error', ignore)
  const source = request.raw as TaggedMessage
  source[kLimit] = counted
  source.on('close', onBodySourceClose)
  source.pipe(counted)
  request.body = counted
}

/** The client's request closed: if its body had not fully arrived, end the counted body with an error. */
function onBodySourceClose (this: TaggedMessage): void {
  const limit = this[kLimit]
  if (limit === undefined) return
  this[kLimit] = undefined
  if (!this.complete && !limit.destroyed) {
    limit.exchange.fault = FAULT_CLIENT_GONE
    limit.destroy(new Error('the client closed the request before its body arrived'))
  }
}

/** A listener that only marks an error as handled (the exchange's fault says what happened). */
function ignore (): void {}

/** True when the request has no body, or its body stream was neither read nor torn down (it can be sent again). */
export function bodyUntouched (request: FastifyRequest): boolean {
  const body = request.body as (NodeJS.ReadableStream & { destroyed?: boolean, readableDidRead?: boolean }) | undefined | null
  if (body === undefined || body === null) return true
  return body.destroyed === false && body.readableDidRead === false
}

/** True when the request has no body stream or it has ended. */
export function bodyDone (request: FastifyRequest): boolean {
  const body = request.body as { readableEnded?: boolean } | undefined | null
  return body === undefined || body === null || body.readableEnded !== false
}

/** The data path's only body "parser" (for every content type): the raw request stream, untouched. */
export function passBody (_request: FastifyRequest, payload: IncomingMessage, done: (err: Error | null, body?: unknown) => void): void {
  done(null, payload)
}
