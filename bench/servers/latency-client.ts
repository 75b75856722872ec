/**
 * A one-connection, one-request-at-a-time client for the c=1 latency pass when wrk is not
 * installed (autocannon's histogram has 1 ms resolution, too coarse for a 150 µs target).
 * Sends GET / for the given seconds, times each round trip with hrtime, prints one JSON line.
 *
 *   node --import tsx bench/servers/latency-client.ts <url> <seconds> [header: value]...
 */
import { Client } from 'undici'

const [url, secondsArg, ...headerArgs] = process.argv.slice(2)
if (url === undefined || secondsArg === undefined) throw new Error('usage: latency-client.ts <url> <seconds> [header: value]...')
const headers: Record<string, string> = {}
for (const h of headerArgs) {
  const i = h.indexOf(':')
  if (i > 0) headers[h.slice(0, i).trim().toLowerCase()] = h.slice(i + 1).trim()
}
const client = new Client(url, { pipelining: 1 })
const micros: number[] = []
let non2xx = 0
let errors = 0
const start = process.hrtime.bigint()
const end = start + BigInt(Math.round(Number(secondsArg) * 1e9))
for (;;) {
  const t0 = process.hrtime.bigint()
  if (t0 >= end) break
  try {
    const res = await client.request({ method: 'GET', path: '/', headers })
    await res.body.dump()
    if (res.statusCode < 200 || res.statusCode > 299) non2xx++
    micros.push(Number(process.hrtime.bigint() - t0) / 1000)
  } catch {
    errors++
  }
}
const seconds = Number(process.hrtime.bigint() - start) / 1e9
await client.close()
micros.sort((a, b) => a - b)
const at = (p: number): number => micros[Math.min(micros.length - 1, Math.max(0, Math.ceil((p / 100) * micros.length) - 1))] ?? Number.NaN
process.stdout.write(`${JSON.stringify({ requests: micros.length, seconds, reqPerSec: micros.length / seconds, p50Ms: at(50) / 1000, p99Ms: at(99) / 1000, non2xx, errors })}\n`)
