import { existsSync, readFileSync } from 'node:fs'
import { basename, join, posix } from 'node:path'
import t from 'tap'
import { ROUTE_ANSWERS } from '../../src/admin/openapi.js'
import { at, checkConfig, DEPLOY, dockerfile, envReferences, hostPort, list, yamlDocuments, yamlFiles, type Node } from './deploy-files.js'

const K8S = join(DEPLOY, 'kubernetes')
const TOKEN = 'k'.repeat(32)

/** Every Kubernetes object of deploy/kubernetes, by `Kind/name`. */
function objects (): Map<string, Node> {
  const out = new Map<string, Node>()
  for (const file of yamlFiles(K8S)) {
    for (const doc of yamlDocuments(file)) {
      if (doc.kind === 'Kustomization') continue
      out.set(`${String(doc.kind)}/${String(at(doc, 'metadata').name)}`, doc)
    }
  }
  return out
}

function must (map: Map<string, Node>, key: string): Node {
  const v = map.get(key)
  if (v === undefined) throw new Error(`deploy/kubernetes has no ${key}`)
  return v
}

const k8s = objects()
const deployment = must(k8s, 'Deployment/switchyard')
const pod = at(deployment, 'spec', 'template', 'spec')
const container = list(pod, 'containers').find((c) => c.name === 'switchyard') ?? {}
const configMap = must(k8s, 'ConfigMap/switchyard-config')
const secret = must(k8s, 'Secret/switchyard-tokens')
const configText = String(at(configMap, 'data')['switchyard.yaml'] ?? '')

/** The container's environment with sample values: secrets as `secretValue(key)`, the pod name for fieldRefs. */
function containerEnv (secretValue: (name: string, key: string) => string): Record<string, string> {
  const env: Record<string, string> = {}
  for (const e of list(container, 'env')) {
    const ref = at(e, 'valueFrom', 'secretKeyRef')
    const field = at(e, 'valueFrom', 'fieldRef')
    env[String(e.name)] = typeof e.value === 'string' ? e.value : ref.key !== undefined ? secretValue(String(ref.name), String(ref.key)) : field.fieldPath === 'metadata.name' ? 'switchyard-7d9f8c6b5-x2x4q' : ''
  }
  return env
}

/** A container port by name or number. */
function portOf (c: Node, port: unknown): number | undefined {
  if (typeof port === 'number') return port
  const p = list(c, 'ports').find((x) => x.name === port)
  return typeof p?.containerPort === 'number' ? p.containerPort : undefined
}

const loaded = checkConfig(configText, containerEnv((_n, key) => `${key}-${TOKEN}`), 'ConfigMap switchyard-config')

t.test('every file under deploy/ parses as YAML (or JSON) without a warning', async (t) => {
  const files = yamlFiles(DEPLOY)
  t.ok(files.length >= 10, `${files.length} YAML files`)
  for (const f of files) t.doesNotThrow(() => yamlDocuments(f), f.slice(DEPLOY.length + 1))
  const kustomization = yamlDocuments(join(K8S, 'kustomization.yaml'))[0]
  const resources = (kustomization?.resources ?? []) as string[]
  t.same([...resources].sort(), yamlFiles(K8S).map((f) => basename(f)).filter((f) => f !== 'kustomization.yaml').sort(), 'kustomization.yaml lists every manifest')
})

t.test('the ConfigMap config passes `switchyard check` with the env the Deployment gives it', async (t) => {
  t.same(loaded.colors, ['blue', 'green'])
  t.equal(loaded.config.store.kind, 'redis', 'replicas share the state through Redis')
  const names = list(container, 'env').map((e) => String(e.name)).sort()
  t.same(envReferences(configText), names, 'the env the config references is exactly the env the container has')
  for (const e of list(container, 'env')) {
    const ref = at(e, 'valueFrom', 'secretKeyRef')
    if (ref.name === undefined) continue
    t.equal(ref.name, at(secret, 'metadata').name, `${String(e.name)} comes from the tokens Secret`)
    t.ok(String(ref.key) in at(secret, 'stringData'), `the Secret has key ${String(ref.key)}`)
  }
})

t.test('the Secret holds placeholders that switchyard refuses to start with', async (t) => {
  const data = at(secret, 'stringData')
  t.ok(Object.keys(data).length >= 1)
  t.same(at(secret, 'data'), {}, 'nothing base64-encoded to hide a real token')
  const placeholders = containerEnv((_name, key) => String(data[key]))
  t.throws(() => checkConfig(configText, placeholders, 'ConfigMap with the placeholder tokens'), { code: 'SWY_ERR_CONFIG_INVALID', message: /admin\.tokens\[0\]\.token.*16/s })
})

