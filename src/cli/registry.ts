/**
 * Every command by name, each loaded only when it runs (a client command never loads the
 * server's modules), in the order `switchyard --help` lists them, grouped.
 */
import type { Command } from './context.js'

/** A command's name and how to load it. */
export interface Entry {
  readonly name: string
  readonly group: 'server' | 'admin' | 'rollout'
  load (): Promise<Command>
}

/** Every command. */
export const COMMANDS: readonly Entry[] = [
  { name: 'serve', group: 'server', load: async () => (await import('./commands/server.js')).serve },
  { name: 'demo', group: 'server', load: async () => (await import('./commands/demo.js')).demo },
  { name: 'check', group: 'server', load: async () => (await import('./commands/server.js')).check },
  { name: 'sign-override', group: 'server', load: async () => (await import('./commands/server.js')).signOverride },
  { name: 'status', group: 'admin', load: async () => (await import('./commands/status.js')).status },
  { name: 'weights', group: 'admin', load: async () => (await import('./commands/change.js')).weights },
  { name: 'flip', group: 'admin', load: async () => (await import('./commands/change.js')).flip },
  { name: 'rollback', group: 'admin', load: async () => (await import('./commands/change.js')).rollback },
  { name: 'drain', group: 'admin', load: async () => (await import('./commands/target-action.js')).drain },
  { name: 'enable', group: 'admin', load: async () => (await import('./commands/target-action.js')).enable },
  { name: 'disable', group: 'admin', load: async () => (await import('./commands/target-action.js')).disable },
  { name: 'targets', group: 'admin', load: async () => (await import('./commands/lists.js')).targets },
  { name: 'targets add', group: 'admin', load: async () => (await import('./commands/pool.js')).add },
  { name: 'targets remove', group: 'admin', load: async () => (await import('./commands/pool.js')).remove },
  { name: 'instances', group: 'admin', load: async () => (await import('./commands/lists.js')).instances },
  { name: 'reload', group: 'admin', load: async () => (await import('./commands/reload.js')).reload },
  { name: 'history', group: 'admin', load: async () => (await import('./commands/lists.js')).history },
  { name: 'rollout start', group: 'rollout', load: async () => (await import('./commands/rollout.js')).start },
  { name: 'rollout status', group: 'rollout', load: async () => (await import('./commands/rollout.js')).status },
  { name: 'rollout pause', group: 'rollout', load: async () => (await import('./commands/rollout.js')).pause },
  { name: 'rollout resume', group: 'rollout', load: async () => (await import('./commands/rollout.js')).resume },
  { name: 'rollout approve', group: 'rollout', load: async () => (await import('./commands/rollout.js')).approve },
  { name: 'rollout promote', group: 'rollout', load: async () => (await import('./commands/rollout.js')).promote },
  { name: 'rollout abort', group: 'rollout', load: async () => (await import('./commands/rollout.js')).abort }
]

/** The entry for the first words of argv (`rollout start` takes two), and how many it used. */
export function lookup (argv: readonly string[]): { entry: Entry, words: number } | undefined {
  const two = `${argv[0] ?? ''} ${argv[1] ?? ''}`
  const byTwo = COMMANDS.find((c) => c.name === two)
  if (byTwo !== undefined) return { entry: byTwo, words: 2 }
  const byOne = COMMANDS.find((c) => c.name === argv[0])
  return byOne === undefined ? undefined : { entry: byOne, words: 1 }
}
