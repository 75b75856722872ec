/**
 * Child processes of the benchmarks: node scripts (through tsx) pinned to a CPU set with
 * taskset when the machine has 2+ CPUs, so the load generator and the servers under test
 * do not fight for one core. Every child is killed when the owning Cleanups runs.
 */
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { cpus } from 'node:os'
import { spawnCollected, type CliProcess, type Exit, type Teardown } from '../../test/helpers/harness.js'

export { Cleanups, readyMessage } from '../../test/helpers/harness.js'

/** Which CPUs the load generator and the servers run on; undefined entries mean unpinned. */
export interface CpuPlan {
  readonly cpus: number
  readonly pinned: boolean
  /** taskset CPU list for the load generator (CPU 0). */
  readonly load: string | undefined
  /** taskset CPU list for the servers (every other CPU). */
  readonly servers: string | undefined
}

function hasCommand (cmd: string, args: readonly string[]): boolean {
  return spawnSync(cmd, args, { stdio: 'ignore' }).error === undefined
}

/** Plans pinning: load on CPU 0, servers on CPUs 1.. (PIN=0 disables it). */
export function cpuPlan (): CpuPlan {
  const n = cpus().length
  const pinned = n >= 2 && process.env.PIN !== '0' && hasCommand('taskset', ['-V'])
  if (!pinned) return { cpus: n, pinned: false, load: undefined, servers: undefined }
  return { cpus: n, pinned: true, load: '0', servers: n === 2 ? '1' : `1-${n - 1}` }
}

/** The command line, prefixed with `taskset -c <list>` when a CPU list is given. */
export function pinnedCommand (cpuList: string | undefined, cmd: string, args: readonly string[]): [string, string[]] {
  return cpuList === undefined ? [cmd, [...args]] : ['taskset', ['-c', cpuList, cmd, ...args]]
}

/** Options of a node child. */
export interface NodeChildOptions {
  /** taskset CPU list; undefined runs unpinned. */
  readonly cpus?: string | undefined
  /** Extra node flags before the script (e.g. --cpu-prof). */
  readonly nodeArgs?: readonly string[]
  readonly env?: NodeJS.ProcessEnv
  /** Load tsx (default); false for compiled JavaScript such as dist/cli.js. */
  readonly tsx?: boolean
}

/** A node child: the CliProcess shape the test helpers wait on, plus its pid. */
export interface NodeChild extends CliProcess {
  readonly pid: number
}

/**
 * Spawns `node --import tsx <script> <args>` from the repository root. taskset execs node,
 * so the pid (and the signals sent to it) belong to node itself. SIGKILLed at cleanup if
 * it is still running.
 */
export function spawnNode (t: Teardown, script: string, args: readonly string[], opts: NodeChildOptions = {}): NodeChild {
  const [cmd, argv] = pinnedCommand(opts.cpus, process.execPath, [...(opts.nodeArgs ?? []), ...(opts.tsx === false ? [] : ['--import', 'tsx']), script, ...args])
  const p = spawnCollected(t, cmd, argv, opts.env)
  return { ...p, pid: p.child.pid ?? -1 }
}

/** Resident set size of a process in bytes (Linux /proc, else `ps`); NaN when unknown. */
export function rssBytes (pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    if (m !== null) return Number(m[1]) * 1024
  } catch { /* not Linux, or gone */ }
  const r = spawnSync('ps', ['-o', 'rss=', '-p', String(pid)], { encoding: 'utf8' })
  const kb = Number(r.stdout.trim())
  return r.status === 0 && Number.isFinite(kb) && kb > 0 ? kb * 1024 : Number.NaN
}

/** Sends SIGTERM and waits for the exit (SIGKILL after `graceMs`). */
export async function stop (p: NodeChild, graceMs = 10_000): Promise<Exit> {
  p.signal('SIGTERM')
  const timer = setTimeout(() => p.signal('SIGKILL'), graceMs)
  const exit = await p.exited
  clearTimeout(timer)
  return exit
}
