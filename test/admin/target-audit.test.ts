import t from 'tap'
import { pino } from 'pino'
import { startSwitchyard } from '../../src/app.js'
import { adminCall, startUpstream, testConfig } from '../helpers/services.js'

interface AuditLine {
  readonly msg: string
  readonly audit?: { readonly version: number, readonly kind: string, readonly targets?: unknown }
}

t.test('a target change: the audit line names the target and the mode, previous is the version before, rollback undoes the last traffic shift', async (t) => {
  const blue = await startUpstream(t, 'blue')
  const green = await startUpstream(t, 'green')
  const lines: AuditLine[] = []
  const logger = pino<string>({ level: 'info' }, { write (chunk: string) { for (const l of chunk.split('\n')) if (l !== '') lines.push(JSON.parse(l) as AuditLine) } })
  const running = await startSwitchyard(testConfig([blue, green]), { logger, proxyPort: 0, adminPort: 0 })
  t.teardown(() => running.close())
  const a = running.adminUrl
  const id = `127.0.0.1:${blue.port}`

  t.equal((await adminCall(a, 'PUT', '/weights', { weights: { blue: 90, green: 10 }, reason: 'canary' })).status, 200)
  const drained = await adminCall(a, 'POST', `/targets/blue/${encodeURIComponent(id)}/drain`, { reason: 'patching b1' })
  t.equal(drained.status, 200)
  const audit = lines.find((l) => l.audit?.kind === 'target')
  t.match(audit, {
    msg: `routing state changed: blue target ${id} enabled → draining`,
    audit: { version: 3, kind: 'target', targets: [{ color: 'blue', target: id, from: 'enabled', to: 'draining' }] }
  }, 'the audit line says which target and which mode, in the message and as fields')
  t.match(drained.json, {
    version: 3,
    previous: { version: 2, weights: { blue: 90, green: 10 }, targets: {} },
    rollbackTo: { version: 1, weights: { blue: 100, green: 0 } }
  }, 'previous is the version just before; rollbackTo what a rollback restores')

  const back = await adminCall(a, 'POST', '/rollback', { reason: 'canary is bad' })
  t.equal(back.status, 200)
  t.match(back.json, {
    version: 4,
    kind: 'rollback',
    weights: { blue: 100, green: 0 },
    targets: { blue: { [id]: 'draining' } },
    previous: { version: 3 }
  }, 'the rollback undid the canary (the last traffic shift), not the drain, and left the drain in place')
  t.match((await adminCall(a, 'POST', '/rollback')).json, { version: 5, weights: { blue: 90, green: 10 } }, 'rolling back the rollback returns to the canary')
})
