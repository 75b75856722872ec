/**
 * The health settings each color runs with: its own `colors.<name>.health` block over the
 * global `health` block, field by field (a field the color leaves out is the global one).
 * Resolved once per config (at start and at each reload), never per request or per probe.
 */
import type { Config } from './config-types.js'

/** Active checks of one color; absent when neither the color nor the global block sets a path. */
export interface ActiveSettings {
  readonly path: string
  readonly intervalMs: number
  readonly timeoutMs: number
  readonly healthyThreshold: number
  readonly unhealthyThreshold: number
}

/** Passive ejection of one color (the shape of health/outlier.ts's OutlierPolicy). */
export interface PassiveSettings {
  readonly enabled: boolean
  readonly consecutiveFailures: number
  readonly baseEjectionMs: number
  readonly maxEjectionMs: number
}

/** One color's resolved health settings. */
export interface ColorHealth {
  readonly active: ActiveSettings | undefined
  readonly passive: PassiveSettings
}

/** The health settings of `color`: its own block over the global one. */
export function colorHealth (config: Config, color: string): ColorHealth {
  const own = config.colors[color]?.health
  const g = config.health
  const a = { ...g.active, ...own?.active }
  const passive = { ...g.passive, ...own?.passive }
  return {
    active: a.path === undefined ? undefined : { path: a.path, intervalMs: a.intervalMs, timeoutMs: a.timeoutMs, healthyThreshold: a.healthyThreshold, unhealthyThreshold: a.unhealthyThreshold },
    passive: { enabled: passive.enabled, consecutiveFailures: passive.consecutiveFailures, baseEjectionMs: passive.baseEjectionMs, maxEjectionMs: passive.maxEjectionMs }
  }
}

/** Every color's health settings, in color order. */
export function colorHealths (config: Config, colors: readonly string[]): readonly ColorHealth[] {
  return colors.map((c) => colorHealth(config, c))
}
