/**
 * Open admin routes (issue 9 item 8): /metrics, /readyz and /healthz answer no browser
 * (Origin, or Sec-Fetch-Site other than none) and, on a loopback listener, no non-loopback
 * Host (DNS rebinding): 403 SWY_ERR_ADMIN_CROSS_ORIGIN, whatever spelling of the path or
 * method. A typed-in URL (Sec-Fetch-Site: none), curl and Prometheus are still served.
 */
import t, { type Test } from 'tap'
import { startTestSwitchyard, testConfig } from '../helpers/services.js'
import { errorCode, portOf, rawRequest, startRecorder, type RawResponse } from './helpers.js'

const OPEN = ['/metrics', '/readyz', '/healthz']
const BROWSER: ReadonlyArray<readonly [string, readonly string[]]> = [
  ['a cross-site Origin', ['Origin: https://evil.example']],
  ['a same-host Origin', ['Origin: http://127.0.0.1']],
  ['Origin: null (sandboxed frame, file:)', ['Origin: null']],
  ['Sec-Fetch-Site: cross-site', ['Sec-Fetch-Site: cross-site']],
  ['Sec-Fetch-Site: same-site', ['Sec-Fetch-Site: same-site']],
  ['Sec-Fetch-Site: same-origin', ['Sec-Fetch-Site: same-origin']],
  ['Origin and Sec-Fetch-Site: none together', ['Origin: https://evil.example', 'Sec-Fetch-Site: none']]
]
const REBOUND = ['attacker.example', 'attacker.example:9090', '127.0.0.1.nip.io', 'localhost.attacker.example', '127.0.0.1@evil.example', '0x7f000001.evil.example']

function req (method: string, path: string, host: string | undefined, headers: readonly string[]): string {
  return `${method} ${path} HTTP/1.1\r\n${host === undefined ? '' : `Host: ${host}\r\n`}${headers.map((h) => `${h}\r\n`).join('')}Connection: close\r\n\r\n`
}

function refused (t: Test, r: RawResponse, label: string): void {
  t.equal(r.status, 403, `${label}: 403 (got ${r.statusLine} ${r.body.toString().slice(0, 120)})`)
  if (r.status !== 403) return
  // HEAD has no body; the status says it.
  if (r.body.length > 0) t.equal(errorCode(r), 'SWY_ERR_ADMIN_CROSS_ORIGIN', `${label}: the error code`)
  t.notMatch(r.body.toString(), /switchyard_|127\.0\.0\.1:\d+/, `${label}: no metric or target address in the answer`)
}

t.test('the open admin routes refuse browsers and rebound Host names with 403 SWY_ERR_ADMIN_CROSS_ORIGIN', async (t) => {
  const blue = await startRecorder(t, 'blue')
  const sy = await startTestSwitchyard(t, testConfig([blue]))
  const port = portOf(sy.adminUrl)
  const host = `127.0.0.1:${port}`
  for (const path of OPEN) {
    for (const [name, headers] of BROWSER) {
      for (const method of ['GET', 'HEAD']) {
        const r = await rawRequest(port, req(method, path, host, headers), `${method} ${path} with ${name}`, { head: method === 'HEAD' })
        refused(t, r, `${method} ${path} with ${name}`)
      }
    }
    for (const rebound of REBOUND) {
      refused(t, await rawRequest(port, req('GET', path, rebound, []), `${path} with Host ${rebound}`), `GET ${path} with Host ${rebound}`)
    }
    // Path spellings that may reach the same handler must be checked too.
    for (const variant of [`${path}?x=1`, `${path}?`, `${path}#x`, `${path}/`, `/${path}`, `${path};x`, path.toUpperCase()]) {
      const r = await rawRequest(port, req('GET', variant, host, ['Origin: https://evil.example']), `${variant} with an Origin`)
      t.not(r.status, 200, `GET ${variant} with an Origin is not answered 200 (got ${r.statusLine})`)
      t.notMatch(r.body.toString(), /switchyard_|"status":"(ok|ready)"/, `GET ${variant} with an Origin leaks nothing`)
    }
  }
})

t.test('the open admin routes still answer curl, Prometheus and a typed-in URL', async (t) => {
  const blue = await startRecorder(t, 'blue')
  const sy = await startTestSwitchyard(t, testConfig([blue]))
  const port = portOf(sy.adminUrl)
  const ok: ReadonlyArray<readonly [string, string | undefined, readonly string[]]> = [
    ['curl-like, Host 127.0.0.1:port', `127.0.0.1:${port}`, ['User-Agent: curl/8.5.0', 'Accept: */*']],
    ['Prometheus-like, Host localhost:port', `localhost:${port}`, ['User-Agent: Prometheus/2.53.0', 'Accept: application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5']],
    ['a typed-in URL (Sec-Fetch-Site: none)', `localhost:${port}`, ['Sec-Fetch-Site: none', 'Sec-Fetch-Mode: navigate']],
    ['IPv6 loopback Host', `[::1]:${port}`, []]
  ]
  for (const path of OPEN) {
    for (const [name, host, headers] of ok) {
      const r = await rawRequest(port, req('GET', path, host, headers), `${path} from ${name}`)
      t.equal(r.status, 200, `GET ${path} from ${name}: 200 (got ${r.statusLine} ${r.body.toString().slice(0, 120)})`)
    }
  }
  const m = await rawRequest(port, req('GET', '/metrics', `127.0.0.1:${port}`, []), 'a plain scrape')
  t.match(m.body.toString(), /switchyard_requests_total/, 'the scrape has the metrics')
})
