import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { ROOT } from '../helpers/process.js'
import { promtool, sampleNames } from '../helpers/prometheus.js'
import { metricNames, substituteGrafanaVariables } from '../helpers/promql.js'
import { adminCall, send, startTestSwitchyard, startUpstream, testConfig } from '../helpers/services.js'

const DS = '${DS_PROMETHEUS}'

interface Target { readonly expr?: string, readonly datasource?: { readonly uid?: string } }
interface GridPos { readonly x: number, readonly y: number, readonly w: number, readonly h: number }
interface Panel {
  readonly id: number
  readonly type: string
  readonly title: string
  readonly gridPos: GridPos
  readonly datasource?: { readonly type?: string, readonly uid?: string }
  readonly targets?: readonly Target[]
}
interface Dashboard {
  readonly __inputs: ReadonlyArray<{ readonly name: string, readonly type: string, readonly pluginId: string }>
  readonly schemaVersion: number
  readonly uid: string
  readonly panels: readonly Panel[]
  readonly annotations: { readonly list: ReadonlyArray<{ readonly name: string, readonly expr?: string, readonly datasource?: { readonly uid?: string } }> }
  readonly templating: { readonly list: ReadonlyArray<{ readonly name: string, readonly definition?: string, readonly datasource?: { readonly uid?: string } }> }
}

const dashboard = JSON.parse(readFileSync(join(ROOT, 'deploy/grafana/switchyard.json'), 'utf8')) as Dashboard

/** Every PromQL expression of the dashboard, with where it is. */
function expressions (): Array<{ where: string, expr: string }> {
  const out: Array<{ where: string, expr: string }> = []
  for (const p of dashboard.panels) {
    for (const target of p.targets ?? []) {
      if (target.expr !== undefined) out.push({ where: `panel "${p.title}"`, expr: target.expr })
    }
  }
  for (const a of dashboard.annotations.list) {
    if (a.expr !== undefined) out.push({ where: `annotation "${a.name}"`, expr: a.expr })
  }
  for (const v of dashboard.templating.list) {
    // label_values(<metric>, <label>): the metric is a selector of its own.
    const m = /^label_values\((.+),\s*\w+\)$/.exec(v.definition ?? '')
    if (m?.[1] !== undefined) out.push({ where: `variable $${v.name}`, expr: m[1] })
  }
  return out
}

function panel (title: string): Panel {
  const p = dashboard.panels.find((x) => x.title === title)
  if (p === undefined) throw new Error(`no panel "${title}"`)
  return p
}

t.test('the metric-name extractor (the test below relies on it)', async (t) => {
  const cases: Array<[string, string[]]> = [
    ['up', ['up']],
    ['sum by (color) (rate(a_total{job=~"$job", x="y{z}"}[$__rate_interval]))', ['a_total']],
    ['histogram_quantile(0.99, sum(rate(h_bucket[5m])) by (le, color))', ['h_bucket']],
    ['a / on (job) group_left (color) b > 1.5e3 and c offset 5m', ['a', 'b', 'c']],
    ['changes(v[1m]) > 0 or increase(w_total[1m]) > 0', ['v', 'w_total']],
    ['job:rec:rate5m unless ignoring(kind) d', ['job:rec:rate5m', 'd']]
  ]
  for (const [expr, names] of cases) t.same(metricNames(expr), names, expr)
})

t.test('the dashboard is importable: a DS_PROMETHEUS input used by every panel, query and annotation', async (t) => {
  t.ok(dashboard.schemaVersion >= 36 && dashboard.schemaVersion <= 39, `schemaVersion ${dashboard.schemaVersion}`)
  t.equal(dashboard.uid, 'switchyard')
  t.same(dashboard.__inputs.map((i) => [i.name, i.type, i.pluginId]), [['DS_PROMETHEUS', 'datasource', 'prometheus']])
  const ids = dashboard.panels.map((p) => p.id)
  t.equal(new Set(ids).size, ids.length, 'panel ids are unique')
  for (const p of dashboard.panels) {
    if (p.type === 'row') continue
    t.equal(p.datasource?.uid, DS, `panel "${p.title}" uses the input`)
    t.ok((p.targets ?? []).length > 0, `panel "${p.title}" has a query`)
    for (const target of p.targets ?? []) t.equal(target.datasource?.uid, DS, `a query of "${p.title}" uses the input`)
  }
  const switches = dashboard.annotations.list.find((a) => a.name === 'Switches')
  t.equal(switches?.datasource?.uid, DS)
  for (const v of dashboard.templating.list) t.equal(v.datasource?.uid, DS, `variable $${v.name} uses the input`)
})

