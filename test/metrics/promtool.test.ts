import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { parse } from 'yaml'
import { ROOT } from '../helpers/process.js'
import { familiesWithPrefix, promtool, sampleNames } from '../helpers/prometheus.js'
import { metricNames } from '../helpers/promql.js'
import { adminCall, send, startTestSwitchyard, startUpstream, stickyCookie, testConfig } from '../helpers/services.js'

const DEPLOY = join(ROOT, 'deploy/prometheus')

/** A real switchyard after every kind of traffic it counts; its full /metrics text. */
async function scrapeAfterMixedTraffic (t: Test): Promise<string> {
  const blue = await startUpstream(t, 'blue')
  const green = await startUpstream(t, 'green')
  const sy = await startTestSwitchyard(t, testConfig([blue, green], { overrides: { enabled: true } }))
  t.equal((await adminCall(sy.adminUrl, 'PUT', '/weights', { weights: { blue: 90, green: 10 }, reason: 'canary' })).status, 200)
  const cookies: string[] = []
  for (let i = 0; i < 100; i++) {
    const r = await send(sy.proxyUrl + '/')
    const c = stickyCookie(r)
    if (c !== undefined) cookies.push(c)
  }
  for (const cookie of cookies.slice(0, 20)) await send(sy.proxyUrl + '/', { headers: { cookie } })
  for (let i = 0; i < 5; i++) await send(sy.proxyUrl + '/', { headers: { 'x-switchyard-color': 'green' } })
  t.equal((await adminCall(sy.adminUrl, 'POST', '/flip', { to: 'green' })).status, 200)
  t.equal((await adminCall(sy.adminUrl, 'POST', '/rollback', {})).status, 200)
  await green.close()
  // A POST: not retried on another target, so the failure reaches the client.
  const failed = await send(sy.proxyUrl + '/', { method: 'POST', headers: { 'x-switchyard-color': 'green', 'content-type': 'text/plain' }, body: 'x' })
  t.equal(failed.status, 502, 'a request to the stopped upstream fails')
  const text = (await send(sy.adminUrl + '/metrics')).body
  // The scrape holds what the traffic should have produced, so the lint sees real series.
  t.match(text, /switchyard_requests_total\{color="blue",code_class="2xx",reason="sticky"\} [1-9]/)
  t.match(text, /switchyard_requests_total\{color="green",code_class="2xx",reason="override"\} 5\n/)
  t.match(text, /switchyard_requests_total\{color="green",code_class="5xx",reason="override"\} 1\n/)
  t.match(text, /switchyard_upstream_errors_total\{color="green",kind="connect"\} 1\n/)
  t.match(text, /switchyard_switches_total\{kind="rollback"\} 1\n/)
  t.match(text, /switchyard_request_duration_seconds_bucket\{le="\+Inf",color="blue"\} [1-9]/)
  return text
}

t.test('promtool check metrics finds problems when there are some (the harness can fail)', async (t) => {
  const bad = '# HELP requests Requests\n# TYPE requests counter\nrequests 1\n'
  const run = await promtool(['check', 'metrics'], { stdin: bad })
  t.not(run.code, 0)
  t.match(run.stdout + run.stderr, /requests counter metrics should have "_total" suffix/)
})

t.test('every switchyard_* metric of a real scrape passes promtool check metrics', async (t) => {
  const text = await scrapeAfterMixedTraffic(t)
  const ours = familiesWithPrefix(text, 'switchyard_')
  t.match(ours, /# TYPE switchyard_request_duration_seconds histogram/)
  const run = await promtool(['check', 'metrics'], { stdin: ours })
  t.equal(run.stdout + run.stderr, '', 'promtool reports nothing')
  t.equal(run.code, 0)
})

// prom-client's default metrics include three gauges named *_total, which promtool flags;
// src/metrics/metrics.ts drops them, and this test keeps it that way.
t.test('the whole scrape (with prom-client\'s default process and nodejs metrics) passes promtool check metrics', async (t) => {
  const text = await scrapeAfterMixedTraffic(t)
  t.match(text, /^process_cpu_user_seconds_total /m, 'default metrics are in the scrape')
  const run = await promtool(['check', 'metrics'], { stdin: text })
  const problems = (run.stdout + run.stderr).split('\n').filter((l) => l.trim() !== '')
  t.same(problems.filter((l) => !/^(nodejs|process)_/.test(l)), [], 'no problem with a switchyard metric')
  t.same(problems, [], 'promtool reports nothing')
  t.equal(run.code, 0, 'promtool exits 0')
})

t.test('deploy/prometheus/alerts.yml passes promtool check rules', async (t) => {
  const run = await promtool(['check', 'rules', 'alerts.yml'], { cwd: DEPLOY })
  t.equal(run.code, 0, run.stdout + run.stderr)
  t.match(run.stdout, /SUCCESS: \d+ rules found/)
})

t.test('deploy/prometheus/alerts.test.yml: the alerts fire (and stay quiet) as the synthetic series say', async (t) => {
  const run = await promtool(['test', 'rules', 'alerts.test.yml'], { cwd: DEPLOY })
  t.equal(run.code, 0, run.stdout + run.stderr)
  t.match(run.stdout, /SUCCESS/)
})

t.test('deploy/prometheus/prometheus.yml passes promtool check config (with its rule files)', async (t) => {
  const run = await promtool(['check', 'config', 'prometheus.yml'], { cwd: DEPLOY })
  t.equal(run.code, 0, run.stdout + run.stderr)
  t.match(run.stdout, /SUCCESS: 1 rule files found/)
})

t.test('the rules select only metrics switchyard exposes (or that the rules record)', async (t) => {
  const blue = await startUpstream(t, 'blue')
  const green = await startUpstream(t, 'green')
  const sy = await startTestSwitchyard(t, testConfig([blue, green]))
  // Traffic to both colors first: prom-client exposes a histogram's series only once observed.
  t.equal((await adminCall(sy.adminUrl, 'PUT', '/weights', { weights: { blue: 50, green: 50 } })).status, 200)
  for (let i = 0; i < 20; i++) await send(sy.proxyUrl + '/')
  t.equal(blue.seen.length > 0 && green.seen.length > 0, true, 'both colors served')
  const exposed = sampleNames((await send(sy.adminUrl + '/metrics')).body)
  const doc = parse(readFileSync(join(DEPLOY, 'alerts.yml'), 'utf8')) as { groups: Array<{ rules: Array<{ record?: string, alert?: string, expr: string }> }> }
  const recorded = new Set<string>()
  let alerts = 0
  for (const group of doc.groups) {
    for (const rule of group.rules) {
      for (const name of metricNames(rule.expr)) {
        t.ok(exposed.has(name) || recorded.has(name), `${rule.record ?? rule.alert ?? '?'} selects ${name}, which exists`)
      }
      if (rule.record !== undefined) recorded.add(rule.record)
      if (rule.alert !== undefined) alerts++
    }
  }
  t.equal(alerts, 7, 'seven alerts (two of them on rollouts)')
})
