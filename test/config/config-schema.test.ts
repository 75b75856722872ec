import { readFile } from 'node:fs/promises'
import t from 'tap'
import { configSchema } from '../../src/config/config-schema.js'
import { defaultConfigInput, validateConfig } from '../../src/config/load-config.js'
import { configSchemaText, SCHEMA_FILE } from '../../src/config/schema-file.js'

t.test(`${SCHEMA_FILE} is generated from src/config/config-schema.ts`, async (t) => {
  const committed = await readFile(new URL(`../../${SCHEMA_FILE}`, import.meta.url), 'utf8')
  t.ok(committed === configSchemaText(), `${SCHEMA_FILE} differs from the schema in src/config/config-schema.ts: run \`npm run schema\` (node --import tsx src/config/schema-file.ts) and commit the file`)
  const shipped = JSON.parse(committed) as Record<string, unknown>
  t.equal(shipped.$schema, 'http://json-schema.org/draft-07/schema#', 'a draft-07 schema editors know')
  t.equal(shipped.$id, 'https://switchyard.dev/schema/config.json')
})

/** Every default of a minimal config: what an operator gets for each key they leave out. */
const DEFAULTS = {
  listen: { host: '127.0.0.1', port: 8080 },
  admin: { listen: { host: '127.0.0.1', port: 9090 }, tokens: [], bodyLimit: 16384 },
  initial: {},
  sticky: { mode: 'cookie', cookie: 'swy', header: 'x-user-id', ttlSeconds: 86400, secure: false, sameSite: 'Lax' },
  overrides: { enabled: false, header: 'x-switchyard-color' },
  store: { kind: 'file', path: './data/state.json' },
  upstream: { connectTimeoutMs: 5000, responseTimeoutMs: 30000, bodyTimeoutMs: 30000, connections: 128, keepAliveTimeoutMs: 4000, rejectUnauthorized: true },
  proxy: { bodyLimit: 10485760, trustForwarded: false, websocket: true, requestTimeoutMs: 60000, headersTimeoutMs: 10000, maxConnections: 10000, websocketMaxPayload: 16777216 },
  log: { level: 'info' },
  workers: 1,
  shutdown: { graceSeconds: 30 },
  instance: {},
  health: {
    active: { intervalMs: 2000, timeoutMs: 1000, healthyThreshold: 2, unhealthyThreshold: 3 },
    passive: { enabled: true, consecutiveFailures: 5, baseEjectionMs: 10000, maxEjectionMs: 300000 }
  },
  retry: { methods: ['GET', 'HEAD', 'OPTIONS'] },
  rollout: { tickMs: 250, leaseTtlMs: 5000 },
  metrics: { enabled: true }
}

t.test('the schema gives every default', async (t) => {
  const colors = { blue: { targets: ['http://127.0.0.1:3001'] } }
  t.strictSame(validateConfig({ colors }, {}, 'test').config, { ...DEFAULTS, colors })
  const redis = validateConfig({ colors, store: { kind: 'redis', url: 'redis://127.0.0.1:6379' } }, {}, 'test').config.store
  t.strictSame(redis, { kind: 'redis', url: 'redis://127.0.0.1:6379', prefix: 'swy', commandTimeoutMs: 1000, connectTimeoutMs: 2000, resyncIntervalMs: 5000, heartbeatMs: 1000, instanceTtlMs: 5000, lastKnownPath: './data/last-known-state.json' })
  const listen = validateConfig({ colors, listen: { port: 8443, tls: { cert: 'c.pem', key: 'k.pem' } } }, {}, 'test').config.listen
  t.strictSame(listen, { port: 8443, tls: { cert: 'c.pem', key: 'k.pem' }, host: '127.0.0.1' }, 'listen.host defaults inside a given listen')
})

t.test('the embedded defaults (no --config) are the schema defaults plus the demo colors', async (t) => {
  const { config, initialWeights } = validateConfig(defaultConfigInput(), {}, 'embedded defaults')
  t.strictSame(config, {
    ...DEFAULTS,
    colors: { blue: { targets: ['http://127.0.0.1:3001'] }, green: { targets: ['http://127.0.0.1:3002'] } },
    initial: { weights: { blue: 100, green: 0 } }
  })
  t.strictSame(initialWeights, { blue: 10_000, green: 0 })
})

t.test('a key with a default is optional in the file, so editors do not ask for it', async (t) => {
  /** Walks every object schema, asserting no required property has a default. */
  function walk (schema: unknown, where: string): void {
    if (typeof schema !== 'object' || schema === null) return
    const s = schema as { properties?: Record<string, { default?: unknown }>, required?: string[] }
    for (const name of s.required ?? []) t.equal(s.properties?.[name]?.default, undefined, `${where}.${name} is required and has no default`)
    for (const [k, v] of Object.entries(s)) {
      if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${where}.${k}[${i}]`))
      else walk(v, `${where}.${k}`)
    }
  }
  walk(configSchema, '(schema)')
  const proxy = configSchema.properties.proxy.properties
  t.match(proxy.requestTimeoutMs, { default: 60000, description: /408/ }, 'proxy.requestTimeoutMs keeps its default and description')
  t.match(proxy.headersTimeoutMs, { default: 10000, description: /requestTimeoutMs/ })
  t.match(proxy.maxConnections, { default: 10000, description: /closed on accept/ })
  t.match(proxy.websocketMaxPayload, { default: 16777216, description: /1009/ })
  t.match(configSchema.properties.listen.properties.tls, { required: ['cert', 'key'], description: /HTTPS/ })
  t.match(configSchema.properties.admin.properties.listen.properties.tls, { required: ['cert', 'key'], description: /HTTPS/ })
})

t.test('workers: a count from 1 to 256 or auto; anything else stops the start', async (t) => {
  const colors = { blue: { targets: ['http://127.0.0.1:3001'] } }
  t.equal(validateConfig({ colors, workers: 4 }, {}, 'test').config.workers, 4)
  t.equal(validateConfig({ colors, workers: 'auto' }, {}, 'test').config.workers, 'auto')
  for (const workers of [0, 257, 1.5, 'all', -1]) {
    t.throws(() => validateConfig({ colors, workers }, {}, 'test'), { code: 'SWY_ERR_CONFIG_INVALID', message: /workers/ }, `workers: ${JSON.stringify(workers)} is refused`)
  }
})
