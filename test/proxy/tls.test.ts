/**
 * TLS at the edge (DATAPATH-SPEC §7): HTTPS on the data listener (x-forwarded-proto https)
 * and on the admin listener, with a certificate this test makes with openssl; a missing PEM
 * file stops the start with the problem listed.
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { createServer } from 'node:https'
import { Agent, request } from 'undici'
import { startSwitchyard } from '../../src/app.js'
import { startTestSwitchyard, testConfig, testLogger } from '../helpers/services.js'
import { head, portOf, RawClient, rawRequest, startRecorder } from '../helpers/raw-http.js'

function makeCert (t: { teardown (fn: () => void): void }): { dir: string, cert: string, key: string } {
  const dir = mkdtempSync(join(tmpdir(), 'swy-tls-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const cert = join(dir, 'c.pem')
  const key = join(dir, 'k.pem')
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=localhost',
    '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-keyout', key, '-out', cert], { stdio: 'ignore' })
  return { dir, cert, key }
}

t.test('listen.tls and admin.listen.tls serve HTTPS; the upstream sees x-forwarded-proto https', async (t) => {
  const pem = makeCert(t)
  const ca = readFileSync(pem.cert)
  const blue = await startRecorder(t, 'blue')
  const sy = await startTestSwitchyard(t, testConfig([blue], {
    listen: { host: '127.0.0.1', port: 0, tls: { cert: pem.cert, key: pem.key } },
    admin: { listen: { host: '127.0.0.1', port: 0, tls: { cert: pem.cert, key: pem.key } } }
  }))
  t.match(sy.proxyUrl, /^https:/)
  t.match(sy.adminUrl, /^https:/)
  const c = await RawClient.open(portOf(sy.proxyUrl), { ca })
  c.write(head('GET /secure', ['Host: localhost', 'X-Forwarded-Proto: http']))
  const r = await c.response('an HTTPS request through the data listener')
  c.destroy()
  t.equal(r.status, 200)
  t.equal(r.body.toString(), 'blue')
  t.equal(blue.received[0]?.headers['x-forwarded-proto'], 'https')
  const agent = new Agent({ connect: { ca } })
  t.teardown(() => agent.close())
  const health = await request(`${sy.adminUrl}/healthz`, { dispatcher: agent })
  await health.body.text()
  t.equal(health.statusCode, 200, 'the admin API answers over HTTPS')
})

t.test('a missing certificate or key file stops the start, naming the key and the file', async (t) => {
  const pem = makeCert(t)
  const blue = await startRecorder(t, 'blue')
  const missing = join(pem.dir, 'nope.pem')
  let error: (Error & { code?: string }) | undefined
  try {
    const running = await startSwitchyard(testConfig([blue], {
      listen: { host: '127.0.0.1', port: 0, tls: { cert: missing, key: pem.key } },
      admin: { listen: { host: '127.0.0.1', port: 0, tls: { cert: pem.cert, key: missing } } }
    }), { logger: testLogger(), proxyPort: 0, adminPort: 0 })
    await running.close()
  } catch (e) {
    error = e as Error & { code?: string }
  }
  t.equal(error?.code, 'SWY_ERR_CONFIG_INVALID', 'the start stops')
  t.match(error?.message, /listen\.tls\.cert: cannot read ".*nope\.pem" \(ENOENT\)/)
  t.match(error?.message, /admin\.listen\.tls\.key: cannot read ".*nope\.pem" \(ENOENT\)/)
})

t.test('an HTTPS upstream with a certificate switchyard does not trust is refused (upstream.rejectUnauthorized defaults to true)', async (t) => {
  const pem = makeCert(t)
  let reached = 0
  const upstream = createServer({ cert: readFileSync(pem.cert), key: readFileSync(pem.key) }, (_req, res) => { reached++; res.end('blue') })
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => { upstream.closeAllConnections(); upstream.close(() => resolve()) }))
  const address = upstream.address()
  const port = typeof address === 'object' && address !== null ? address.port : 0
  const fake = { color: 'blue', url: `https://127.0.0.1:${port}`, port, seen: [], close: async () => {} }
  const sy = await startTestSwitchyard(t, testConfig([fake]))
  const r = await rawRequest(portOf(sy.proxyUrl), head('GET /', ['Host: a']), 'a request to an untrusted HTTPS upstream')
  t.equal(r.status, 502)
  t.equal(reached, 0, 'no request reached the untrusted upstream')
})
