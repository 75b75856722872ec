/**
 * Benchmark settings from the environment. QUICK=1 shrinks every duration to a smoke run
 * (a few seconds for the whole suite); each figure can still be set on its own.
 */

/** True when QUICK=1: tiny durations, one round, for a smoke test. */
export const QUICK = process.env.QUICK === '1' || process.env.QUICK === 'true'

/** A number from the environment, or the default (QUICK or full). */
export function envNumber (name: string, full: number, quick: number): number {
  const raw = process.env[name]
  if (raw === undefined || raw === '') return QUICK ? quick : full
  const n = Number(raw)
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name} must be a non-negative number, got "${raw}"`)
  return n
}

/** Shared knobs of the suite (seconds unless named otherwise). */
export const settings = {
  /** Measured seconds per load run at 50 connections. */
  duration: envNumber('DURATION', 8, 1),
  /** Unmeasured seconds of load before each measured run. */
  warmup: envNumber('WARMUP', 1, 0),
  /** Interleaved rounds of the macro benchmark. */
  rounds: envNumber('ROUNDS', 3, 1),
  /** Connections of the throughput runs. */
  connections: envNumber('CONNECTIONS', 50, 50),
  /** Seconds per c=1 latency run. */
  latencySeconds: envNumber('LATENCY_SECONDS', 2, 1),
  /** Length of the RSS run; RSS is sampled at half and at the end (30 s and 60 s by default). */
  rssSeconds: envNumber('RSS_SECONDS', 60, 2),
  /** Minimum CPU time mitata spends per micro benchmark, in ms. */
  microMs: envNumber('MICRO_MS', 400, 15),
  /** Flips of the flip-under-load benchmark, and the pause between them in ms. */
  flips: envNumber('FLIPS', 100, 10),
  flipEveryMs: envNumber('FLIP_EVERY_MS', 100, 100),
  /** Concurrent client loops of the flip-under-load benchmark. */
  flipConnections: envNumber('FLIP_CONNECTIONS', 32, 8)
} as const
