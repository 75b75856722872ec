import t from 'tap'
import { pino } from 'pino'
import { startSwitchyard } from '../../src/app.js'
import { adminCall, send, startUpstream, stickyCookie, testConfig, type Answer } from '../helpers/services.js'

const TOKEN = 't'.repeat(32)
const AUTH = { authorization: `Bearer ${TOKEN}` }

interface Audit {
  readonly version: number
  readonly kind: string
  readonly changedBy: string
  readonly reason: string
  readonly before: { readonly version: number, readonly weights: Readonly<Record<string, number>> }
  readonly after: { readonly version: number, readonly weights: Readonly<Record<string, number>> }
}

function changed (a: Answer): string | undefined {
  const v = a.headers['x-switchyard-changed']
  return typeof v === 'string' ? v : undefined
}

t.test('one structured audit line per accepted change, none for rejected or no-op writes, no secret anywhere in the log', async (t) => {
  const blue = await startUpstream(t, 'blue')
  const green = await startUpstream(t, 'green')
  const lines: string[] = []
  const logger = pino<string>({ level: 'info' }, { write (chunk: string) { lines.push(...chunk.split('\n').filter((l) => l !== '')) } })
  const loaded = testConfig([blue, green], {
    admin: { listen: { host: '127.0.0.1', port: 0 }, tokens: [{ name: 'ci', token: TOKEN, role: 'write' }] }
  })
  const running = await startSwitchyard(loaded, { logger, proxyPort: 0, adminPort: 0 })
  t.teardown(() => running.close())
  const { adminUrl, proxyUrl } = running
  const secret = running.switchboard.secret
  t.ok(secret.length >= 16, 'a cookie secret to look for')

  // Sticky cookies handed out, and sent back.
  const cookies = new Set<string>()
  const collect = (a: Answer): void => {
    const c = stickyCookie(a)
    if (c !== undefined) cookies.add(c)
  }
  for (let i = 0; i < 10; i++) collect(await send(proxyUrl + '/'))

  // Accepted: weights with a reason.
  const put = await adminCall(adminUrl, 'PUT', '/weights', { weights: { blue: 90, green: 10 }, reason: 'canary 10%' }, AUTH)
  t.equal(put.status, 200)
  t.equal(changed(put), 'true')
  for (let i = 0; i < 30; i++) collect(await send(proxyUrl + '/'))
  for (const cookie of cookies) collect(await send(proxyUrl + '/', { headers: { cookie } }))

  // Not accepted: the same weights again (no-op), a body the schema refuses, weights that do
  // not add up, a stale If-Match, and a write without a token.
  const noop = await adminCall(adminUrl, 'PUT', '/weights', { weights: { blue: 90, green: 10 }, reason: 'again' }, AUTH)
  t.equal(noop.status, 200)
  t.equal(changed(noop), 'false', 'a no-op write changes nothing')
  const badBody = await adminCall(adminUrl, 'PUT', '/weights', { weights: { blue: 90, green: 10 }, because: 'typo' }, AUTH)
  t.equal(badBody.status, 400)
  t.equal((badBody.json as { error?: string }).error, 'SWY_ERR_ADMIN_INVALID_BODY')
  const badSum = await adminCall(adminUrl, 'PUT', '/weights', { weights: { blue: 50, green: 10 }, reason: 'bad sum' }, AUTH)
  t.equal(badSum.status, 400)
  const stale = await adminCall(adminUrl, 'POST', '/flip', { to: 'green', reason: 'stale' }, { ...AUTH, 'if-match': '"1"' })
  t.equal(stale.status, 412)
  const anonymous = await adminCall(adminUrl, 'POST', '/flip', { to: 'green', reason: 'anonymous' })
  t.equal(anonymous.status, 401)

  // Accepted: flip, then roll back.
  const flip = await adminCall(adminUrl, 'POST', '/flip', { to: 'green', reason: 'promote green' }, AUTH)
  t.equal(flip.status, 200)
  const rollback = await adminCall(adminUrl, 'POST', '/rollback', { reason: 'errors on green' }, AUTH)
  t.equal(rollback.status, 200)
  for (let i = 0; i < 10; i++) collect(await send(proxyUrl + '/'))
  t.ok(cookies.size >= 2, `${cookies.size} sticky cookies to look for`)

  await running.close()

  const records = lines.map((l) => JSON.parse(l) as { level: number, msg: string, audit?: Audit })
  const audits = records.filter((r) => r.audit !== undefined)
  t.same(audits.map((r) => [r.level, r.msg]), [[30, 'routing state changed'], [30, 'routing state changed'], [30, 'routing state changed']], 'three info lines')
  t.strictSame(audits.map((r) => r.audit), [
    { version: 2, kind: 'weights', changedBy: 'ci', reason: 'canary 10%', before: { version: 1, weights: { blue: 100, green: 0 } }, after: { version: 2, weights: { blue: 90, green: 10 } } },
    { version: 3, kind: 'flip', changedBy: 'ci', reason: 'promote green', before: { version: 2, weights: { blue: 90, green: 10 } }, after: { version: 3, weights: { blue: 0, green: 100 } } },
    { version: 4, kind: 'rollback', changedBy: 'ci', reason: 'errors on green', before: { version: 3, weights: { blue: 0, green: 100 } }, after: { version: 4, weights: { blue: 90, green: 10 } } }
  ], 'who, why, before → after and the version of each accepted change, in order')

  // Nothing secret in any line: the token, the cookie secret, a sticky cookie (as sent or
  // its value alone). The same search does find what the log should hold.
  t.ok(lines.length > audits.length, `${lines.length} log lines in all`)
  const found = (needle: string): boolean => lines.some((l) => l.includes(needle))
  t.ok(found('canary 10%') && found('errors on green'), 'the search finds the reasons')
  const needles: Array<[string, string]> = [['the admin token', TOKEN], ['the cookie secret', secret]]
  for (const c of cookies) needles.push([`sticky cookie ${c}`, c], [`sticky cookie value of ${c}`, c.slice(c.indexOf('=') + 1)])
  t.same(needles.filter(([, needle]) => found(needle)).map(([what]) => what), [], `none of ${needles.length} secrets is in the log`)
})