t.test('ports and probes match the config, the Dockerfile and the admin API', async (t) => {
  const facts = dockerfile()
  const { listen, admin } = loaded.config
  t.equal(portOf(container, 'http'), listen.port, 'the http port is listen.port')
  t.equal(portOf(container, 'admin'), admin.listen.port, 'the admin port is admin.listen.port')
  for (const p of [listen.port, admin.listen.port]) t.ok(facts.expose.includes(p), `the Dockerfile EXPOSEs ${p}`)
  t.equal(admin.listen.host, '0.0.0.0', 'the admin API is reachable by the kubelet and Prometheus')
  t.equal(listen.host, '0.0.0.0')
  for (const [probe, path] of [['readinessProbe', '/readyz'], ['livenessProbe', '/healthz']] as const) {
    const get = at(container, probe, 'httpGet')
    t.equal(get.path, path, `${probe} on ${path}`)
    t.equal(portOf(container, get.port), admin.listen.port, `${probe} on the admin port`)
    t.equal(ROUTE_ANSWERS[`GET ${path}`]?.access, 'open', `${path} needs no token (probes carry none)`)
  }
  const annotations = at(deployment, 'spec', 'template', 'metadata', 'annotations')
  t.equal(Number(annotations['prometheus.io/port']), admin.listen.port, 'scraped on the admin port')
  t.equal(annotations['prometheus.io/path'], '/metrics')
  t.ok(facts.entrypoint.includes('dist/cli.js'), 'the image runs the switchyard CLI')
  const args = (container.args ?? []) as string[]
  t.equal(args[0], 'serve')
  const configPath = args[args.indexOf('--config') + 1] ?? ''
  const mount = list(container, 'volumeMounts').find((m) => posix.dirname(configPath) === m.mountPath)
  const volume = list(pod, 'volumes').find((v) => v.name === mount?.name)
  t.equal(at(volume, 'configMap').name, at(configMap, 'metadata').name, `${configPath} is mounted from the ConfigMap`)
  t.ok(posix.basename(configPath) in at(configMap, 'data'), `the ConfigMap has ${posix.basename(configPath)}`)
})

t.test('3 replicas that drain on SIGTERM within the grace period', async (t) => {
  t.equal(at(deployment, 'spec').replicas, 3)
  const command = (at(container, 'lifecycle', 'preStop', 'exec').command ?? []) as string[]
  t.equal(command[0], 'sleep', 'preStop pauses while the endpoints are removed')
  const pause = Number(command[1])
  t.ok(pause > 0)
  const grace = Number(pod.terminationGracePeriodSeconds)
  const drain = loaded.config.shutdown.graceSeconds
  t.ok(grace > pause + drain, `terminationGracePeriodSeconds ${grace} > preStop ${pause} s + shutdown.graceSeconds ${drain} s`)
  t.equal(at(deployment, 'spec', 'strategy', 'rollingUpdate').maxUnavailable, 0, 'a rolling update never removes a serving pod first')
  t.equal(at(container, 'securityContext').readOnlyRootFilesystem, true)
  const store = loaded.config.store
  const lastKnown = store.kind === 'redis' ? store.lastKnownPath : ''
  const writable = list(container, 'volumeMounts').find((m) => lastKnown.startsWith(`${String(m.mountPath)}/`) && m.readOnly !== true)
  t.ok(writable, `store.lastKnownPath ${lastKnown} is on a writable volume`)
})

t.test('Services select the pods and name their ports; the config points at the Redis Service', async (t) => {
  const labels = at(deployment, 'spec', 'template', 'metadata', 'labels')
  t.same(at(deployment, 'spec', 'selector', 'matchLabels'), labels)
  for (const name of ['switchyard', 'switchyard-admin']) {
    const svc = must(k8s, `Service/${name}`)
    t.same(at(svc, 'spec', 'selector'), labels, `${name} selects the switchyard pods`)
    for (const p of list(svc, 'spec', 'ports')) t.ok(portOf(container, p.targetPort), `${name} port ${String(p.name)} targets a container port`)
  }
  const store = loaded.config.store
  const { host, port } = hostPort(store.kind === 'redis' ? store.url ?? '' : '')
  const redisService = must(k8s, `Service/${host}`)
  t.ok(list(redisService, 'spec', 'ports').some((p) => p.port === port), `Service ${host} has port ${port}`)
  const redis = must(k8s, `Deployment/${host}`)
  t.same(at(redisService, 'spec', 'selector'), at(redis, 'spec', 'template', 'metadata', 'labels'), 'the Redis Service selects the Redis pod')
  const redisContainer = list(redis, 'spec', 'template', 'spec', 'containers')[0] ?? {}
  const target = list(redisService, 'spec', 'ports').find((p) => p.port === port)?.targetPort
  t.equal(portOf(redisContainer, target), 6379, 'and reaches redis-server')
})

t.test('the Grafana dashboard and alert rules that the compose files provision exist', async (t) => {
  t.ok(existsSync(join(DEPLOY, 'grafana', 'switchyard.json')))
  t.doesNotThrow(() => JSON.parse(readFileSync(join(DEPLOY, 'grafana', 'switchyard.json'), 'utf8')))
  t.ok(existsSync(join(DEPLOY, 'prometheus', 'alerts.yml')))
})
