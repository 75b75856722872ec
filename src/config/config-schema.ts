/**
 * The configuration's one definition, in TypeBox: it is the JSON Schema Ajv validates a file
 * with (defaults included), the `Config` type (by `Static`), and the source of
 * config/switchyard.schema.json, which is generated from it for editors (`npm run schema`;
 * test/config/config-schema.test.ts fails when the committed file differs).
 * Properties with a default are written `Defaulted(schema, value)`: optional in a file,
 * always present once validated.
 */
import { Type, type Static } from 'typebox'
import { Defaulted, DefaultedObject, Dictionary, OneOf } from './schema-kit.js'

/** Milliseconds from `minimum` to `maximum`, defaulting to `value`. */
function ms (minimum: number, maximum: number, value: number, description?: string) {
  return Defaulted(Type.Integer({ minimum, maximum, ...(description === undefined ? {} : { description }) }), value)
}

const port = Type.Integer({ minimum: 1, maximum: 65535 })
const hostPort = Type.Object({ host: Type.String({ minLength: 1 }), port }, { additionalProperties: false })

/** A host and port to listen on, optionally with TLS. */
export const listenSchema = Type.Object({
  host: Defaulted(Type.String({ minLength: 1 }), '127.0.0.1'),
  port: Type.Integer({ minimum: 0, maximum: 65535 }),
  tls: Type.Optional(Type.Object({
    cert: Type.String({ minLength: 1, description: 'path to a PEM certificate (chain)' }),
    key: Type.String({ minLength: 1, description: 'path to a PEM private key' })
  }, { additionalProperties: false, description: 'serve HTTPS with this certificate and key' }))
}, { additionalProperties: false })

/** An admin bearer token: a name (recorded as changedBy) and a role. */
export const adminTokenSchema = Type.Object({
  name: Type.String({ pattern: '^[A-Za-z0-9_.@-]{1,64}$', description: 'recorded as changedBy' }),
  // eslint-disable-next-line no-template-curly-in-string -- the description names the ${ENV} syntax on purpose
  token: Type.String({ minLength: 16, maxLength: 512, description: 'the bearer token (16 characters or more); use ${ENV}' }),
  role: Defaulted(Type.Enum(['read', 'write'], { description: 'read: GET routes only; write: everything' }), 'write')
}, { additionalProperties: false })

const url = Type.String({ pattern: '^https?://' })

