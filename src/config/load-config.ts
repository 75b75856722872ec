/**
 * Loads the configuration: YAML or JSON, `${ENV}` / `${ENV:-default}` substitution in every
 * string, JSON Schema validation with defaults (config-schema.ts), then the
 * checks a schema cannot express. Every problem is collected, so a bad file stops the start
 * with the full list, not the first error.
 */
import { readFile } from 'node:fs/promises'
import { Ajv } from 'ajv'
import { parse as parseYaml } from 'yaml'
import { SwitchyardError } from '../errors.js'
import { parseWeights, type BasisPoints } from '../routing/weights.js'
import { configSchema, type Config } from './config-schema.js'
import type { TargetConfig } from './config-types.js'

const ajv = new Ajv({ allErrors: true, useDefaults: true, discriminator: true, strict: true, allowUnionTypes: true })
/** Validates and fills in defaults; a value it accepts is a `Config`. */
const validate = ajv.compile<Config>(configSchema)

/** A configuration that passed every check, with its compiled initial weights and target lists. */
export interface LoadedConfig {
  readonly config: Config
  readonly colors: readonly string[]
  readonly initialWeights: BasisPoints
  /** Per color, in color order: its targets with ids. */
  readonly targets: ReadonlyArray<readonly TargetConfig[]>
}

/** A target entry of the config as {id, url}; the default id is the URL's host:port. */
export function targetOf (entry: string | { readonly id?: string, readonly url: string }): TargetConfig {
  const url = typeof entry === 'string' ? entry : entry.url
  let id = typeof entry === 'string' ? undefined : entry.id
  if (id === undefined) {
    try { id = new URL(url).host } catch { id = url }
  }
  return { id, url }
}

/** The embedded defaults: what `switchyard demo` runs on (docs/design.md's sample, minus tokens). */
export function defaultConfigInput (): Record<string, unknown> {
  return {
    // Only what the schema has no default for: the listeners (127.0.0.1:8080 and :9090),
    // sticky cookies and the file store (./data/state.json) are the schema's defaults.
    colors: {
      blue: { targets: ['http://127.0.0.1:3001'] },
      green: { targets: ['http://127.0.0.1:3002'] }
    },
    initial: { weights: { blue: 100, green: 0 } }
  }
}

const ENV_REF = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g

function substitute (value: unknown, env: NodeJS.ProcessEnv, path: string, problems: string[]): unknown {
  if (typeof value === 'string') {
    return value.replace(ENV_REF, (_m, name: string, fallback: string | undefined) => {
      const v = env[name]
      if (v !== undefined && v !== '') return v
      if (fallback !== undefined) return fallback
      problems.push(`${path}: references \${${name}}, which is not set in the environment`)
      return ''
    })
  }
  if (Array.isArray(value)) return value.map((v, i) => substitute(v, env, `${path}[${i}]`, problems))
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(value)) out[k] = substitute(v, env, path === '' ? k : `${path}.${k}`, problems)
    return out
  }
  return value
}

/** True for addresses that only this machine can reach. */
export function isLoopback (host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host)
}

/** Validates raw (parsed) configuration input; throws SWY_ERR_CONFIG_INVALID listing every problem. */
export function validateConfig (input: unknown, env: NodeJS.ProcessEnv = process.env, source = 'config'): LoadedConfig {
  const problems: string[] = []
  const substituted = substitute(input ?? {}, env, '', problems)
  const valid = validate(substituted)
  if (!valid) {
    for (const e of validate.errors ?? []) {
      if (e.keyword === 'propertyNames') continue // the pattern error below names the key
      const where = e.instancePath === '' ? '(top level)' : e.instancePath.slice(1).split('/').map((p, i) => /^\d+$/.test(p) ? `[${p}]` : i === 0 ? p : `.${p}`).join('')
      const key = e.propertyName === undefined ? '' : ` key "${e.propertyName}"`
      const extra = e.keyword === 'additionalProperties' ? ` "${String(e.params.additionalProperty)}"` : e.keyword === 'enum' ? ` (${(e.params.allowedValues as unknown[]).join(', ')})` : ''
      problems.push(`${where}:${key} ${e.message ?? 'is invalid'}${extra}`)
    }
  }
  // The checks a schema cannot express run even when the schema failed, on whatever parts
  // have the right shape, so one start lists every problem of the file.
  const weights = semanticChecks(substituted, problems)
  if (!valid || problems.length > 0 || weights === undefined) throw configError(source, problems)
  const config: Config = substituted
  const colors = Object.keys(config.colors)
  return { config, colors, initialWeights: weights, targets: colors.map((c) => (config.colors[c]?.targets ?? []).map(targetOf)) }
}

function record (value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? value as Record<string, unknown> : undefined
}

