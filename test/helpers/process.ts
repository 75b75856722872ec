/**
 * Process-level test helpers: the `switchyard` CLI as a real child process (run from the
 * sources through tsx), free ports for the ports it is configured to listen on, and waits
 * for readiness and exit. Every child is killed in teardown.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createServer } from 'node:net'
import { fileURLToPath } from 'node:url'
import { request } from 'undici'
import type { Teardown } from './services.js'

/** The repository root (the CLI's working directory). */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url))

/** How a child ended. */
export interface Exit {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
}

/** A running CLI child with its output collected so far. */
export interface CliProcess {
  readonly child: ChildProcess
  /** Everything written to stdout so far. */
  stdout (): string
  /** Everything written to stderr so far. */
  stderr (): string
  /** Resolves when the child has exited. */
  readonly exited: Promise<Exit>
  /** Sends a signal (no-op when already exited). */
  signal (signal: NodeJS.Signals): void
}

/** A port that was free a moment ago on 127.0.0.1 (bind port 0, read it, close). */
export async function freePort (): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const address = server.address()
  const port = typeof address === 'object' && address !== null ? address.port : 0
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

/**
 * Spawns `command <args>` from the repository root with its output collected; SIGKILLed in
 * teardown if still running. The one child wrapper of the tests and the benchmarks.
 */
export function spawnCollected (t: Teardown, command: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): CliProcess {
  const child = spawn(command, args, {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let out = ''
  let err = ''
  child.stdout?.setEncoding('utf8').on('data', (d: string) => { out += d })
  child.stderr?.setEncoding('utf8').on('data', (d: string) => { err += d })
  const exited = new Promise<Exit>((resolve) => {
    child.once('close', (code, signal) => resolve({ code, signal }))
  })
  const running = (): boolean => child.exitCode === null && child.signalCode === null
  t.teardown(async () => {
    if (running()) child.kill('SIGKILL')
    await exited
  })
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    signal: (s) => { if (running()) child.kill(s) }
  }
}

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

/**
 * Polls `GET <adminUrl>/readyz` until it answers 200. Rejects (with the child's stderr) if the
 * child exits first, or after `deadlineMs` so a broken start fails instead of hanging.
 */
export async function waitForReady (p: CliProcess, adminUrl: string, deadlineMs = 60_000): Promise<void> {
  let exited: Exit | undefined
  void p.exited.then((e) => { exited = e })
  const until = Date.now() + deadlineMs
  while (Date.now() < until) {
    if (exited !== undefined) throw new Error(`switchyard exited (${exited.code ?? exited.signal ?? '?'}) before it was ready:\n${p.stderr()}`)
    try {
      const res = await request(`${adminUrl}/readyz`)
      await res.body.dump()
      if (res.statusCode === 200) return
    } catch { /* not listening yet */ }
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error(`switchyard was not ready after ${deadlineMs} ms:\n${p.stderr()}`)
}
