/**
 * Store values for tests: what the previous release wrote (captured from it, see
 * test/state/fixtures/previous-release/README.md), and a way to put them into a real Redis.
 */
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { Redis } from 'ioredis'

/** The directory of the captured previous-release values. */
export const PREVIOUS_RELEASE = fileURLToPath(new URL('../state/fixtures/previous-release/', import.meta.url))

/** Every Redis key the previous release wrote (prefix "swy"), as the server returned it. */
export function previousReleaseRedis (): Record<string, string | string[] | Record<string, string>> {
  return JSON.parse(readFileSync(`${PREVIOUS_RELEASE}redis.json`, 'utf8')) as Record<string, string | string[] | Record<string, string>>
}

/**
 * Writes the previous release's keys into `redis` byte for byte (lists in their order). The
 * heartbeat expiry is moved into the future so the heartbeat is live when read back.
 */
export async function restorePreviousRelease (redis: Redis): Promise<void> {
  for (const [key, value] of Object.entries(previousReleaseRedis())) {
    if (typeof value === 'string') await redis.set(key, value)
    else if (key.endsWith(':history')) await redis.rpush(key, ...(value as string[]))
    else if (key.endsWith(':instance-expiries')) {
      const pairs = value as string[]
      for (let i = 0; i < pairs.length; i += 2) await redis.zadd(key, Date.now() + 3_600_000, pairs[i] as string)
    } else await redis.hset(key, value as Record<string, string>)
  }
}