/** One target of a color: an origin, or `{ id, url }`. */
export const targetEntrySchema = OneOf([
  url,
  Type.Object({ id: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_.:-]{1,64}$' })), url }, { additionalProperties: false })
])

/** The fields of `health.active`, without defaults (the global block adds them; a color's block overrides it field by field). */
const ACTIVE = {
  path: Type.String({ pattern: '^/', description: 'active checks run only when path is set' }),
  intervalMs: Type.Integer({ minimum: 50, maximum: 600000, description: 'time between checks of a target' }),
  timeoutMs: Type.Integer({ minimum: 10, maximum: 60000, description: 'a check not answered within this fails' }),
  healthyThreshold: Type.Integer({ minimum: 1, maximum: 100, description: 'passes in a row that make a target healthy' }),
  unhealthyThreshold: Type.Integer({ minimum: 1, maximum: 100, description: 'failures in a row that make a target unhealthy' })
}

/** The fields of `health.passive`, without defaults. */
const PASSIVE = {
  enabled: Type.Boolean({ description: 'eject a target after consecutive upstream failures' }),
  consecutiveFailures: Type.Integer({ minimum: 1, maximum: 1000, description: 'upstream failures in a row that eject a target' }),
  baseEjectionMs: Type.Integer({ minimum: 10, maximum: 3600000, description: 'the first ejection; each next one doubles' }),
  maxEjectionMs: Type.Integer({ minimum: 10, maximum: 86400000, description: 'the longest ejection; at least baseEjectionMs' })
}

/**
 * `colors.<name>.health`: the color's own health settings, each field overriding the global
 * `health` block's (which is the default of every field left out). No defaults here: an
 * absent field must fall through to the global one, not to the schema's default.
 */
export const colorHealthSchema = Type.Object({
  active: Type.Optional(Type.Object({
    path: Type.Optional(ACTIVE.path),
    intervalMs: Type.Optional(ACTIVE.intervalMs),
    timeoutMs: Type.Optional(ACTIVE.timeoutMs),
    healthyThreshold: Type.Optional(ACTIVE.healthyThreshold),
    unhealthyThreshold: Type.Optional(ACTIVE.unhealthyThreshold)
  }, { additionalProperties: false })),
  passive: Type.Optional(Type.Object({
    enabled: Type.Optional(PASSIVE.enabled),
    consecutiveFailures: Type.Optional(PASSIVE.consecutiveFailures),
    baseEjectionMs: Type.Optional(PASSIVE.baseEjectionMs),
    maxEjectionMs: Type.Optional(PASSIVE.maxEjectionMs)
  }, { additionalProperties: false }))
}, { additionalProperties: false, description: "this color's health settings, field by field over the global health block (a new version may expose another health path or need other thresholds)" })

const fileStore = Type.Object({
  kind: Type.Literal('file'),
  path: Type.String({ minLength: 1 })
}, { additionalProperties: false })

const memoryStore = Type.Object({
  kind: Type.Literal('memory')
}, { additionalProperties: false })

const redisStore = Type.Object({
  kind: Type.Literal('redis'),
  url: Type.Optional(Type.String({ pattern: '^rediss?://' })),
  sentinels: Type.Optional(Type.Array(hostPort, { minItems: 1 })),
  name: Type.Optional(Type.String({ minLength: 1, description: 'the Sentinel master group name (required with sentinels)' })),
  cluster: Type.Optional(Type.Array(hostPort, { minItems: 1, description: 'Cluster seed nodes' })),
  options: Type.Optional(Dictionary(Type.Unknown(), { description: 'passed through to ioredis (password, username, tls, db, sentinelPassword, …)' })),
  prefix: Defaulted(Type.String({ pattern: '^[A-Za-z0-9_.:-]{1,64}$' }), 'swy'),
  commandTimeoutMs: ms(10, 60000, 1000),
  connectTimeoutMs: ms(10, 60000, 2000),
  resyncIntervalMs: ms(100, 600000, 5000),
  heartbeatMs: ms(50, 60000, 1000),
  instanceTtlMs: ms(200, 600000, 5000),
  lastKnownPath: Defaulted(Type.String({ minLength: 1 }), './data/last-known-state.json')
}, { additionalProperties: false })

/** Where the routing state lives: one of the three store kinds, told apart by `kind`. */
export const storeSchema = Object.assign(OneOf([fileStore, memoryStore, redisStore]), {
  type: 'object',
  required: ['kind'],
  discriminator: { propertyName: 'kind' },
  properties: { kind: { enum: ['file', 'memory', 'redis'] } }
})

/**
 * `colors.<name>.discovery`: the color's targets are the A/AAAA records of a name, resolved by
 * each instance (src/discovery/), never stored. `resolver` sends the queries to one server.
 */
export const discoverySchema = Type.Object({
  dns: Type.String({ minLength: 1, maxLength: 253, description: 'the name whose A and AAAA records are the targets' }),
  port: Type.Integer({ minimum: 1, maximum: 65535, description: 'the port of every discovered target' }),
  scheme: Defaulted(Type.Enum(['http', 'https'], { description: 'the scheme of every discovered target' }), 'http'),
  intervalMs: ms(100, 3600000, 5000, 'resolve at least this often (sooner when a TTL runs out first, but not more often than every second for a TTL)'),
  timeoutMs: ms(10, 60000, 2000, 'how long a query waits for an answer (tried twice)'),
  resolver: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'the DNS server to ask, ip:port ([v6]:port) or ip (port 53); default: the system\'s (meant for tests and sidecar resolvers)' }))
}, { additionalProperties: false, description: "resolve the color's targets from DNS (each instance resolves; discovered targets are never stored)" })

