import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, posix, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import t from 'tap'
import { freePort, ROOT, spawnCollected, untilValue } from '../helpers/harness.js'
import { promtool } from '../helpers/prometheus.js'
import { send } from '../helpers/services.js'
import { at, checkConfig, DEPLOY, dockerfile, envReferences, hostPort, list, yamlDocuments, type Node } from './deploy-files.js'

const DIR = join(DEPLOY, 'compose')
const compose = yamlDocuments(join(DIR, 'docker-compose.yml'))[0] ?? {}
const services = at(compose, 'services')
const SWITCHYARDS = Object.keys(services).filter((s) => /^switchyard-\d+$/.test(s))
const TOKEN = 'c'.repeat(32)

function service (name: string): Node {
  const s = services[name]
  if (typeof s !== 'object' || s === null) throw new Error(`docker-compose.yml has no service ${name}`)
  return s as Node
}

/** What compose would do with `${NAME:?message}` and `$$`: a value for each required variable. */
function interpolate (value: unknown): string {
  // Left to right, as compose does: `$$` is a literal `$`, not the start of a reference.
  return String(value).replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::\?[^}]*)?\}/g, (m, name: string | undefined) => name === undefined ? '$' : name === 'SWITCHYARD_ADMIN_TOKEN' ? TOKEN : `<${name}>`)
}

/** The host file mounted at a container path (a bind mount `./src:/dst[:ro]`, relative to the compose file). */
function mounted (svc: Node, containerPath: string): string | undefined {
  for (const v of (svc.volumes ?? []) as string[]) {
    const [src = '', dst = ''] = v.split(':')
    if (containerPath === dst) return resolve(DIR, src)
    if (containerPath.startsWith(`${dst}/`)) return join(resolve(DIR, src), containerPath.slice(dst.length + 1))
  }
  return undefined
}

function commandOf (svc: Node, key: 'command' | 'entrypoint'): string[] {
  const c = svc[key]
  return Array.isArray(c) ? c.map(interpolate) : typeof c === 'string' ? [interpolate(c)] : []
}

function environment (svc: Node): Record<string, string> {
  return Object.fromEntries(Object.entries(at(svc, 'environment')).map(([k, v]) => [k, interpolate(v)]))
}

/** Each switchyard service's config, loaded as `switchyard check` would inside its container. */
const configs = SWITCHYARDS.map((name) => {
  const svc = service(name)
  const args = commandOf(svc, 'command')
  const path = args[args.indexOf('--config') + 1] ?? ''
  const file = mounted(svc, path)
  if (file === undefined) throw new Error(`${name}: ${path} is not mounted`)
  const text = readFileSync(file, 'utf8')
  return { name, svc, args, file, text, loaded: checkConfig(text, environment(svc), `${name} ${path}`) }
})

t.test('two switchyard instances on one Redis, each config passing `switchyard check`', async (t) => {
  t.same(SWITCHYARDS, ['switchyard-1', 'switchyard-2'])
  for (const name of ['redis', 'blue', 'green', 'prometheus', 'grafana']) t.ok(services[name], `service ${name}`)
  const ids = new Set<string>()
  for (const { name, args, text, loaded, svc } of configs) {
    t.equal(args[0], 'serve', `${name} serves`)
    t.same(envReferences(text), Object.keys(at(svc, 'environment')).sort(), `${name}: the config's env references are the service's environment`)
    const store = loaded.config.store
    t.equal(store.kind, 'redis')
    const { host, port } = hostPort(store.kind === 'redis' ? store.url ?? '' : '')
    t.ok(services[host], `${name}: store.url names the compose service ${host}`)
    t.equal(port, 6379)
    ids.add(loaded.config.instance.id ?? '')
    t.ok(Number.parseFloat(String(svc.stop_grace_period)) > loaded.config.shutdown.graceSeconds, `${name}: stop_grace_period outlasts shutdown.graceSeconds`)
    t.equal(svc.init, true, `${name}: an init forwards SIGTERM to node`)
  }
  t.equal(ids.size, SWITCHYARDS.length, 'each instance has its own id')
})

t.test('ports match the config and the Dockerfile, published on loopback only', async (t) => {
  const facts = dockerfile()
  for (const { name, svc, loaded } of configs) {
    const published = ((svc.ports ?? []) as string[]).map((p) => p.split(':'))
    const inside = published.map((p) => Number(p[p.length - 1]))
    for (const [what, port] of [['listen', loaded.config.listen.port], ['admin.listen', loaded.config.admin.listen.port]] as const) {
      t.ok(inside.includes(port), `${name}: ${what}.port ${port} is published`)
      t.ok(facts.expose.includes(port), `${name}: the Dockerfile EXPOSEs ${port}`)
    }
    t.equal(loaded.config.admin.listen.host, '0.0.0.0', `${name}: reachable by Prometheus in the compose network`)
    for (const p of published) t.equal(p[0], '127.0.0.1', `${name}: ${p.join(':')} on loopback`)
  }
  for (const name of ['prometheus', 'grafana']) {
    for (const p of (service(name).ports ?? []) as string[]) t.match(p, /^127\.0\.0\.1:/, `${name}: ${p} on loopback`)
  }
})

