/**
 * The harness the tests and the benchmarks share: teardown, free ports, child processes with
 * their output collected, readiness waits, and `until`, the one way to wait for something.
 *
 * Waiting rule (the tests must pass on a machine whose cores are all busy): never sleep and
 * then assert. Wait for the condition itself with `until` / `untilValue`, which poll, give up
 * after a bound and say what they were waiting for (and, with `detail`, what they last saw).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import type { Server as HttpServer } from 'node:http'
import { createServer } from 'node:net'
import { fileURLToPath } from 'node:url'
import { request } from 'undici'

/** The repository root (the CLI's working directory). */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url))

/** The tap test object (the subset these helpers use), or a bench `Cleanups`. */
export interface Teardown {
  teardown (fn: () => unknown): void
}

/** Collects teardown functions and runs them in reverse order (a Teardown outside tap, for the benchmarks). */
export class Cleanups implements Teardown {
  readonly #fns: Array<() => unknown> = []

  teardown (fn: () => unknown): void {
    this.#fns.push(fn)
  }

  /** Runs every teardown, last registered first; errors are reported, not thrown. */
  async run (): Promise<void> {
    for (const fn of this.#fns.splice(0).reverse()) {
      try { await fn() } catch (e) { process.stderr.write(`cleanup failed: ${(e as Error).message}\n`) }
    }
  }
}

/** Resolves after `ms` milliseconds. For pacing load only: never sleep and then assert. */
export async function sleep (ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)))
}

/** How long `until` waits and how often it looks. */
export interface WaitOptions {
  /** Give up after this many ms (default 30 000: generous, for a machine whose cores are busy). */
  readonly timeoutMs?: number
  /** Pause between two looks, in ms (default 20). */
  readonly everyMs?: number
  /** What was last seen, added to the failure message. */
  readonly detail?: () => string
}

/** The default bound of every wait. */
export const WAIT_MS = 30_000

function waitOptions (opts: number | WaitOptions): WaitOptions {
  return typeof opts === 'number' ? { timeoutMs: opts } : opts
}

/**
 * Polls `fn` until it returns a value other than undefined and resolves to it. Rejects with
 * "timed out after N ms waiting for <what>[: <detail>]" after the bound; an error thrown by
 * `fn` rejects at once (a child that died will not become ready).
 */
export async function untilValue<T> (what: string, fn: () => T | undefined | Promise<T | undefined>, opts: number | WaitOptions = {}): Promise<T> {
  const { timeoutMs = WAIT_MS, everyMs = 20, detail } = waitOptions(opts)
  const end = Date.now() + timeoutMs
  for (;;) {
    const v = await fn()
    if (v !== undefined) return v
    if (Date.now() >= end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${detail === undefined ? '' : `: ${detail()}`}`)
    await sleep(everyMs)
  }
}

/** Polls `fn` until it answers true; rejects naming `what` after the bound (see untilValue). */
export async function until (what: string, fn: () => boolean | Promise<boolean>, opts: number | WaitOptions = {}): Promise<void> {
  await untilValue(what, async () => (await fn()) ? true : undefined, opts)
}

/** A promise and the function that resolves it (an upstream held until the test releases it). */
export function gate (): { readonly opened: Promise<void>, open (): void } {
  let open = (): void => {}
  const opened = new Promise<void>((resolve) => { open = resolve })
  return { opened, open }
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

/** How a child ended. */
export interface Exit {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
}

/** A running child with its output collected so far. */
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
  child.stdout.setEncoding('utf8').on('data', (d: string) => { out += d })
  child.stderr.setEncoding('utf8').on('data', (d: string) => { err += d })
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

/** A check for `until` that throws (ending the wait at once) when the child has exited. */
function failIfExited (p: CliProcess, what: string): () => void {
  let exited: Exit | undefined
  void p.exited.then((e) => { exited = e })
  return () => {
    if (exited !== undefined) throw new Error(`${what}: the child exited (${exited.code ?? exited.signal ?? '?'}) first:\n${p.stderr()}`)
  }
}

/**
 * Polls `GET <adminUrl>/readyz` until it answers 200. Rejects (with the child's stderr) if the
 * child exits first, or after `deadlineMs` so a broken start fails instead of hanging.
 */
export async function waitForReady (p: CliProcess, adminUrl: string, deadlineMs = 60_000): Promise<void> {
  const alive = failIfExited(p, 'switchyard was not ready')
  await until(`switchyard to be ready (${adminUrl}/readyz answers 200)`, async () => {
    alive()
    try {
      const res = await request(`${adminUrl}/readyz`)
      await res.body.dump()
      return res.statusCode === 200
    } catch { return false /* not listening yet */ }
  }, { timeoutMs: deadlineMs, everyMs: 50, detail: () => p.stderr() })
}

/** Waits for the child's first stdout line that parses as JSON (its "ready, here are my ports"). */
export async function readyMessage<T> (p: CliProcess, deadlineMs = 30_000): Promise<T> {
  const alive = failIfExited(p, 'no ready message')
  const line = await untilValue('the child\'s ready message (a JSON line on stdout)', () => {
    const found = p.stdout().split('\n').find((l) => l.startsWith('{'))
    if (found === undefined) alive()
    return found
  }, { timeoutMs: deadlineMs, detail: () => p.stderr() })
  return JSON.parse(line) as T
}

/** The `name=value` part of the Set-Cookie named `name` among a response's set-cookie headers, if any. */
export function setCookieValue (raw: string | readonly string[] | undefined, name: string): string | undefined {
  const list = raw === undefined ? [] : typeof raw === 'string' ? [raw] : raw
  for (const c of list) {
    if (c.startsWith(`${name}=`)) return c.split(';', 1)[0]
  }
  return undefined
}

/**
 * Listens on 127.0.0.1 (or another loopback address, `host`; port 0 unless given) and returns
 * the port and a close that runs once: `before` first (release held requests, end
 * WebSockets), then every connection is dropped and the server closed. The one teardown of
 * the test upstreams. Rejects when the port is taken.
 */
export async function listenLoopback (server: HttpServer, port = 0, before: () => void = () => {}, host = '127.0.0.1'): Promise<{ port: number, close: () => Promise<void> }> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => { server.off('error', reject); resolve() })
  })
  const address = server.address()
  let closed = false
  return {
    port: typeof address === 'object' && address !== null ? address.port : 0,
    async close () {
      if (closed) return
      closed = true
      before()
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  }
}
