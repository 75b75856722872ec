/**
 * TLS at the edge (DATAPATH-SPEC §7): `listen.tls` serves HTTPS on the data listener and the
 * upstream sees `x-forwarded-proto: https` (whatever the client claims); `admin.listen.tls`
 * serves the admin API over HTTPS; a missing PEM file stops the start naming the key. The
 * certificate is made by Debian's openssl in a temp dir.
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TLSSocket } from 'node:tls'
import t from 'tap'
import { startSwitchyard } from '../../src/app.js'
import { validateConfig } from '../../src/config/load-config.js'
import { startTestSwitchyard, testConfig, testLogger } from '../helpers/services.js'
import { head, portOf, RawClient, rawRequest, startRecorder } from './helpers.js'

function makeCert (): { dir: string, cert: string, key: string } {
  const dir = mkdtempSync(join(tmpdir(), 'swy-sectest-tls-'))
  const cert = join(dir, 'c.pem')
  const key = join(dir, 'k.pem')
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-keyout', key, '-out', cert], { stdio: 'ignore' })
  return { dir, cert, key }
}

t.test('HTTPS on the data and admin listeners; the upstream sees x-forwarded-proto https', async (t) => {
  const pem = makeCert()
  t.teardown(() => rmSync(pem.dir, { recursive: true, force: true }))
  const blue = await startRecorder(t, 'blue')
  const tls = { cert: pem.cert, key: pem.key }
  const sy = await startTestSwitchyard(t, testConfig([blue], {
    listen: { host: '127.0.0.1', port: 0, tls },
    admin: { listen: { host: '127.0.0.1', port: 0, tls } }
  }))
  const port = portOf(sy.proxyUrl)

  const r = await rawRequest(port, head('GET /secure', ['Host: localhost', 'X-Forwarded-Proto: http']), 'a request over TLS', { tls: true })
  t.equal(r.status, 200, `200 over TLS (got ${r.statusLine})`)
  t.equal(r.body.toString(), 'blue')
  const got = blue.received.find((x) => x.url === '/secure')
  t.equal(got?.headers['x-forwarded-proto'], 'https', 'the upstream sees https, not what the client claimed')
  t.equal(got?.headers['x-forwarded-host'], 'localhost')

  // The certificate is the one configured (verified against it as the CA).
  const c = new RawClient(port, { tls: true })
  t.teardown(() => c.destroy())
  await c.connected
  const peer = (c.socket as TLSSocket).getPeerCertificate()
  t.match(peer.subject.CN, 'localhost', 'the configured certificate is served')
  c.destroy()

  const plain = new RawClient(port)
  t.teardown(() => plain.destroy())
  await plain.connected
  plain.write(head('GET /plain', ['Host: localhost']))
  await plain.waitFor('plain HTTP on the TLS listener being refused (closed or an error answer)', () => plain.closed || plain.responses.length > 0 || plain.unparsed.length > 0)
  t.notOk(plain.responses.some((x) => x.status === 200), 'plain HTTP on the TLS listener is not served')
  t.notOk(blue.received.some((x) => x.url === '/plain'), 'nothing from plain HTTP reached the upstream')

  const adminPort = portOf(sy.adminUrl)
  const health = await rawRequest(adminPort, head('GET /healthz', [`Host: 127.0.0.1:${adminPort}`]), 'admin /healthz over TLS', { tls: true })
  t.equal(health.status, 200, `admin over TLS: 200 (got ${health.statusLine})`)
  const state = await rawRequest(adminPort, head('GET /state', [`Host: localhost:${adminPort}`]), 'admin /state over TLS', { tls: true })
  t.equal(state.status, 200, 'admin /state over TLS')
  t.match(state.json, { version: Number }, 'the state, over TLS')
})

t.test('a missing certificate or key file stops the start with the key named', async (t) => {
  const pem = makeCert()
  t.teardown(() => rmSync(pem.dir, { recursive: true, force: true }))
  const blue = await startRecorder(t, 'blue')
  for (const [where, tls] of [
    ['listen.tls', { cert: join(pem.dir, 'missing.pem'), key: pem.key }],
    ['listen.tls', { cert: pem.cert, key: join(pem.dir, 'missing-key.pem') }],
    ['admin.listen.tls', { cert: join(pem.dir, 'missing.pem'), key: pem.key }]
  ] as const) {
    const listen = where === 'listen.tls' ? { listen: { host: '127.0.0.1', port: 0, tls } } : { admin: { listen: { host: '127.0.0.1', port: 0, tls } } }
    let error: unknown
    try {
      const loaded = validateConfig({
        listen: { host: '127.0.0.1', port: 0 },
        admin: { listen: { host: '127.0.0.1', port: 0 } },
        colors: { blue: { targets: [blue.url] } },
        store: { kind: 'memory' },
        ...listen
      }, {}, 'tls test config')
      const running = await startSwitchyard(loaded, { logger: testLogger(), proxyPort: 0, adminPort: 0 })
      await running.close()
    } catch (e) {
      error = e
    }
    t.ok(error instanceof Error, `${where} with a missing file: the start fails`)
    t.match(String((error as Error | undefined)?.message), where, `${where}: the problem names the key (got ${String((error as Error | undefined)?.message)})`)
  }
})
