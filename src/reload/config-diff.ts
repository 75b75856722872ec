/**
 * What a reload changes: the settings (as dotted paths, arrays whole: `admin.tokens`) that differ between the running
 * config and the re-read one, split into those that apply live and those that need a
 * restart. Values are never part of the answer (a token is a secret); only where they differ.
 * Pure.
 */
import { isDeepStrictEqual } from 'node:util'
import type { Config } from '../config/config-types.js'

/**
 * The settings a reload applies to a running instance, as path patterns (`*`: any color).
 * A path under one of these is live; everything else needs a restart.
 */
export const LIVE_SETTINGS: readonly string[] = [
  'admin.tokens',
  'health',
  'colors.*.health',
  'colors.*.discovery',
  'upstream',
  'log.level'
]

/** Why a few settings need a restart, said in the refusal. */
const RESTART_WHY: ReadonlyArray<readonly [RegExp, string]> = [
  [/^colors$/, 'the list of colors and their order'],
  [/^colors\.[^.]+\.targets$/, 'the initial pool; at run time the store holds it: use the targets API'],
  [/^(listen|admin\.listen)(\.|$)/, 'a listen address'],
  [/^store(\.|$)/, 'the store'],
  [/^instance(\.|$)/, 'the instance id'],
  [/^initial(\.|$)/, 'used only when the store is empty, at start']
]

/** The settings a reload would change. */
export interface ConfigDiff {
  /** Paths that change live, e.g. `admin.tokens`, `colors.green.health`. */
  readonly live: readonly string[]
  /** Paths that need a restart, each with why when it is not plain, e.g. `listen.port (a listen address)`. */
  readonly restart: readonly string[]
}

function isRecord (v: unknown): v is Readonly<Record<string, unknown>> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function matches (path: string, pattern: string): boolean {
  const p = path.split('.')
  const q = pattern.split('.')
  if (p.length < q.length) return false
  return q.every((part, i) => part === '*' || part === p[i])
}

/** True when a path is one a reload applies live. */
export function isLive (path: string): boolean {
  return LIVE_SETTINGS.some((pattern) => matches(path, pattern))
}

/** The paths under which `a` and `b` differ: objects are walked, anything else (arrays too) compared whole. */
function differences (a: unknown, b: unknown, path: string, out: string[]): void {
  if (isDeepStrictEqual(a, b)) return
  if (isRecord(a) && isRecord(b)) {
    for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) differences(a[key], b[key], path === '' ? key : `${path}.${key}`, out)
    return
  }
  out.push(path === '' ? '(top level)' : path)
}

/** The settings that differ between the running config and the next one. */
export function diffConfig (running: Config, next: Config): ConfigDiff {
  const out: string[] = []
  const before = Object.keys(running.colors)
  const after = Object.keys(next.colors)
  if (!isDeepStrictEqual(before, after)) {
    out.push('colors')
    // Only the colors in both are compared further; the list change already refuses.
    const { colors: _a, ...restA } = running
    const { colors: _b, ...restB } = next
    differences(restA, restB, '', out)
  } else {
    differences(running, next, '', out)
  }
  const live = out.filter(isLive)
  const restart = out.filter((p) => !isLive(p)).map((p) => {
    const why = RESTART_WHY.find(([re]) => re.test(p))?.[1]
    return why === undefined ? p : `${p} (${why})`
  })
  return { live, restart }
}
