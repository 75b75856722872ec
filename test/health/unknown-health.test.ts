import t from 'tap'
import { pino } from 'pino'
import { startSwitchyard } from '../../src/app.js'
import { adminCall, send, startUpstream, testConfig, until } from '../helpers/services.js'

interface Line { readonly level: number, readonly msg: string, readonly code?: string, readonly err?: unknown, readonly stack?: unknown }

function capture (): { lines: Line[], logger: ReturnType<typeof pino<string>> } {
  const lines: Line[] = []
  const logger = pino<string>({ level: 'info' }, { write (chunk: string) { for (const l of chunk.split('\n')) if (l !== '') lines.push(JSON.parse(l) as Line) } })
  return { lines, logger }
}

async function healthOf (adminUrl: string): Promise<Record<string, string>> {
  const r = (await adminCall(adminUrl, 'GET', '/targets')).json as { targets: Array<{ color: string, health: string }> }
  return Object.fromEntries(r.targets.map((x) => [x.color, x.health]))
}

t.test('no active check: targets are unknown until they answer, /readyz says so, one warning at start, one log line per failing target', async (t) => {
  const blue = await startUpstream(t, 'blue')
  const green = await startUpstream(t, 'green')
  await green.close()
  const { lines, logger } = capture()
  const running = await startSwitchyard(testConfig([blue, green], { health: { passive: { enabled: false } } }), { logger, proxyPort: 0, adminPort: 0 })
  t.teardown(() => running.close())
  const a = running.adminUrl
  t.equal(lines.filter((l) => /no active health check is configured/.test(l.msg)).length, 1, 'one warning at start')
  t.equal(lines.find((l) => /no active health check/.test(l.msg))?.level, 40, 'at warn')

  t.strictSame(await healthOf(a), { blue: 'unknown', green: 'unknown' }, 'nothing answered yet: unknown, not healthy')
  const before = await adminCall(a, 'GET', '/readyz')
  t.match([before.status, before.json], [200, { status: 'unverified', detail: /no target known healthy yet for blue/ }], '/readyz does not claim ready')

  t.equal((await send(running.proxyUrl + '/')).body, 'blue')
  t.strictSame(await healthOf(a), { blue: 'healthy', green: 'unknown' }, 'blue answered: healthy')
  t.match((await adminCall(a, 'GET', '/readyz')).json, { status: 'ready' })

  t.equal((await adminCall(a, 'POST', '/flip', { to: 'green', force: true })).status, 200)
  lines.length = 0
  const statuses: number[] = []
  for (let i = 0; i < 8; i++) statuses.push((await send(running.proxyUrl + '/')).status)
  t.strictSame(statuses, Array(8).fill(502), 'the dead green fails every request')
  t.equal((await healthOf(a)).green, 'unknown', 'a failed request does not make it healthy')
  const failures = lines.filter((l) => /upstream failure/.test(l.msg))
  t.equal(failures.length, 1, `one log line for 8 failures of one target (rate-limited): ${JSON.stringify(failures)}`)
  t.match(failures[0], { level: 40, code: 'SWY_ERR_UPSTREAM_UNREACHABLE' }, 'with its code')
  t.notOk(lines.some((l) => l.err !== undefined || l.stack !== undefined || /\n\s+at /.test(JSON.stringify(l))), 'no stack trace in the log')
  t.match((await adminCall(a, 'GET', '/readyz')).json, { status: 'unverified', detail: /green \(127\.0\.0\.1:\d+ unknown\)/ }, 'only green has weight, and it never answered')
})

t.test('with an active check: a target is healthy once a check passes, without any request; no warning', async (t) => {
  const blue = await startUpstream(t, 'blue')
  const green = await startUpstream(t, 'green')
  const { lines, logger } = capture()
  const health = { active: { path: '/health', intervalMs: 100, timeoutMs: 2000, healthyThreshold: 1, unhealthyThreshold: 2 } }
  const running = await startSwitchyard(testConfig([blue, green], { health }), { logger, proxyPort: 0, adminPort: 0 })
  t.teardown(() => running.close())
  await until('both targets checked healthy', async () => {
    const h = await healthOf(running.adminUrl)
    return h.blue === 'healthy' && h.green === 'healthy'
  })
  t.match((await adminCall(running.adminUrl, 'GET', '/readyz')).json, { status: 'ready' })
  t.notOk(lines.some((l) => /no active health check/.test(l.msg)), 'no warning when a check is configured')
})
