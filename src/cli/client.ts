/**
 * The admin API client: one JSON request at a time over node:http (or node:https for an
 * https admin URL), with the bearer token when there is one. Failures become CliErrors with
 * the documented exit codes: unreachable or 5xx exit 3, a 4xx exits 1, each as one line
 * with the server's code and message. No framework is loaded, so a command starts fast.
 */
import { readFileSync } from 'node:fs'
import type { IncomingHttpHeaders, IncomingMessage, RequestOptions } from 'node:http'
import { CliError, EXIT, usageError } from './exit.js'

/** The admin API when neither --admin nor $SWITCHYARD_ADMIN_URL says otherwise. */
export const DEFAULT_ADMIN_URL = 'http://127.0.0.1:9090'

/** How long one request may take, beyond any `?wait` it asks the server for. */
const REQUEST_TIMEOUT_MS = 15_000

/** An answer from the admin API. */
export interface Answer {
  readonly status: number
  readonly headers: IncomingHttpHeaders
  /** The parsed JSON body (undefined when the body is not JSON). */
  readonly json: unknown
  readonly text: string
}

/** One request to make. */
export interface Call {
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE'
  /** Path and query, e.g. `/history?limit=5`. */
  readonly path: string
  readonly body?: unknown
  readonly headers?: Readonly<Record<string, string>>
  /** How long the server may take on purpose (a `?wait`), added to the request timeout. */
  readonly waitMs?: number
}

/** The `{ error, message }` of a refusal, or undefined when the body is not one. */
export function errorOf (json: unknown): { readonly code: string, readonly message: string } | undefined {
  if (typeof json !== 'object' || json === null) return undefined
  const { error, message } = json as { error?: unknown, message?: unknown }
  return typeof error === 'string' ? { code: error, message: typeof message === 'string' ? message : '' } : undefined
}

/** Talks to one admin API. */
export class AdminClient {
  /** The admin API's base URL, without a trailing slash. */
  readonly base: string
  readonly #token: string | undefined

  constructor (base: string, token: string | undefined) {
    this.base = base.replace(/\/+$/, '')
    this.#token = token
  }

  /** Sends one request; rejects (exit 3) only when no answer came. */
  async send (call: Call): Promise<Answer> {
    const url = new URL(this.base + call.path)
    const http = url.protocol === 'https:' ? await import('node:https') : await import('node:http')
    const body = call.body === undefined ? undefined : JSON.stringify(call.body)
    const headers: Record<string, string> = { accept: 'application/json', ...call.headers }
    if (body !== undefined) {
      headers['content-type'] = 'application/json'
      // Node frames a DELETE's body only with a length (it does not chunk one by default).
      headers['content-length'] = String(Buffer.byteLength(body))
    }
    if (this.#token !== undefined) headers.authorization = `Bearer ${this.#token}`
    const timeout = REQUEST_TIMEOUT_MS + (call.waitMs ?? 0)
    const options: RequestOptions = { method: call.method, headers, timeout }
    return await new Promise<Answer>((resolve, reject) => {
      const req = http.request(url, options, (res: IncomingMessage) => {
        let text = ''
        res.setEncoding('utf8')
        res.on('data', (d: string) => { text += d })
        res.on('error', (e) => reject(this.#unreachable(e)))
        res.on('end', () => {
          let json: unknown
          try { json = JSON.parse(text) } catch { json = undefined }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, json, text })
        })
      })
      req.on('timeout', () => req.destroy(new Error(`no answer within ${Math.round(timeout / 1000)}s`)))
      req.on('error', (e) => reject(this.#unreachable(e)))
      req.end(body)
    })
  }

  /**
   * Sends one request and returns its answer when it is a success (2xx). A 4xx rejects with
   * exit 1, a 5xx with exit 3, each with the server's code and message.
   */
  async call (call: Call): Promise<Answer> {
    const answer = await this.send(call)
    if (answer.status >= 200 && answer.status < 300) return answer
    throw refusal(call, answer)
  }

  #unreachable (e: Error): CliError {
    return new CliError(EXIT.unreachable, `cannot reach the admin API at ${this.base}: ${e.message} (set --admin URL or $SWITCHYARD_ADMIN_URL)`)
  }
}

/** The CliError for a non-2xx answer: `CODE: message`, exit 1 for 4xx and 3 for 5xx. */
export function refusal (call: Call, answer: Answer): CliError {
  const e = errorOf(answer.json)
  const what = e === undefined ? `HTTP ${answer.status} from ${call.method} ${call.path}` : `${e.code}: ${e.message}`
  return new CliError(answer.status >= 500 || answer.status < 400 ? EXIT.unreachable : EXIT.refused, what)
}

/**
 * The token: `--token-file FILE` (first line, trimmed) when given, else $SWITCHYARD_TOKEN,
 * else none. An unreadable or empty file is a usage error.
 */
export function readToken (tokenFile: string | undefined, env: NodeJS.ProcessEnv): string | undefined {
  if (tokenFile !== undefined) {
    let text: string
    try { text = readFileSync(tokenFile, 'utf8') } catch (e) { throw usageError(`cannot read --token-file ${tokenFile}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`) }
    const token = text.split(/\r?\n/, 1)[0]?.trim() ?? ''
    if (token === '') throw usageError(`--token-file ${tokenFile} is empty`)
    return token
  }
  const fromEnv = env.SWITCHYARD_TOKEN?.trim()
  return fromEnv === undefined || fromEnv === '' ? undefined : fromEnv
}

/** The admin URL from --admin, else $SWITCHYARD_ADMIN_URL, else the default; must be http(s). */
export function adminUrl (flagValue: string | undefined, env: NodeJS.ProcessEnv): string {
  const raw = flagValue ?? (env.SWITCHYARD_ADMIN_URL === undefined || env.SWITCHYARD_ADMIN_URL === '' ? DEFAULT_ADMIN_URL : env.SWITCHYARD_ADMIN_URL)
  let url: URL
  try { url = new URL(raw) } catch { throw usageError(`the admin URL "${raw}" is not a URL (e.g. http://127.0.0.1:9090)`) }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw usageError(`the admin URL "${raw}" must be http:// or https://`)
  if (url.search !== '' || url.hash !== '') throw usageError(`the admin URL "${raw}" must not have a query or fragment`)
  return url.href
}
