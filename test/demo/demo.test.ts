import { join } from 'node:path'
import t, { type Test } from 'tap'
import { DEMO_PORTS, DEMO_STATE_PATH, demoConfig, startDemo, type Demo } from '../../src/demo/run-demo.js'
import { parseFault, startDemoUpstream } from '../../src/demo/demo-upstreams.js'
import { defaultConfigInput, validateConfig } from '../../src/config/load-config.js'
import { adminCall, send, testLogger } from '../helpers/services.js'

async function demo (t: Test, statePath: string, reset = false): Promise<Demo> {
  const d = await startDemo({ statePath, reset, ephemeralPorts: true, logger: testLogger() })
  let closed = false
  const close = async (): Promise<void> => { if (closed) return; closed = true; await d.running.close(); await d.closeUpstreams() }
  t.teardown(close)
  return { ...d, closeUpstreams: close }
}

t.test('the demo keeps its own state file, not the one npm start uses', async (t) => {
  t.equal(DEMO_STATE_PATH, './data/demo-state.json')
  const serve = validateConfig(defaultConfigInput(), {}, 'embedded defaults').config.store
  t.match(serve, { kind: 'file', path: './data/state.json' }, 'npm start: ./data/state.json')
  t.match(demoConfig({ blue: ['http://127.0.0.1:3001'], green: ['http://127.0.0.1:3002'] }, DEMO_STATE_PATH).config.store, { kind: 'file', path: DEMO_STATE_PATH }, 'the demo: its own')
  t.strictSame(Object.values(DEMO_PORTS).map((p) => p.length), [3, 3], 'three targets per color')
})

t.test('three targets per color, a banner with the real weights, a kept state and --reset', async (t) => {
  const statePath = join(t.testdir(), 'demo-state.json')
  const first = await demo(t, statePath)
  t.equal(first.upstreams.length, 6, 'six demo upstreams')
  const targets = (await adminCall(first.running.adminUrl, 'GET', '/targets')).json as { targets: Array<{ color: string, id: string }> }
  t.strictSame(targets.targets.map((x) => x.id), ['blue-1', 'blue-2', 'blue-3', 'green-1', 'green-2', 'green-3'], 'three targets per color, named by color')
  t.match(first.banner, 'blue 50 %, green 50 %', 'a fresh demo starts at 50/50')
  for (const u of first.upstreams) t.match(first.banner, u.url, `the banner prints ${u.url}`)
  t.match(first.banner, /curl -s -X POST \$u\/fault -d '\{"errorRate":0\.2,"delayMs":300\}'/, 'and how to make a color fail')
  t.match(first.banner, `dashboard ${first.running.adminUrl}/ui`, 'the dashboard URL')
  t.match(first.banner, 'npx switchyard rollout start --to green', 'a canary with the CLI, no JSON')
  t.equal((await adminCall(first.running.adminUrl, 'PUT', '/weights', { weights: { blue: 90, green: 10 } })).status, 200)
  await first.closeUpstreams()

  const second = await demo(t, statePath)
  t.match(second.banner, 'version 2', 'a restart keeps the demo state')
  t.match(second.banner, 'blue 90 %, green 10 %', 'and the banner says the weights it really has, not "about half each"')
  t.match(second.banner, '(kept from the last demo; `switchyard demo --reset` starts fresh)', 'and how to start fresh')
  await second.closeUpstreams()

  const third = await demo(t, statePath, true)
  t.match(third.banner, 'version 1', '--reset starts fresh')
  t.match(third.banner, 'blue 50 %, green 50 %')
  t.notMatch(third.banner, 'kept from the last demo')
})

t.test('--reset with --config is refused: the config store is not the demo\'s to clear', async (t) => {
  await t.rejects(startDemo({ configPath: 'config/switchyard.yaml', reset: true, logger: testLogger() }), { code: 'SWY_ERR_CONFIG_INVALID', message: /--reset clears the demo's own state/ })
})

t.test('the fault switch of a demo upstream: errors, delay, clear; seen through the proxy', async (t) => {
  const d = await demo(t, join(t.testdir(), 'demo-state.json'))
  const a = d.running.adminUrl
  t.equal((await adminCall(a, 'POST', '/flip', { to: 'green' })).status, 200)
  const green = d.upstreams.filter((u) => u.color === 'green')
  for (const u of green) {
    const set = await send(`${u.url}/fault`, { method: 'POST', body: '{"errorRate":1}' })
    t.strictSame([set.status, set.json], [200, { fault: { errorRate: 1, delayMs: 0 } }], `${u.url}: set (curl -d, no content type needed)`)
  }
  for (let i = 0; i < 6; i++) {
    const r = await send(`${d.running.proxyUrl}/`)
    t.equal(r.status, 500, `request ${i + 1} through the proxy: green fails`)
    t.match(r.body, 'green: injected fault')
  }
  t.equal((await send(`${green[0]?.url ?? ''}/healthz`)).status, 200, '/healthz stays up under a fault')
  const bad = await send(`${green[0]?.url ?? ''}/fault`, { method: 'POST', body: '{"errorRate":2,"delay":5}' })
  t.equal(bad.status, 400)
  t.match(bad.json, { error: /unknown property "delay".*errorRate must be a number 0\.\.1/ }, 'every problem, the unknown property named')
  for (const [i, u] of green.entries()) {
    const clear = i === 0 ? await send(`${u.url}/fault`, { method: 'DELETE' }) : await send(`${u.url}/fault`, { method: 'POST', body: '{}' })
    t.strictSame(clear.json, { fault: { errorRate: 0, delayMs: 0 } }, i === 0 ? 'DELETE clears it' : '{} clears it')
  }
  const ok = await send(`${d.running.proxyUrl}/`)
  t.strictSame([ok.status, ok.body], [200, 'green\n'], 'green answers again')
  const slow = await send(`${green[1]?.url ?? ''}/fault`, { method: 'POST', body: '{"delayMs":20}' })
  t.equal(slow.status, 200)
  t.equal((await send(`${green[1]?.url ?? ''}/`)).headers['x-demo-delay-ms'], '20', 'a delayed answer says so')
  t.equal((await send(`${green[1]?.url ?? ''}/fault`)).body, '{"fault":{"errorRate":0,"delayMs":20}}\n', 'GET /fault shows it')
})

t.test('an error rate answers that share of requests with 500 (the draw injected)', async (t) => {
  const draws = [0.1, 0.5, 0.19, 0.2, 0.9]
  const u = await startDemoUpstream('green', 0, '127.0.0.1', { random: () => draws.shift() ?? 1 })
  t.teardown(() => u.close())
  await send(`${u.url}/fault`, { method: 'POST', body: '{"errorRate":0.2}' })
  const statuses: number[] = []
  for (let i = 0; i < 5; i++) statuses.push((await send(`${u.url}/`)).status)
  t.strictSame(statuses, [500, 200, 500, 200, 200], 'a draw below the rate fails')
  t.match(parseFault('not json'), { ok: false, message: /must be JSON/ })
  t.match(parseFault('[1]'), { ok: false, message: /JSON object/ })
  t.match(parseFault('{"delayMs":1.5}'), { ok: false, message: /delayMs must be an integer/ })
})