t.test('the dashboard shows what operators need, error ratio and p99 side by side', async (t) => {
  const selects = (title: string, name: string): void => {
    t.ok((panel(title).targets ?? []).some((x) => metricNames(x.expr ?? '').includes(name)), `"${title}" selects ${name}`)
  }
  selects('Weights', 'switchyard_weight')
  selects('Request rate by color', 'switchyard_requests_total')
  selects('5xx ratio by color', 'switchyard_requests_total')
  selects('p99 latency by color', 'switchyard_request_duration_seconds_bucket')
  selects('In-flight requests by color', 'switchyard_in_flight_requests')
  selects('Upstream errors by kind', 'switchyard_upstream_errors_total')
  selects('State version by instance', 'switchyard_state_version')
  selects('Store up', 'switchyard_store_up')
  t.match(panel('5xx ratio by color').targets?.[0]?.expr, /code_class="5xx"[\s\S]*\/[\s\S]*switchyard_requests_total/)
  t.match(panel('p99 latency by color').targets?.[0]?.expr, /^histogram_quantile\(0\.99, /)
  const ratio = panel('5xx ratio by color').gridPos
  const p99 = panel('p99 latency by color').gridPos
  t.equal(ratio.y, p99.y, 'same row')
  t.equal(ratio.x + ratio.w, p99.x, 'p99 right next to the error ratio')
  const switches = dashboard.annotations.list.find((a) => a.name === 'Switches')
  t.same(metricNames(switches?.expr ?? ''), ['switchyard_switches_total'])
})

t.test('every dashboard expression parses (promtool) and selects only metrics a real switchyard exposes', async (t) => {
  const blue = await startUpstream(t, 'blue')
  const green = await startUpstream(t, 'green')
  const sy = await startTestSwitchyard(t, testConfig([blue, green]))
  // Traffic to both colors first: prom-client exposes a histogram's series only once observed.
  t.equal((await adminCall(sy.adminUrl, 'PUT', '/weights', { weights: { blue: 50, green: 50 } })).status, 200)
  for (let i = 0; i < 20; i++) await send(sy.proxyUrl + '/')
  t.ok(blue.seen.length > 0 && green.seen.length > 0, 'both colors served')
  const exposed = sampleNames((await send(sy.adminUrl + '/metrics')).body)
  t.ok(exposed.has('switchyard_request_duration_seconds_bucket') && exposed.has('switchyard_request_duration_seconds_count'), 'histogram series are in the scrape')

  const all = expressions()
  t.ok(all.length >= 10, `${all.length} expressions`)
  for (const { where, expr } of all) {
    const names = metricNames(expr)
    t.ok(names.length > 0, `${where} selects a metric`)
    for (const name of names) t.ok(exposed.has(name), `${where}: ${name} is exposed`)
  }

  // promtool parses every expression (Grafana's variables replaced) as a recording rule.
  const dir = t.testdir({})
  const rules = ['groups:', '  - name: dashboard', '    rules:']
  all.forEach(({ expr }, i) => {
    rules.push(`      - record: dashboard_expr_${i}`, `        expr: ${JSON.stringify(substituteGrafanaVariables(expr))}`)
  })
  writeFileSync(join(dir, 'rules.yml'), rules.join('\n') + '\n')
  const run = await promtool(['check', 'rules', 'rules.yml'], { cwd: dir })
  t.equal(run.code, 0, run.stdout + run.stderr)
  t.match(run.stdout, new RegExp(`SUCCESS: ${all.length} rules found`))
})

t.test('before any request, the series the dashboard selects already exist (rate() works from the first scrape)', async (t) => {
  const blue = await startUpstream(t, 'blue')
  const green = await startUpstream(t, 'green')
  const sy = await startTestSwitchyard(t, testConfig([blue, green]))
  const exposed = sampleNames((await send(sy.adminUrl + '/metrics')).body)
  const wanted = new Set(expressions().flatMap(({ expr }) => metricNames(expr)))
  const missing = [...wanted].filter((n) => !exposed.has(n)).sort()
  t.same(missing.filter((n) => !n.startsWith('switchyard_request_duration_seconds_')), [], 'everything but the histogram')
  t.same(missing, [], 'the histogram too, before any request')
})