t.test('the demo colors run the demo upstream from the image, on the port the config targets', async (t) => {
  const facts = dockerfile()
  const color = 'blue'
  const entry = commandOf(service(color), 'entrypoint')
  const script = entry[entry.length - 1] ?? ''
  const m = /import\('([^']+)'\).*startDemoUpstream\(process\.env\.DEMO_COLOR, (\d+), '0\.0\.0\.0'\)/s.exec(script)
  if (!t.ok(m, 'the entrypoint starts a demo upstream') || m === null) return
  const [, modulePath = '', port = ''] = m
  t.equal(modulePath, posix.join(facts.workdir, 'dist/demo/demo-upstreams.js'), 'the compiled module in the image')
  for (const c of ['blue', 'green']) {
    t.equal(environment(service(c)).DEMO_COLOR, c)
    t.same(commandOf(service(c), 'entrypoint'), entry, `${c} runs the same entrypoint`)
    for (const { name, loaded } of configs) {
      const targets = loaded.targets[loaded.colors.indexOf(c)] ?? []
      t.same(targets.map((x) => hostPort(x.url)), [{ host: c, port: Number(port) }], `${name}: color ${c} targets the ${c} service on ${port}`)
    }
  }
  // The same script, run here against the TypeScript source on a free loopback port.
  const free = await freePort()
  const local = script.replace(modulePath, pathToFileURL(join(ROOT, 'src/demo/demo-upstreams.ts')).href).replace(`, ${port}, '0.0.0.0'`, `, ${free}, '127.0.0.1'`)
  const child = spawnCollected(t, process.execPath, ['--import', 'tsx', ...entry.slice(1, -1), local], { DEMO_COLOR: color })
  const answer = await untilValue('the demo upstream to answer', async () => {
    try { return await send(`http://127.0.0.1:${free}/`) } catch { return undefined }
  }, { detail: () => child.stderr() })
  t.equal(answer.body, `${color}\n`)
  child.signal('SIGTERM')
})

t.test('Prometheus scrapes both admin listeners and loads our alert rules', async (t) => {
  const prometheus = service('prometheus')
  const configPath = commandOf(prometheus, 'command').find((a) => a.startsWith('--config.file='))?.split('=')[1] ?? ''
  const hostConfig = mounted(prometheus, configPath) ?? ''
  t.equal(hostConfig, join(DIR, 'prometheus.yml'))
  const config = yamlDocuments(hostConfig)[0] ?? {}
  const job = list(config, 'scrape_configs').find((j) => j.job_name === 'switchyard') ?? {}
  t.equal(job.metrics_path, '/metrics')
  const targets = list(job, 'static_configs').flatMap((s) => (s.targets ?? []) as string[]).sort()
  t.same(targets, configs.map((c) => `${c.name}:${c.loaded.config.admin.listen.port}`).sort(), 'every switchyard admin listener')
  const rules = ((config.rule_files ?? []) as string[]).map((r) => mounted(prometheus, posix.resolve(posix.dirname(configPath), r)))
  t.same(rules, [join(DEPLOY, 'prometheus', 'alerts.yml')], 'the rules are deploy/prometheus/alerts.yml')
  // promtool checks the config and the rules it names, laid out as in the container.
  const root = mkdtempSync(join(tmpdir(), 'swy-compose-'))
  t.teardown(() => rmSync(root, { recursive: true, force: true }))
  for (const v of (prometheus.volumes ?? []) as string[]) {
    const [src = '', dst = ''] = v.split(':')
    mkdirSync(dirname(join(root, dst)), { recursive: true })
    copyFileSync(resolve(DIR, src), join(root, dst))
  }
  const run = await promtool(['check', 'config', join(root, configPath)])
  t.equal(run.code, 0, `promtool check config\n${run.stdout}${run.stderr}`)
  t.match(run.stdout, /SUCCESS: \d+ rules found/)
})

t.test('Grafana gets the Prometheus data source and our dashboard, pointed at it', async (t) => {
  const grafana = service('grafana')
  const provisioning = mounted(grafana, '/etc/grafana/provisioning') ?? ''
  const source = list(yamlDocuments(join(provisioning, 'datasources', 'prometheus.yml'))[0], 'datasources')[0] ?? {}
  t.equal(source.type, 'prometheus')
  const { host, port } = hostPort(String(source.url))
  t.equal(host, 'prometheus', 'the compose service')
  t.equal(port, 9090, "Prometheus' own port inside the network")
  const provider = list(yamlDocuments(join(provisioning, 'dashboards', 'switchyard.yml'))[0], 'providers')[0] ?? {}
  const folder = String(at(provider, 'options').path)
  // The entrypoint copies the mounted dashboard into the provider's folder with sed.
  const script = commandOf(grafana, 'entrypoint').join(' ')
  const sed = /sed 's\/((?:\\.|[^/])+)\/([^/]*)\/g' (\S+) > (\S+)/.exec(script)
  if (!t.ok(sed, 'the entrypoint rewrites the dashboard') || sed === null) return
  const [, pattern = '', replacement = '', from = '', to = ''] = sed
  t.equal(posix.dirname(to), folder, 'into the folder the provider loads')
  t.match(script, /exec \/run\.sh$/, "then runs Grafana's own entrypoint")
  const dashboardFile = mounted(grafana, from) ?? ''
  t.equal(dashboardFile, join(DEPLOY, 'grafana', 'switchyard.json'), 'our dashboard')
  t.ok(existsSync(dashboardFile))
  const rewritten = readFileSync(dashboardFile, 'utf8').replaceAll(pattern.replace(/\\(.)/g, '$1'), replacement)
  const uids = new Set([...rewritten.matchAll(/"datasource":\s*\{\s*"type":\s*"prometheus",\s*"uid":\s*"([^"]*)"/g)].map((m) => m[1]))
  t.same([...uids], [source.uid], 'every Prometheus query uses the provisioned data source')
  t.equal((JSON.parse(rewritten) as { uid?: unknown }).uid, 'switchyard')
})
