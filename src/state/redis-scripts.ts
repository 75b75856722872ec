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

/** The rev of a stored rollout JSON (0 when absent, -1 when it cannot be read). */
const REV_OF = `
local function rev_of(cur)
  if not cur then return 0 end
  local ok, doc = pcall(cjson.decode, cur)
  if not ok or type(doc) ~= 'table' or type(doc['rev']) ~= 'number' then return -1 end
  return doc['rev']
end
`

/**
 * KEYS: rollout, state, history. ARGV: expected rev, rollout JSON, '1' with a routing change
 * ('0' without), expected state version, next state JSON, its history entry JSON, history
 * cap, channel, next version, then the events' history entries JSON (oldest first).
 * Compare-and-set on the rollout's rev and, with a change, on the state's version; then the
 * rollout, the state, its entry, the events (each pushed in turn, so the list reads newest
 * first) and the announcement, all or nothing. Returns {1, ''} on success, {0, current
 * rollout JSON or ''} on a rev conflict, {2, current state JSON or ''} on a version
 * conflict (a current value that cannot be read never matches, so it is never overwritten).
 */
export const WRITE_ROLLOUT: ScriptDefinition = {
  name: 'swyWriteRollout',
  numberOfKeys: 3,
  lua: VERSION_OF + REV_OF + `
local cur = redis.call('GET', KEYS[1])
if rev_of(cur) ~= tonumber(ARGV[1]) then return {0, cur or ''} end
local change = ARGV[3] == '1'
if change then
  local state = redis.call('GET', KEYS[2])
  if version_of(state) ~= tonumber(ARGV[4]) then return {2, state or ''} end
end
redis.call('SET', KEYS[1], ARGV[2])
if change then
  redis.call('SET', KEYS[2], ARGV[5])
  redis.call('LPUSH', KEYS[3], ARGV[6])
end
for i = 10, #ARGV do redis.call('LPUSH', KEYS[3], ARGV[i]) end
if change or #ARGV >= 10 then redis.call('LTRIM', KEYS[3], 0, tonumber(ARGV[7]) - 1) end
if change then redis.call('PUBLISH', ARGV[8], ARGV[9]) end
return {1, ''}
`
}

/**
 * KEYS: the driver lease. ARGV: holder, ttl ms. Takes the lease when nobody holds it (SET NX
 * PX), or renews it when `holder` does. Returns 1 when `holder` holds it for ttl from now.
 */
export const ACQUIRE_LEASE: ScriptDefinition = {
  name: 'swyAcquireLease',
  numberOfKeys: 1,
  lua: `
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
`
}

/** KEYS: the driver lease. ARGV: holder. Deletes the lease only if `holder` holds it. */
export const RELEASE_LEASE: ScriptDefinition = {
  name: 'swyReleaseLease',
  numberOfKeys: 1,
  lua: `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`
}

/** Every script the store registers. */
export const SCRIPTS: readonly ScriptDefinition[] = [CAS, RESEED, HEARTBEAT, LIVE_INSTANCES, WRITE_ROLLOUT, ACQUIRE_LEASE, RELEASE_LEASE]
