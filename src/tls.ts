/**
 * TLS material for the data and admin listeners: `{ cert, key }` PEM paths from the config,
 * read once at start. A missing or unreadable file is a config problem, so the start stops
 * naming the key and the file (never the file's contents).
 */
import { readFileSync } from 'node:fs'
import { SwitchyardError } from './errors.js'

/** PEM paths as configured (listen.tls, admin.listen.tls). */
export interface TlsPaths {
  readonly cert: string
  readonly key: string
}

/** The PEM contents, ready for https.createServer. */
export interface TlsMaterial {
  readonly cert: Buffer
  readonly key: Buffer
}

/**
 * Reads a listener's certificate and key; each file that cannot be read adds a problem.
 * @param where the config key, e.g. `listen.tls`
 */
export function readTls (paths: TlsPaths | undefined, where: string, problems: string[]): TlsMaterial | undefined {
  if (paths === undefined) return undefined
  const cert = readPem(paths.cert, `${where}.cert`, problems)
  const key = readPem(paths.key, `${where}.key`, problems)
  return cert === undefined || key === undefined ? undefined : { cert, key }
}

/** readTls for one listener, throwing SWY_ERR_CONFIG_INVALID with the problems. */
export function loadTls (paths: TlsPaths | undefined, where: string): TlsMaterial | undefined {
  const problems: string[] = []
  const material = readTls(paths, where, problems)
  if (problems.length > 0) throw tlsError(problems)
  return material
}

/** The start-stopping error for TLS problems, in the config loader's format. */
export function tlsError (problems: readonly string[]): SwitchyardError {
  return new SwitchyardError('SWY_ERR_CONFIG_INVALID', `the TLS files have ${problems.length} problem${problems.length === 1 ? '' : 's'}:\n${problems.map((p) => `  - ${p}`).join('\n')}`)
}

function readPem (path: string, where: string, problems: string[]): Buffer | undefined {
  let data: Buffer
  try {
    data = readFileSync(path)
  } catch (e) {
    const code = (e as { code?: unknown }).code
    problems.push(`${where}: cannot read "${path}" (${typeof code === 'string' ? code : 'unreadable'})`)
    return undefined
  }
  if (!data.includes('-----BEGIN ')) {
    problems.push(`${where}: "${path}" is not a PEM file`)
    return undefined
  }
  return data
}
