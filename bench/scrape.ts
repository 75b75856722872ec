/**
 * The size and time of one /metrics scrape, after traffic has touched every series: a
 * switchyard in this process with two colors, 2 000 requests (fresh and sticky, 90/10),
 * then 50 scrapes. Prints bytes, series count and the median/p99 scrape time.
 *
 *   node --import tsx bench/scrape.ts
 */
import { adminCall, send, startTestSwitchyard, startUpstream, stickyCookie, testConfig } from '../test/helpers/services.js'

const cleanups: Array<() => unknown> = []
const t = { teardown: (fn: () => unknown) => { cleanups.push(fn) } }

async function main (): Promise<void> {
  const blue = await startUpstream(t, 'blue')
  const green = await startUpstream(t, 'green')
  const sy = await startTestSwitchyard(t, testConfig([blue, green]))
  await adminCall(sy.adminUrl, 'PUT', '/weights', { weights: { blue: 90, green: 10 } })
  let cookie = ''
  for (let i = 0; i < 2000; i++) {
    const r = await send(sy.proxyUrl + '/', i % 2 === 0 || cookie === '' ? {} : { headers: { cookie } })
    cookie = stickyCookie(r) ?? cookie
  }
  const times: number[] = []
  let bytes = 0
  let series = 0
  for (let i = 0; i < 50; i++) {
    const start = performance.now()
    const r = await send(sy.adminUrl + '/metrics')
    times.push(performance.now() - start)
    bytes = Buffer.byteLength(r.body)
    series = r.body.split('\n').filter((l) => l !== '' && !l.startsWith('#')).length
  }
  times.sort((a, b) => a - b)
  const own = (await send(sy.adminUrl + '/metrics')).body.split('\n').filter((l) => l.startsWith('switchyard_')).length
  process.stdout.write(`scrape: ${bytes} bytes, ${series} series (${own} switchyard_*), median ${(times[25] ?? 0).toFixed(2)} ms, p99 ${(times[49] ?? 0).toFixed(2)} ms over 50 scrapes (HTTP round trip on loopback)\n`)
}

main().catch((e: unknown) => { process.stderr.write(`${String(e)}\n`); process.exitCode = 1 })
  .finally(async () => { for (const c of cleanups.reverse()) await c() })
