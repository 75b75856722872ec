import t from 'tap'
import { adminCall, send, startTestSwitchyard, startUpstream, testConfig } from '../helpers/services.js'

t.test('a token-less loopback admin API refuses browser requests and non-loopback Host names', async (t) => {
  const blue = await startUpstream(t, 'blue')
  const green = await startUpstream(t, 'green')
  const sy = await startTestSwitchyard(t, testConfig([blue, green, await startUpstream(t, 'green')]))
  const before = (await adminCall(sy.adminUrl, 'GET', '/state')).body

  // What a page on any site can send without a CORS preflight: a "simple" POST.
  const simple = await send(sy.adminUrl + '/rollback', { method: 'POST', headers: { origin: 'https://evil.example' } })
  t.equal(simple.status, 403)
  t.equal((simple.json as { error: string }).error, 'SWY_ERR_ADMIN_CROSS_ORIGIN')
  const fetchMeta = await send(sy.adminUrl + '/rollback', { method: 'POST', headers: { 'sec-fetch-site': 'cross-site' } })
  t.equal(fetchMeta.status, 403)
  const flip = await adminCall(sy.adminUrl, 'POST', '/flip', { to: 'green' }, { origin: 'http://127.0.0.1:9090' })
  t.equal(flip.status, 403, 'even a same-host Origin: the admin API is not for browsers')
  const rebinding = await adminCall(sy.adminUrl, 'POST', '/flip', { to: 'green' }, { host: 'attacker.example' })
  t.equal(rebinding.status, 403, 'a DNS-rebound Host name is refused on a loopback listener')
  t.equal((await adminCall(sy.adminUrl, 'GET', '/state')).body, before, 'nothing changed')

  t.equal((await adminCall(sy.adminUrl, 'POST', '/flip', { to: 'green' }, { host: 'localhost:9090' })).status, 200, 'localhost is fine')
  t.equal((await adminCall(sy.adminUrl, 'POST', '/rollback', undefined, { 'sec-fetch-site': 'none' })).status, 200, 'a typed-in URL (Sec-Fetch-Site: none) is fine')
  t.equal((await send(sy.adminUrl + '/healthz', { headers: { origin: 'https://evil.example' } })).status, 200, 'health and metrics stay open')
})
