/**
 * The data path's fastify server, before any route: the HTTP or HTTPS listener with the
 * client-side limits (request and header timeouts, maxConnections, keep-alive), the answers
 * to what never becomes a request (malformed framing, oversized headers, a client too slow to
 * send its request: our JSON where the socket can still take it), the error handler, and the
 * pass-through body "parser". Nothing here routes or touches an upstream.
 */
import { createServer as createHttpServer, type ServerResponse, type Server } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import type { Socket } from 'node:net'
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'
import type { Config } from '../config/config-types.js'
import { ERRORS, errorBody, rawErrorResponse } from '../errors.js'
import type { TlsMaterial } from '../tls.js'
import { passBody } from './body-limit.js'
import { errorsOnlyLogger } from './upstream-log.js'

/** What the data-path server is built from. */
export interface ListenerOptions {
  readonly proxy: Config['proxy']
  readonly logger: FastifyBaseLogger
  /** Serve HTTPS with this certificate and key; plain HTTP without. */
  readonly tls?: TlsMaterial | undefined
}

/** Builds (does not listen) the data path's fastify server, with no routes yet. */
export function createDataPathServer (opts: ListenerOptions): FastifyInstance {
  const { proxy, logger, tls } = opts
  const requestLogger = errorsOnlyLogger(logger)
  const { requestTimeoutMs, headersTimeoutMs } = proxy
  const serverOptions = {
    requestTimeout: requestTimeoutMs,
    headersTimeout: headersTimeoutMs,
    // Node checks both timeouts on this interval (30 s by default): often enough that a
    // timeout holds within about a second.
    connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(headersTimeoutMs / 4))),
    // fastify's default (it applies it only to servers it creates itself).
    keepAliveTimeout: 72_000
  }
  const server = Fastify({
    loggerInstance: logger,
    logController: new LogController({ disableRequestLogging: true }),
    // Requests are not logged on the data path, so no per-request child logger (a pino
    // child per request showed in the profile); errors still log through the shared child.
    childLoggerFactory: () => requestLogger,
    bodyLimit: proxy.bodyLimit,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    serverFactory: (handler) => {
      const s: Server = tls === undefined
        ? createHttpServer(serverOptions, handler)
        : createHttpsServer({ ...serverOptions, cert: tls.cert, key: tls.key }, handler)
      s.maxConnections = proxy.maxConnections
      return s
    },
    clientErrorHandler: (error: Error & { code?: string }, socket: Socket) => { onClientError(logger, error, socket) }
  })
  server.decorateRequest('swy', null)
  // Bodies are never parsed on the data path: every content type (and none) streams to the
  // upstream byte for byte. fastify's own parsers (JSON, text/plain decoded as UTF-8) go.
  server.removeAllContentTypeParsers()
  server.addContentTypeParser('*', passBody)
  server.setErrorHandler(onRequestError)
  return server
}

/** Parse errors and client-side timeouts: our JSON where the socket can still take a response. */
function onClientError (logger: FastifyBaseLogger, error: Error & { code?: string }, socket: Socket): void {
  logger.debug({ code: error.code }, 'client error on the data path')
  if (error.code === 'ECONNRESET' || socket.destroyed) return
  const pending = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage
  if (socket.writable && (pending === undefined || pending === null || !pending.headersSent)) {
    const timeout = error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
    const code = timeout ? 'SWY_ERR_PROXY_REQUEST_TIMEOUT' : 'SWY_ERR_PROXY_BAD_REQUEST'
    const status = error.code === 'HPE_HEADER_OVERFLOW' ? 431 : ERRORS[code].status
    socket.end(rawErrorResponse(code, status, error.code === 'HPE_HEADER_OVERFLOW' ? 'the request headers are too large' : undefined))
  }
  socket.destroySoon()
}

/** Errors fastify raises for a request (a body over fastify's own limit, a bad request, a bug): coded JSON. */
function onRequestError (error: FastifyError & { statusCode?: number, code?: string }, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const status = error.statusCode ?? 500
  if (status === 413) return reply.code(413).send(errorBody('SWY_ERR_PROXY_BODY_TOO_LARGE'))
  if (status >= 500) request.log.error({ err: error }, 'proxy error')
  return reply.code(status >= 400 ? status : 500).send(status >= 500 ? errorBody('SWY_ERR_INTERNAL') : errorBody('SWY_ERR_PROXY_BAD_REQUEST', error.message))
}
