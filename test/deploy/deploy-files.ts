/**
 * Reading the deploy files for the manifest tests: YAML documents (every parse problem is a
 * failure), the Dockerfile's facts, `${ENV}` references, and a config loaded the way
 * `switchyard check` loads it.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseAllDocuments } from 'yaml'
import { validateConfig, type LoadedConfig } from '../../src/config/load-config.js'
import { ROOT } from '../helpers/harness.js'

/** A parsed YAML (or JSON) value, looked into loosely. */
export type Node = Record<string, unknown>

/** The deploy directory. */
export const DEPLOY = join(ROOT, 'deploy')

/** Every YAML file under a directory (recursive), relative to the repository root. */
export function yamlFiles (dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => /\.ya?ml$/.test(f)).map((f) => join(dir, f)).sort()
}

/** The documents of a YAML file; throws with the file name and the problems on any error or warning. */
export function yamlDocuments (path: string): Node[] {
  const docs = parseAllDocuments(readFileSync(path, 'utf8'), { prettyErrors: true, strict: true, uniqueKeys: true, merge: true })
  const list = Array.isArray(docs) ? docs : [docs]
  const problems = list.flatMap((d) => [...d.errors, ...d.warnings].map((e) => e.message))
  if (problems.length > 0) throw new Error(`${path}:\n${problems.join('\n')}`)
  return list.map((d) => d.toJS() as unknown).filter((d): d is Node => typeof d === 'object' && d !== null)
}

/** An object at a path of keys, or `{}`. */
export function at (node: unknown, ...keys: string[]): Node {
  let v: unknown = node
  for (const k of keys) v = typeof v === 'object' && v !== null ? (v as Node)[k] : undefined
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? v as Node : {}
}

/** An array at a path of keys, or `[]`. */
export function list (node: unknown, ...keys: string[]): Node[] {
  const parent = at(node, ...keys.slice(0, -1))
  const v = parent[keys[keys.length - 1] ?? '']
  return Array.isArray(v) ? v as Node[] : []
}

/** What the tests need from the Dockerfile. */
export interface DockerfileFacts {
  readonly expose: readonly number[]
  readonly entrypoint: readonly string[]
  readonly workdir: string
}

/** Reads EXPOSE, ENTRYPOINT (exec form) and the last WORKDIR of the repository's Dockerfile. */
export function dockerfile (): DockerfileFacts {
  const text = readFileSync(join(ROOT, 'Dockerfile'), 'utf8')
  const expose = [...text.matchAll(/^EXPOSE\s+(.+)$/gm)].flatMap((m) => (m[1] ?? '').trim().split(/\s+/).map((p) => Number(p.split('/')[0])))
  const entry = /^ENTRYPOINT\s+(\[.*\])\s*$/m.exec(text)
  const workdirs = [...text.matchAll(/^WORKDIR\s+(\S+)/gm)].map((m) => m[1] ?? '')
  return { expose, entrypoint: entry === null ? [] : JSON.parse(entry[1] ?? '[]') as string[], workdir: workdirs[workdirs.length - 1] ?? '' }
}

/** The names of the `${NAME}` / `${NAME:-default}` references in a text. */
export function envReferences (text: string): string[] {
  return [...new Set([...text.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-[^}]*)?\}/g)].map((m) => m[1] ?? ''))].sort()
}

/** Validates config text as `switchyard check` does (YAML, ${ENV} substitution, schema, semantic checks). */
export function checkConfig (text: string, env: NodeJS.ProcessEnv, source: string): LoadedConfig {
  return validateConfig(parseOne(text, source), env, source)
}

function parseOne (text: string, source: string): unknown {
  const docs = parseAllDocuments(text, { strict: true, uniqueKeys: true })
  const first = Array.isArray(docs) ? docs[0] : docs
  const problems = [...(first?.errors ?? []), ...(first?.warnings ?? [])]
  if (problems.length > 0) throw new Error(`${source}: ${problems.map((p) => p.message).join('; ')}`)
  return first?.toJS()
}

/** The host and port of a URL, with the scheme's default port. */
export function hostPort (url: string): { host: string, port: number } {
  const u = new URL(url)
  const defaults: Record<string, number> = { 'http:': 80, 'https:': 443, 'redis:': 6379, 'rediss:': 6379 }
  return { host: u.hostname, port: u.port === '' ? (defaults[u.protocol] ?? 0) : Number(u.port) }
}
