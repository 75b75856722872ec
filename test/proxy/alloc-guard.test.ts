/**
 * The routing step allocates nothing per request after warm-up: for a returning client
 * (cookie located and parsed in place, then found in the verified-cookie table or its HMAC
 * checked in place, over many distinct cookies) and for
 * a new client (fresh bucket, the signed Set-Cookie reused within its minute). Measured with
 * heap statistics, not time: after a full GC the young generation's used bytes are read
 * before and after N synchronous calls; a window during which a GC ran (seen through the
 * 'gc' performance entries) is discarded, since that GC would hide what was allocated. A
 * positive control (a step that allocates one small object a call) proves the meter sees
 * 16 bytes a call. The answer's header step for a new client (the response header policy,
 * then the Set-Cookie) is held to the same. A regression fails here, on any machine load, without a timing assertion.
 */
import { PerformanceObserver, performance } from 'node:perf_hooks'
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import t from 'tap'
import { validateConfig } from '../../src/config/load-config.js'
import { Forwarder, type ForwarderOptions } from '../../src/proxy/forwarder.js'
import { HeaderPolicy } from '../../src/proxy/header-policy.js'
import { RequestRouter } from '../../src/proxy/request-router.js'
import { hmacFor } from '../../src/proxy/sticky-mac.js'
import type { RoutingState } from '../../src/routing/routing-state.js'
import { encodeStickyCookie } from '../../src/routing/sticky-cookie.js'
import { BUCKETS } from '../../src/routing/types.js'

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

const SECRET = 'alloc-guard-secret-0123456789abcdef'
const NOW = Date.UTC(2026, 0, 1, 12, 0, 30)
const CALLS = 20_000

const gcWindows: Array<{ start: number, end: number }> = []
const observer = new PerformanceObserver((list) => { for (const e of list.getEntries()) gcWindows.push({ start: e.startTime, end: e.startTime + e.duration }) })
observer.observe({ entryTypes: ['gc'] })
t.teardown(() => { observer.disconnect() })

function newSpaceUsed (): number {
  return getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_used_size ?? Number.NaN
}

const flush = async (): Promise<void> => { await new Promise((resolve) => setImmediate(resolve)) }

/**
 * Bytes allocated per call of `step` (median of clean windows): a window is CALLS calls
 * between two reads of the young generation, right after a full GC; windows a GC ran in
 * are discarded. Throws when no window stays clean (every window allocated enough to
 * trigger a GC: far from zero anyway, so callers treat that as "allocates").
 */
async function bytesPerCall (step: (i: number) => void): Promise<number> {
  const clean: number[] = []
  for (let attempt = 0; attempt < 20 && clean.length < 5; attempt++) {
    gc()
    await flush()
    gcWindows.length = 0
    const start = performance.now()
    const before = newSpaceUsed()
    for (let i = 0; i < CALLS; i++) step(i)
    const after = newSpaceUsed()
    const end = performance.now()
    await flush()
    if (gcWindows.some((w) => w.end >= start && w.start <= end)) continue
    clean.push((after - before) / CALLS)
  }
  if (clean.length === 0) return Number.POSITIVE_INFINITY
  clean.sort((a, b) => a - b)
  return clean[clean.length >> 1] as number
}

function router (cookieCacheBytes?: number): RequestRouter {
  const { config } = validateConfig({
    colors: { blue: { targets: ['http://127.0.0.1:1'] }, green: { targets: ['http://127.0.0.1:2'] } },
    store: { kind: 'memory' }
  }, {}, 'test')
  const r = new RequestRouter({ colors: ['blue', 'green'], sticky: config.sticky, overrides: config.overrides, secret: SECRET, available: Uint8Array.of(1, 1), freshStart: 0, ...(cookieCacheBytes === undefined ? {} : { cookieCacheBytes }) })
  r.apply({ version: 2, weights: { blue: 9000, green: 1000 }, drainUntil: {} } as unknown as RoutingState)
  return r
}

// Cookies as a previous release signed them (node:crypto's createHmac), all distinct.
const mac = hmacFor(SECRET, 'sticky-cookie')
const issuedAt = Math.floor(NOW / 1000) - 3600
const returning = Array.from({ length: 4096 }, (_, i) => ({
  cookie: `theme=dark; swy=${encodeStickyCookie({ bucket: (i * 7919) % BUCKETS, color: (i * 7919) % BUCKETS < 9000 ? 'blue' : 'green', issuedAt: issuedAt + (i >> 4) }, mac)}; lang=en`
}))
const MASK = returning.length - 1
const none = {}

