/**
 * The parts of a running switchyard a reload reaches, registered with the Reloader in one
 * place (app.ts calls this): admin tokens, the active checker's per-color policies, passive
 * ejection, the upstream dispatcher's settings and the log level. Discovery (and anything
 * else) registers with `reloader.register` where it is built.
 */
import type { Logger } from 'pino'
import type { AdminAuth } from '../admin/auth.js'
import { colorHealths } from '../config/color-health.js'
import type { Config } from '../config/config-types.js'
import type { ActiveChecker, ActiveCheckPolicy, Probed } from '../health/active-checker.js'
import type { TargetPools } from '../proxy/target-pool.js'
import type { DataPathPort } from '../proxy/data-path-port.js'
import type { Reloader } from './reloader.js'

/** What the core reloadables act on. */
export interface CoreParts {
  readonly auth: AdminAuth
  readonly checker: ActiveChecker
  readonly pools: TargetPools
  /** The data path (this process's, or every worker's). */
  readonly dataPath: Pick<DataPathPort, 'reconfigure'>
  readonly logger: Logger<string, boolean>
}

/** Each probed target's active-check policy: its color's (colors.<name>.health over health). */
export function activePolicyOf (config: Config, colors: readonly string[]): (target: Probed) => ActiveCheckPolicy | undefined {
  const healths = colorHealths(config, colors)
  const byColor = new Map(colors.map((c, i) => [c, healths[i]?.active]))
  return (target) => target.color === undefined ? config.health.active.path === undefined ? undefined : { ...config.health.active, path: config.health.active.path } : byColor.get(target.color)
}

/** Registers the core parts with the reloader. */
export function registerCoreReloadables (reloader: Reloader, parts: CoreParts): void {
  reloader.register({ name: 'admin tokens', apply: (next) => { parts.auth.setTokens(next.config.admin.tokens) } })
  reloader.register({ name: 'active health checks', apply: (next) => { parts.checker.setPolicy(activePolicyOf(next.config, next.colors)) } })
  reloader.register({ name: 'passive ejection', apply: (next) => { parts.pools.setPassivePolicies(colorHealths(next.config, next.colors).map((h) => h.passive)) } })
  reloader.register({ name: 'log level', apply: (next) => { parts.logger.level = next.config.log.level } })
  reloader.register({ name: 'upstream settings', apply: (next) => { parts.dataPath.reconfigure(next.config) } })
}
