import t from 'tap'
import { combine, diffOrigins, discoveredId, MIN_TTL_MS, nextDelayMs, originOf, type FamilyAnswer } from '../../src/discovery/discovery-plan.js'

const records = (addresses: string[], ttlSeconds = 30): FamilyAnswer => ({ kind: 'records', addresses, ttlSeconds })
const none: FamilyAnswer = { kind: 'none' }
const failed = (reason: string): FamilyAnswer => ({ kind: 'failed', reason })
const known = { v4: ['10.0.0.1', '10.0.0.2'], v6: ['fd00::1'] }

t.test('combine: what the pool holds after a resolution, and when it keeps the last one', async (t) => {
  const cases: Array<[string, FamilyAnswer, FamilyAnswer, ReturnType<typeof combine>]> = [
    ['both families answer: the new addresses (sorted, deduplicated), the shortest TTL',
      records(['10.0.0.3', '10.0.0.2', '10.0.0.3'], 30), records(['fd00::2'], 5),
      { ok: true, v4: ['10.0.0.2', '10.0.0.3'], v6: ['fd00::2'], ttlSeconds: 5 }],
    ['A only (no AAAA record is an answer, not a failure): the IPv6 addresses go',
      records(['10.0.0.9'], 7), none,
      { ok: true, v4: ['10.0.0.9'], v6: [], ttlSeconds: 7 }],
    ['AAAA only', none, records(['fd00::9'], 0), { ok: true, v4: [], v6: ['fd00::9'], ttlSeconds: 0 }],
    ['no record at all (empty or NXDOMAIN): fail static, everything kept',
      none, none, { ok: false, v4: known.v4, v6: known.v6, reason: 'no A or AAAA record' }],
    ['both queries failed: everything kept',
      failed('ETIMEOUT'), failed('ESERVFAIL'), { ok: false, v4: known.v4, v6: known.v6, reason: 'A: ETIMEOUT; AAAA: ESERVFAIL' }],
    ['the AAAA query failed: A is updated, the IPv6 addresses are kept, and it counts as a failure',
      records(['10.0.0.5']), failed('ETIMEOUT'), { ok: false, v4: ['10.0.0.5'], v6: known.v6, reason: 'AAAA: ETIMEOUT' }],
    ['the A query failed and AAAA has none: the IPv4 addresses are kept',
      failed('ECONNREFUSED'), none, { ok: false, v4: known.v4, v6: [], reason: 'A: ECONNREFUSED' }]
  ]
  for (const [what, a, aaaa, want] of cases) t.same(combine(known, a, aaaa), want, what)
  t.same(combine({ v4: [], v6: [] }, failed('ETIMEOUT'), none), { ok: false, v4: [], v6: [], reason: 'A: ETIMEOUT' }, 'a first resolution that fails leaves the pool empty')
})

t.test('diffOrigins: joiners and leavers', async (t) => {
  t.same(diffOrigins(['http://a:1', 'http://b:1'], ['http://b:1', 'http://c:1']), { add: ['http://c:1'], remove: ['http://a:1'] })
  t.same(diffOrigins([], ['http://a:1']), { add: ['http://a:1'], remove: [] })
  t.same(diffOrigins(['http://a:1'], ['http://a:1']), { add: [], remove: [] })
})

t.test('nextDelayMs: the TTL, at most intervalMs, at least MIN_TTL_MS because of a TTL', async (t) => {
  t.equal(MIN_TTL_MS, 1000)
  const cases: Array<[number | undefined, number, number, string]> = [
    [3, 60000, 3000, 'a TTL shorter than intervalMs is respected'],
    [300, 5000, 5000, 'a TTL longer than intervalMs: resolved every intervalMs'],
    [0, 60000, 1000, 'a TTL of 0 does not spin: once a second'],
    [0, 200, 200, 'unless intervalMs itself is shorter (the operator asked for it)'],
    [undefined, 5000, 5000, 'no TTL (a failed resolution): intervalMs']
  ]
  for (const [ttl, interval, want, what] of cases) t.equal(nextDelayMs(ttl, interval), want, what)
})

t.test('ids and origins of discovered targets (IPv6 in brackets)', async (t) => {
  t.equal(discoveredId('blue', '10.0.0.5', 3000), 'blue-dns-10.0.0.5:3000')
  t.equal(discoveredId('blue', 'fd00::5', 3000), 'blue-dns-[fd00::5]:3000')
  t.equal(originOf('http', '10.0.0.5', 3000), 'http://10.0.0.5:3000')
  t.equal(originOf('https', 'fd00::5', 8443), 'https://[fd00::5]:8443')
  t.equal(new URL(originOf('http', 'fd00::5', 3000)).origin, 'http://[fd00::5]:3000', 'a URL parser reads it back')
})