t.test('the meter sees an allocation of one small object a call (positive control)', async (t) => {
  const keep: Array<{ i: number }> = [{ i: 0 }]
  const perCall = await bytesPerCall((i) => { keep[0] = { i } })
  t.ok(perCall >= 12, `an allocating step measures ${perCall} bytes a call`)
})

t.test('a returning client (a valid cookie among many distinct ones) allocates nothing per request', async (t) => {
  const r = router()
  let sticky = 0
  for (let i = 0; i < 50_000; i++) if (r.route(returning[i & MASK] as { cookie: string }, NOW).reason === 'sticky') sticky++
  t.equal(sticky, 50_000, 'every cookie verified (warm-up)')
  const perCall = await bytesPerCall((i) => { r.route(returning[i & MASK] as { cookie: string }, NOW) })
  t.ok(perCall < 1, `${perCall} bytes a call (less than one: nothing per request)`)
})

t.test('a returning client missing the verified-cookie table (more clients than slots) allocates nothing either: the HMAC is checked in place', async (t) => {
  const r = router(0) // the smallest table (16 slots) for 4096 cookies: nearly every lookup misses
  let sticky = 0
  for (let i = 0; i < 50_000; i++) if (r.route(returning[i & MASK] as { cookie: string }, NOW).reason === 'sticky') sticky++
  t.equal(sticky, 50_000, 'every cookie verified (warm-up)')
  const perCall = await bytesPerCall((i) => { r.route(returning[i & MASK] as { cookie: string }, NOW) })
  t.ok(perCall < 1, `${perCall} bytes a call (less than one: nothing per request)`)
})

t.test('a new client (no cookie: fresh bucket, signed Set-Cookie) allocates nothing per request', async (t) => {
  const r = router()
  // One Weyl cycle visits every bucket: after it every (bucket, color) of this minute is signed.
  for (let i = 0; i < 2 * BUCKETS; i++) r.route(none, NOW)
  t.match(r.route(none, NOW).cookie, /^swy=/)
  const perCall = await bytesPerCall(() => { r.route(none, NOW) })
  t.ok(perCall < 1, `${perCall} bytes a call (less than one: nothing per request)`)
})

t.test('a forged or expired cookie allocates nothing either (it is refused in place)', async (t) => {
  const r = router()
  const valid = encodeStickyCookie({ bucket: 42, color: 'green', issuedAt }, mac)
  const forged = { cookie: `swy=${valid.slice(0, -1)}${valid.endsWith('A') ? 'B' : 'A'}` }
  for (let i = 0; i < 2 * BUCKETS; i++) r.route(forged, NOW)
  t.equal(r.route(forged, NOW).reason, 'weight', 'refused: the client is treated as new')
  const perCall = await bytesPerCall(() => { r.route(forged, NOW) })
  t.ok(perCall < 1, `${perCall} bytes a call`)
})

t.test("a new client's answer headers (response header policy, then its Set-Cookie) allocate nothing per answer", async (t) => {
  const r = router()
  for (let i = 0; i < 2 * BUCKETS; i++) r.route(none, NOW)
  const cookie = r.route(none, NOW).cookie
  const policy = new HeaderPolicy({ overrideHeader: 'x-switchyard-color', trustForwarded: false, tls: false })
  // rewriteHeaders reads only the policy, `closing` and the exchange's cookie; the other
  // parts (pools, ledger, metrics, logs) serve failed calls, which this step never makes.
  const unused = null as never
  const opts: ForwarderOptions = { colors: ['blue', 'green'], router: r, pools: unused, policy, ledger: unused, metrics: unused, upstreamLog: unused, logger: unused, retryMethods: [], clock: { ms: 0 } }
  const rewrite = (new Forwarder(opts).replyOptions as { rewriteHeaders: (h: Record<string, unknown>, req: unknown) => Record<string, unknown> }).rewriteHeaders
  const request = { swy: { cookie } }
  const headers: Record<string, unknown> = { 'content-type': 'text/plain', 'content-length': '2', date: 'Thu, 01 Jan 2026 12:00:30 GMT', 'set-cookie': undefined }
  rewrite(headers, request)
  t.equal(headers['set-cookie'], cookie, 'the sticky cookie is set')
  t.same(Object.keys(headers), ['content-type', 'content-length', 'date', 'set-cookie'])
  for (let i = 0; i < 50_000; i++) { headers['set-cookie'] = undefined; rewrite(headers, request) }
  const perCall = await bytesPerCall(() => { headers['set-cookie'] = undefined; rewrite(headers, request) })
  t.ok(perCall < 1, `${perCall} bytes a call (less than one: nothing per answer)`)
})
