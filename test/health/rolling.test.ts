import t from 'tap'
import { until } from '../helpers/harness.js'
import { adminCall, send, startTestSwitchyard, startUpstream, testConfig, type Upstream } from '../helpers/services.js'

t.test('rolling upgrade: three blue targets drained, stopped, replaced and enabled one by one under steady load → 0 failed requests', async (t) => {
  const blues: Upstream[] = [await startUpstream(t, 'blue'), await startUpstream(t, 'blue'), await startUpstream(t, 'blue')]
  const green = await startUpstream(t, 'green')
  const sy = await startTestSwitchyard(t, testConfig([...blues, green]))

  let sent = 0
  let failed = 0
  const failures: string[] = []
  let running = true
  const load = async (): Promise<void> => {
    while (running) {
      sent++
      try {
        const r = await send(sy.proxyUrl + '/')
        if (r.status !== 200 || r.body !== 'blue') { failed++; failures.push(`${r.status} ${r.body}`) }
      } catch (e) { failed++; failures.push(String(e)) }
    }
  }
  const traffic = Promise.all([load(), load(), load(), load()])
  const replacements: Upstream[] = []
  // Steps wait on what the traffic did, never on time: a slow machine sends fewer requests per ms.
  const sentReaches = async (n: number, what: string): Promise<void> => { await until(what, () => sent >= n, { detail: () => `${sent} sent` }) }
  await sentReaches(20, 'steady traffic to start')
  for (const old of blues) {
    const id = `127.0.0.1:${old.port}`
    const drain = await adminCall(sy.adminUrl, 'POST', `/targets/blue/${encodeURIComponent(id)}/drain?wait=5000`, { reason: 'rolling' })
    t.equal(drain.status, 200, `${id} drained`)
    t.equal((drain.json as { target: { drained: boolean } }).target.drained, true)
    const before = old.seen.length
    await sentReaches(sent + 20, `20 more requests while ${id} is drained`)
    t.equal(old.seen.length, before, `${id} gets no new request while draining`)
    await old.close()
    const fresh = await startUpstream(t, 'blue', { port: old.port })
    replacements.push(fresh)
    const enable = await adminCall(sy.adminUrl, 'POST', `/targets/blue/${encodeURIComponent(id)}/enable`, { reason: 'rolling: new version up' })
    t.equal(enable.status, 200, `${id} enabled again`)
    await until(`the replacement of ${id} to take traffic`, () => fresh.seen.length > 0)
  }
  await sentReaches(201, 'over 200 requests across the whole upgrade')
  running = false
  await traffic
  t.ok(sent > 200, `steady traffic was sent (${sent} requests)`)
  t.equal(failed, 0, `0 failed requests out of ${sent}${failures.length > 0 ? `: ${failures.slice(0, 3).join('; ')}` : ''}`)
  t.ok(replacements.every((r) => r.seen.length > 0), 'every replacement took traffic')
  const history = (await adminCall(sy.adminUrl, 'GET', '/history?limit=6')).json as { entries: Array<{ kind: string, reason: string }> }
  t.same(history.entries.map((e) => e.kind), ['target', 'target', 'target', 'target', 'target', 'target'], 'every step is in the history')
})