/** The whole configuration file. */
export const configSchema = Type.Object({
  listen: Defaulted(Type.Object(listenSchema.properties, { additionalProperties: false, description: 'the data path listener' }), { host: '127.0.0.1', port: 8080 }),
  admin: DefaultedObject(Type.Object({
    listen: Defaulted(Type.Object(listenSchema.properties, { additionalProperties: false, description: 'the admin API listener; not on loopback, tokens are required' }), { host: '127.0.0.1', port: 9090 }),
    tokens: Defaulted(Type.Array(adminTokenSchema, { description: 'bearer tokens; none: the admin API must listen on loopback' }), []),
    bodyLimit: Defaulted(Type.Integer({ minimum: 256, maximum: 1048576, description: 'the largest admin request body, in bytes' }), 16384)
  }, { additionalProperties: false })),
  colors: Dictionary(Type.Object({
    targets: Type.Optional(Type.Array(targetEntrySchema, { minItems: 1, maxItems: 256, description: "the color's instances: an origin http(s)://host:port, or { id, url } (a color needs targets, discovery or both)" })),
    health: Type.Optional(colorHealthSchema),
    discovery: Type.Optional(discoverySchema)
  }, { additionalProperties: false }), { minProperties: 1, maxProperties: 16, propertyNames: { pattern: '^[a-z][a-z0-9-]{0,31}$' }, description: 'the colors, in order (the last color is the canary side)' }),
  initial: DefaultedObject(Type.Object({
    weights: Type.Optional(Dictionary(Type.Number(), { description: 'percent per color, summing to 100, used only when the store is empty (default: everything on the first color)' }))
  }, { additionalProperties: false })),
  sticky: DefaultedObject(Type.Object({
    mode: Defaulted(Type.Enum(['cookie', 'header', 'none'], { description: 'what keeps a client on its color' }), 'cookie'),
    cookie: Defaulted(Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$', description: 'the sticky cookie name' }), 'swy'),
    header: Defaulted(Type.String({ pattern: '^[A-Za-z0-9-]{1,64}$', description: 'the header hashed in header mode' }), 'x-user-id'),
    ttlSeconds: Defaulted(Type.Integer({ minimum: 1, maximum: 31536000, description: 'cookie lifetime (an older cookie gets a fresh bucket)' }), 86400),
    secure: Defaulted(Type.Boolean({ description: 'the cookie Secure attribute' }), false),
    sameSite: Defaulted(Type.Enum(['Lax', 'Strict', 'None'], { description: 'the cookie SameSite attribute (None implies Secure)' }), 'Lax'),
    salt: Type.Optional(Type.String({ minLength: 1, description: 'salt of header hashing (default: derived from the store secret)' }))
  }, { additionalProperties: false })),
  overrides: DefaultedObject(Type.Object({
    enabled: Defaulted(Type.Boolean({ description: 'honour the override header' }), false),
    header: Defaulted(Type.String({ pattern: '^[A-Za-z0-9-]{1,64}$', description: 'the override header' }), 'x-switchyard-color'),
    secret: Type.Optional(Type.String({ minLength: 16, description: 'require signed override values' }))
  }, { additionalProperties: false })),
  store: Defaulted(storeSchema, { kind: 'file', path: './data/state.json' }),
  upstream: DefaultedObject(Type.Object({
    connectTimeoutMs: ms(1, 600000, 5000, 'connect timeout (then 504)'),
    responseTimeoutMs: ms(1, 3600000, 30000, 'time to response headers (then 504)'),
    bodyTimeoutMs: ms(0, 3600000, 30000, 'idle time between body chunks (0: none)'),
    connections: Defaulted(Type.Integer({ minimum: 1, maximum: 4096, description: 'connections per target' }), 128),
    keepAliveTimeoutMs: ms(1, 600000, 4000, 'idle keep-alive'),
    rejectUnauthorized: Defaulted(Type.Boolean({ description: 'verify the TLS certificates of https targets' }), true)
  }, { additionalProperties: false })),
  proxy: DefaultedObject(Type.Object({
    bodyLimit: Defaulted(Type.Integer({ minimum: 0, maximum: 1073741824, description: 'the largest proxied request body, in bytes (413 beyond)' }), 10485760),
    trustForwarded: Defaulted(Type.Boolean({ description: 'append to incoming X-Forwarded-* instead of replacing them' }), false),
    websocket: Defaulted(Type.Boolean({ description: 'proxy WebSocket upgrades to the chosen color' }), true),
    requestTimeoutMs: ms(100, 3600000, 60000, 'the whole request (headers and body) must arrive within this time, else 408'),
    headersTimeoutMs: ms(100, 3600000, 10000, 'the request headers must arrive within this time, else 408; at most requestTimeoutMs'),
    maxConnections: Defaulted(Type.Integer({ minimum: 1, maximum: 1000000, description: 'client connections held open at once; more are closed on accept' }), 10000),
    websocketMaxPayload: Defaulted(Type.Integer({ minimum: 1024, maximum: 1073741824, description: 'the largest WebSocket message a client may send (bytes); larger closes the socket with 1009' }), 16777216)
  }, { additionalProperties: false })),
  log: DefaultedObject(Type.Object({
    level: Defaulted(Type.Enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], { description: 'pino level; requests are not logged, changes are' }), 'info')
  }, { additionalProperties: false })),
  workers: Defaulted(Type.Union([Type.Integer({ minimum: 1, maximum: 256 }), Type.Literal('auto')], { description: 'data-path processes sharing the listener (1: one process, as before; auto: one per available core); see docs/workers.md' }), 1),
  shutdown: DefaultedObject(Type.Object({
    graceSeconds: Defaulted(Type.Integer({ minimum: 0, maximum: 3600, description: 'how long SIGTERM waits for in-flight requests' }), 30)
  }, { additionalProperties: false })),
  instance: DefaultedObject(Type.Object({
    id: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_.:-]{1,128}$', description: "this instance's id in heartbeats (default: host-pid-random)" }))
  }, { additionalProperties: false })),
  health: DefaultedObject(Type.Object({
    active: DefaultedObject(Type.Object({
      path: Type.Optional(ACTIVE.path),
      intervalMs: Defaulted(ACTIVE.intervalMs, 2000),
      timeoutMs: Defaulted(ACTIVE.timeoutMs, 1000),
      healthyThreshold: Defaulted(ACTIVE.healthyThreshold, 2),
      unhealthyThreshold: Defaulted(ACTIVE.unhealthyThreshold, 3)
    }, { additionalProperties: false })),
    passive: DefaultedObject(Type.Object({
      enabled: Defaulted(PASSIVE.enabled, true),
      consecutiveFailures: Defaulted(PASSIVE.consecutiveFailures, 5),
      baseEjectionMs: Defaulted(PASSIVE.baseEjectionMs, 10000),
      maxEjectionMs: Defaulted(PASSIVE.maxEjectionMs, 300000)
    }, { additionalProperties: false }))
  }, { additionalProperties: false })),
  retry: DefaultedObject(Type.Object({
    // Typed as strings: the data path tests any request's method against this list.
    methods: Defaulted(Type.Array(Type.Unsafe<string>(Type.Enum(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE'])), { uniqueItems: true, description: 'methods retried once on another target after a refused or reset connection' }), ['GET', 'HEAD', 'OPTIONS'])
  }, { additionalProperties: false })),
  rollout: DefaultedObject(Type.Object({
    tickMs: ms(20, 10000, 250, 'how often each instance looks at the rollout (and the lease holder drives it)'),
    leaseTtlMs: ms(200, 600000, 5000, 'the driver lease: another instance takes a rollout over this long after its driver died')
  }, { additionalProperties: false })),
  metrics: DefaultedObject(Type.Object({
    enabled: Defaulted(Type.Boolean({ description: 'per-request metrics on the data path (off only to measure what they cost)' }), true)
  }, { additionalProperties: false }))
}, {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: 'https://switchyard.dev/schema/config.json',
  title: 'switchyard configuration',
  additionalProperties: false
})

/** Makes every property, array and record of a validated value read-only. */
export type DeepReadonly<T> =
  T extends ReadonlyArray<infer U> ? ReadonlyArray<DeepReadonly<U>>
    : T extends object ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
      : T

/** The validated configuration, after defaults: every defaulted field is present. */
export type Config = DeepReadonly<Static<typeof configSchema>>
