/**
 * How the admin API answers a failure that is not a route's own answer: fastify's schema
 * validation, its body parser and router, and anything thrown. Each kind of 400 has its own
 * row here, so no failure is reported as another (a schema failure is never "not valid
 * JSON"); a client error it does not know is said as it is, and anything else is a 500
 * SWY_ERR_INTERNAL, logged.
 */
import type { FastifyReply } from 'fastify'
import { errorBody, ERRORS, PROBLEM_ERRORS, type ErrorCode } from '../errors.js'
import type { Problem } from '../routing/types.js'

/** What the admin API answers for a failure: a code of the error table and a message. */
export interface AdminFailure {
  readonly code: ErrorCode
  readonly message: string
}

/** The fields of a fastify (or thrown) error that decide the answer. */
export interface FailureLike {
  readonly name?: string
  readonly message: string
  readonly code?: string
  readonly statusCode?: number
  readonly validation?: unknown
  readonly validationContext?: string
}

/**
 * The answer for a failure, or undefined when it is not a client's fault (the caller logs
 * it and answers 500 SWY_ERR_INTERNAL).
 * @param bodyLimit admin.bodyLimit, named in the body-too-large message
 */
export function adminFailure (error: FailureLike, bodyLimit: number): AdminFailure | undefined {
  if (error.validation !== undefined) {
    // The schema's own message (fastify's, e.g. "body/weights/green must be number"), all
    // problems listed. Path parameters are part of what the caller sends with a write, so a
    // bad one is an invalid body, as it always was.
    const message = Array.isArray(error.validation) && error.validation.length > 0
      ? validationMessage(error.validationContext ?? 'body', error.validation as readonly SchemaError[])
      : error.message
    return { code: error.validationContext === 'querystring' ? 'SWY_ERR_ADMIN_INVALID_QUERY' : 'SWY_ERR_ADMIN_INVALID_BODY', message }
  }
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { code: 'SWY_ERR_ADMIN_BODY_TOO_LARGE', message: `the request body is larger than ${bodyLimit} bytes (admin.bodyLimit)` }
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { code: 'SWY_ERR_ADMIN_UNSUPPORTED_MEDIA_TYPE', message: 'send the body as application/json' }
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return { code: 'SWY_ERR_ADMIN_INVALID_BODY', message: 'the request body is empty; send a JSON object' }
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      // fastify's parser also refuses __proto__ and constructor keys here (prototype poisoning).
      return { code: 'SWY_ERR_ADMIN_INVALID_BODY', message: `the request body is not valid JSON: ${error.message}` }
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return { code: 'SWY_ERR_ADMIN_INVALID_BODY', message: 'the request body is not as long as its Content-Length says' }
    case 'FST_ERR_BAD_URL':
      return { code: 'SWY_ERR_ADMIN_INVALID_PATH', message: `the request path is not valid: ${error.message}` }
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return { code: 'SWY_ERR_ADMIN_INVALID_PATH', message: 'a segment of the request path is too long (at most 100 characters)' }
    case undefined: default: break
  }
  if (error.code !== undefined && error.code in ERRORS) {
    // A SwitchyardError thrown by a route or the switchboard, answered as itself when it is
    // the caller's to act on; other 5xx are logged and answered as SWY_ERR_INTERNAL.
    const code = error.code as ErrorCode
    if (ERRORS[code].status < 500 || code === 'SWY_ERR_STORE_UNAVAILABLE' || code === 'SWY_ERR_STORE_CORRUPT') return { code, message: error.message }
    return undefined
  }
  if (typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500) {
    // The body stream failed while it was read (e.g. the client reset the connection), or a
    // client error of a fastify release newer than this table: said as it is, not as JSON.
    const what = (error.code ?? '').startsWith('FST_') ? 'the request was refused' : 'the request body could not be read'
    return { code: 'SWY_ERR_ADMIN_INVALID_BODY', message: `${what}: ${error.message}` }
  }
  return undefined
}

/** The fields of an Ajv error the messages use (`parentSchema` when Ajv runs with `verbose`). */
export interface SchemaError {
  readonly instancePath?: string
  readonly keyword?: string
  readonly message?: string
  readonly params?: Readonly<Record<string, unknown>>
  readonly parentSchema?: unknown
}

/** Query strings are strings matched by a pattern: what their pattern means, said in words. */
const QUERY_RULES: Readonly<Record<string, string>> = {
  '/limit': 'limit must be 1..1000',
  '/wait': 'wait must be 0..60000 (milliseconds)'
}

/**
 * Ajv's errors as one message, every problem listed, each with where it is (as fastify says
 * them, e.g. "body/weights/green must be number"), except two that read badly: an unknown
 * property is named (with the ones allowed there), and a query pattern is said in words.
 */
export function validationMessage (context: string, errors: readonly SchemaError[]): string {
  return errors.map((e) => {
    const path = e.instancePath ?? ''
    if (e.keyword === 'additionalProperties' && typeof e.params?.additionalProperty === 'string') {
      const allowed = allowedProperties(e.parentSchema)
      return `${context}${path} has an unknown property "${e.params.additionalProperty}"${allowed.length > 0 ? ` (allowed: ${allowed.join(', ')})` : ''}`
    }
    if (e.keyword === 'pattern' && context === 'querystring' && Object.hasOwn(QUERY_RULES, path)) return QUERY_RULES[path] as string
    return `${context}${path} ${e.message ?? 'is not valid'}`
  }).join(', ')
}

function allowedProperties (schema: unknown): string[] {
  if (typeof schema !== 'object' || schema === null) return []
  const props = (schema as { properties?: unknown }).properties
  return typeof props === 'object' && props !== null ? Object.keys(props) : []
}

/** The code of a problem the routing core reported (PROBLEM_ERRORS, never `SWY_ERR_${code}`). */
export function problemCode (problem: Problem): ErrorCode {
  return PROBLEM_ERRORS[problem.code]
}

/** Answers `{ error, message }` with the code's status (the message: the table's, unless given). */
export function sendError (reply: FastifyReply, code: ErrorCode, message?: string): FastifyReply {
  return reply.code(ERRORS[code].status).send(errorBody(code, message))
}
