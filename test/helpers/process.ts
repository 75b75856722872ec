/**
 * Process-level test helpers: the `switchyard` CLI as a real child process (run from the
 * sources through tsx), free ports for the ports it is configured to listen on, and waits
 * for readiness and exit. Every child is killed in teardown. The generic parts live in
 * harness.ts (shared with the benchmarks) and are re-exported here under their old names.
 */
import { spawnCollected, type CliProcess, type Exit, type Teardown } from './harness.js'

export { freePort, ROOT, spawnCollected, waitForReady, type CliProcess, type Exit } from './harness.js'

/** Spawns `switchyard <args>` from the sources; SIGKILLed in teardown if still running. */
export function spawnCli (t: Teardown, args: readonly string[], env: NodeJS.ProcessEnv = {}): CliProcess {
  return spawnCollected(t, process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], env)
}

/** Runs `switchyard <args>` to completion. */
export async function runCli (t: Teardown, args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<Exit & { stdout: string, stderr: string }> {
  const p = spawnCli(t, args, env)
  const exit = await p.exited
  return { ...exit, stdout: p.stdout(), stderr: p.stderr() }
}
