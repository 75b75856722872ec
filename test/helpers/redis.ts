/**
 * A real redis-server per test file, on a free port, that a test can kill and restart
 * (empty: no persistence). Killed in teardown.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { freePort, WAIT_MS, type Teardown } from './harness.js'

/** A redis-server child process. */
export interface RedisServer {
  readonly port: number
  readonly url: string
  /** SIGKILLs the server (no shutdown, no save). */
  kill (): Promise<void>
  /** Starts a new, empty server on the same port. */
  start (): Promise<void>
}

/** Spawns redis-server on a free port and waits until it accepts connections. */
export async function startRedis (t: Teardown): Promise<RedisServer> {
  const port = await freePort()
  let child: ChildProcess | undefined
  const start = async (): Promise<void> => {
    const c = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--loglevel', 'notice'], { stdio: ['ignore', 'pipe', 'pipe'] })
    child = c
    let out = ''
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`redis-server did not start on ${port} within ${WAIT_MS} ms: ${out}`)), WAIT_MS)
      const check = (d: Buffer): void => {
        out += d.toString()
        if (out.includes('Ready to accept connections')) { clearTimeout(timer); resolve() }
      }
      c.stdout.on('data', check)
      c.stderr.on('data', check)
      c.once('exit', (code) => { clearTimeout(timer); reject(new Error(`redis-server exited with ${String(code)}: ${out}`)) })
    })
    c.removeAllListeners('exit')
  }
  const kill = async (): Promise<void> => {
    const c = child
    child = undefined
    if (c === undefined || c.exitCode !== null || c.signalCode !== null) return
    await new Promise<void>((resolve) => { c.once('exit', () => resolve()); c.kill('SIGKILL') })
  }
  await start()
  t.teardown(kill)
  return { port, url: `redis://127.0.0.1:${port}`, kill, start }
}
