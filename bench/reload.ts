/**
 * How long a config reload takes, end to end: POST /reload re-reads the file, validates it,
 * diffs it against the running config and applies it, each time with new upstream settings
 * (so a new undici agent replaces the old one). Prints the median, p90 and max of RUNS
 * (default 50) reloads. Not a test; nothing here is asserted.
 *
 *   node --import tsx bench/reload.ts
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import { request } from 'undici'
import { stringify } from 'yaml'
import { startSwitchyard } from '../src/app.js'
import { loadConfigFile } from '../src/config/load-config.js'

const RUNS = Number(process.env.RUNS ?? 50)
const TOKEN = 'x'.repeat(32)

const upstream = createServer((_req, res) => { res.end('blue') })
await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve))
const port = (upstream.address() as { port: number }).port
const dir = await mkdtemp(join(tmpdir(), 'swy-reload-bench-'))
const file = join(dir, 'switchyard.yaml')
const config = (i: number): Record<string, unknown> => ({
  listen: { host: '127.0.0.1', port: 0 },
  admin: { listen: { host: '127.0.0.1', port: 0 }, tokens: [{ name: 'ci', token: TOKEN, role: 'write' }] },
  colors: { blue: { targets: [`http://127.0.0.1:${port}`] } },
  store: { kind: 'memory' },
  log: { level: 'silent' },
  upstream: { connectTimeoutMs: 5000 + i }
})
await writeFile(file, stringify(config(0)))
const sy = await startSwitchyard(await loadConfigFile(file, {}), { logger: pino({ level: 'silent' }), reloadFrom: async () => await loadConfigFile(file, {}) })
const times: number[] = []
for (let i = 1; i <= RUNS; i++) {
  await writeFile(file, stringify(config(i)))
  const start = performance.now()
  const res = await request(`${sy.adminUrl}/reload`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } })
  await res.body.text()
  times.push(performance.now() - start)
  if (res.statusCode !== 200) throw new Error(`reload ${i} answered ${res.statusCode}`)
}
times.sort((a, b) => a - b)
const at = (q: number): string => (times[Math.min(times.length - 1, Math.floor(q * times.length))] ?? 0).toFixed(2)
process.stdout.write(`POST /reload (re-read, validate, diff, apply with a new upstream agent), ${RUNS} runs: median ${at(0.5)} ms, p90 ${at(0.9)} ms, max ${at(1)} ms\n`)
await sy.close()
upstream.close()
await rm(dir, { recursive: true, force: true })
