/**
 * The Lua scripts of the Redis store. Each runs atomically on the server, so a
 * compare-and-set, its history entry and its notification happen together or not at all.
 * Every key shares one hash tag, so the scripts also run on Redis Cluster. The store
 * registers them with ioredis `defineCommand`: each call is an EVALSHA (the script text is
 * sent again only when the server does not have it, e.g. after a restart).
 */

/** A script as ioredis `defineCommand` takes it, under the command name the store calls. */
export interface ScriptDefinition {
  readonly name: string
  readonly numberOfKeys: number
  readonly lua: string
}

/** The version of a stored state JSON (0 when absent, -1 when it cannot be read). */
const VERSION_OF = `
local function version_of(cur)
  if not cur then return 0 end
  local ok, doc = pcall(cjson.decode, cur)
  if not ok or type(doc) ~= 'table' or type(doc['version']) ~= 'number' then return -1 end
  return doc['version']
end
`

/**
 * KEYS: state, history. ARGV: expected version, next state JSON, history entry JSON,
 * history cap, channel, next version. Returns {1, ''} on success, {0, current JSON or ''}
 * (a current state that cannot be read never matches, so it is never overwritten).
 */
export const CAS: ScriptDefinition = {
  name: 'swyCompareAndSet',
  numberOfKeys: 2,
  lua: VERSION_OF + `
local cur = redis.call('GET', KEYS[1])
if version_of(cur) ~= tonumber(ARGV[1]) then return {0, cur or ''} end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('LPUSH', KEYS[2], ARGV[3])
redis.call('LTRIM', KEYS[2], 0, tonumber(ARGV[4]) - 1)
redis.call('PUBLISH', ARGV[5], ARGV[6])
return {1, ''}
`
}

/**
 * KEYS: state, history, secret. ARGV: version, state JSON, history entry JSON, history cap,
 * channel, secret. Writes the state only when the stored one is missing or older (never
 * lowers the version), and then its secret with it: the highest version wins whole, so the
 * cookies its users hold stay valid. Otherwise puts the secret back only if it is missing.
 * Returns {1, ''} when it wrote the state, {0, ''} when not, {-1, current} when the stored
 * state cannot be read (left for the operator, never overwritten).
 */
export const RESEED: ScriptDefinition = {
  name: 'swyReseed',
  numberOfKeys: 3,
  lua: VERSION_OF + `
local cur = redis.call('GET', KEYS[1])
local v = version_of(cur)
if v < 0 then return {-1, cur} end
if v >= tonumber(ARGV[1]) then
  redis.call('SET', KEYS[3], ARGV[6], 'NX')
  return {0, ''}
end
redis.call('SET', KEYS[3], ARGV[6])
redis.call('SET', KEYS[1], ARGV[2])
redis.call('LPUSH', KEYS[2], ARGV[3])
redis.call('LTRIM', KEYS[2], 0, tonumber(ARGV[4]) - 1)
redis.call('PUBLISH', ARGV[5], ARGV[1])
return {1, ''}
`
}

/**
 * KEYS: instance expiries (sorted set), instance data (hash). ARGV: id, info JSON, ttl ms,
 * channel. Expiry uses the server's clock, so instances with skewed clocks agree on who is
 * live. The publish lets a `?wait` on another instance re-check at once.
 */
export const HEARTBEAT: ScriptDefinition = {
  name: 'swyHeartbeat',
  numberOfKeys: 2,
  lua: `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)
for _, id in ipairs(expired) do redis.call('HDEL', KEYS[2], id) end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('PUBLISH', ARGV[4], ARGV[1])
return 1
`
}

/** KEYS: instance expiries, instance data. Returns the live instances' info JSON. */
export const LIVE_INSTANCES: ScriptDefinition = {
  name: 'swyLiveInstances',
  numberOfKeys: 2,
  lua: `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. now, '+inf')
if #ids == 0 then return {} end
return redis.call('HMGET', KEYS[2], unpack(ids))
`
}

/** Every script the store registers. */
export const SCRIPTS: readonly ScriptDefinition[] = [CAS, RESEED, HEARTBEAT, LIVE_INSTANCES]