function semanticChecks (raw: unknown, problems: string[]): BasisPoints | undefined {
  const root = record(raw) ?? {}
  const colorTable = record(root.colors) ?? {}
  const colors = Object.keys(colorTable)
  for (const [color, def] of Object.entries(colorTable)) {
    const targets = record(def)?.targets
    if (!Array.isArray(targets)) continue
    const ids = new Set<string>()
    targets.forEach((entry: unknown, i) => {
      const t = typeof entry === 'string' ? entry : record(entry)?.url
      if (typeof t !== 'string') return
      const id = targetOf(typeof entry === 'string' ? entry : { ...(record(entry) as { id?: string }), url: t }).id
      if (ids.has(id)) problems.push(`colors.${color}.targets[${i}]: duplicate target id "${id}" (give each target an id, or distinct host:port)`)
      ids.add(id)
      let url: URL
      try { url = new URL(t) } catch { problems.push(`colors.${color}.targets[${i}]: "${t}" is not a URL`); return }
      if ((url.pathname !== '/' && url.pathname !== '') || url.search !== '' || url.hash !== '' || url.username !== '') {
        problems.push(`colors.${color}.targets[${i}]: "${t}" must be an origin (scheme, host and port only)`)
      }
    })
  }
  let weights: BasisPoints | undefined
  const initial = record(record(root.initial)?.weights)
  if (colors.length > 0 && (initial === undefined || Object.values(initial).every((v) => typeof v === 'number'))) {
    const parsed = parseWeights(colors, (initial as Record<string, number> | undefined) ?? { [colors[0] as string]: 100 })
    if (parsed.ok) weights = parsed.value
    else problems.push(`initial.weights: ${parsed.error.message}`)
  }
  const admin = record(root.admin) ?? {}
  const tokens = Array.isArray(admin.tokens) ? admin.tokens.map(record) : []
  const names = new Set<unknown>()
  const secrets = new Set<unknown>()
  tokens.forEach((t, i) => {
    if (t === undefined) return
    if (names.has(t.name)) problems.push(`admin.tokens[${i}]: duplicate name "${String(t.name)}"`)
    if (secrets.has(t.token)) problems.push(`admin.tokens[${i}]: the same token is configured twice`)
    names.add(t.name)
    secrets.add(t.token)
  })
  const host = record(admin.listen)?.host
  if (typeof host === 'string' && !isLoopback(host) && tokens.length === 0) {
    problems.push(`admin.listen.host: the admin API listens on ${host}, which is not loopback, and no admin.tokens are configured; add a token or bind it to 127.0.0.1`)
  }
  const store = record(root.store)
  if (store?.kind === 'redis') {
    const ways = ['url', 'sentinels', 'cluster'].filter((k) => store[k] !== undefined)
    if (ways.length !== 1) problems.push(`store: a redis store needs exactly one of url, sentinels or cluster${ways.length > 1 ? `, got ${ways.join(' and ')}` : ''}`)
    if (store.sentinels !== undefined && store.name === undefined) problems.push('store.name: the Sentinel master group name is required with sentinels')
  }
  const passive = record(record(root.health)?.passive)
  if (typeof passive?.baseEjectionMs === 'number' && typeof passive.maxEjectionMs === 'number' && passive.maxEjectionMs < passive.baseEjectionMs) {
    problems.push('health.passive.maxEjectionMs: must be at least baseEjectionMs')
  }
  // A color's passive block over the global one: the pair it ends up with must hold too.
  for (const [color, def] of Object.entries(colorTable)) {
    const own = record(record(record(def)?.health)?.passive)
    if (own === undefined) continue
    const base = own.baseEjectionMs ?? passive?.baseEjectionMs ?? 10000
    const max = own.maxEjectionMs ?? passive?.maxEjectionMs ?? 300000
    if (typeof base === 'number' && typeof max === 'number' && max < base) {
      problems.push(`colors.${color}.health.passive.maxEjectionMs: must be at least baseEjectionMs (${max} < ${base}, with the global health.passive block as the default)`)
    }
  }
  const proxy = record(root.proxy)
  if (typeof proxy?.headersTimeoutMs === 'number' && typeof proxy.requestTimeoutMs === 'number' && proxy.headersTimeoutMs > proxy.requestTimeoutMs) {
    problems.push('proxy.headersTimeoutMs: must be at most requestTimeoutMs')
  }
  const overrides = record(root.overrides)
  if (overrides?.secret !== undefined && overrides.enabled !== true) {
    problems.push('overrides.secret: is set but overrides.enabled is false')
  }
  return weights
}

/** SWY_ERR_CONFIG_INVALID with every problem also as a list (a reload answers them as one). */
export class ConfigError extends SwitchyardError {
  readonly problems: readonly string[]

  constructor (message: string, problems: readonly string[]) {
    super('SWY_ERR_CONFIG_INVALID', message)
    this.problems = problems
  }
}

function configError (source: string, problems: readonly string[]): ConfigError {
  return new ConfigError(`${source} has ${problems.length} problem${problems.length === 1 ? '' : 's'}:\n${problems.map((p) => `  - ${p}`).join('\n')}`, problems)
}

/** Reads, parses and validates a config file (YAML, or JSON by its .json extension). */
export async function loadConfigFile (path: string, env: NodeJS.ProcessEnv = process.env): Promise<LoadedConfig> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (e) {
    const problem = `cannot read config ${path}: ${(e as Error).message}`
    throw new ConfigError(problem, [problem])
  }
  let parsed: unknown
  try {
    parsed = path.endsWith('.json') ? JSON.parse(text) : parseYaml(text)
  } catch (e) {
    const problem = `config ${path} cannot be parsed: ${(e as Error).message}`
    throw new ConfigError(problem, [problem])
  }
  return validateConfig(parsed, env, path)
}
