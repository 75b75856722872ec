/**
 * The rollout engine's records: what an operator asks for (RolloutSpec), what the store
 * keeps (Rollout, one document with its own compare-and-set revision), the per-color traffic
 * every instance publishes with its heartbeat (TrafficReport), and one interval's analysis.
 * Pure data: the verdict is src/rollout/analysis.ts, the driver src/rollout/driver.ts.
 */
import type { BasisPoints } from '../routing/weights.js'

/** Where a rollout is. `succeeded`, `rolled-back` and `aborted` are final. */
export type RolloutPhase = 'progressing' | 'paused' | 'awaiting-approval' | 'succeeded' | 'rolled-back' | 'aborted'

/** Every phase, in the order the `switchyard_rollout_phase{phase}` gauge lists them. */
export const ROLLOUT_PHASES: readonly RolloutPhase[] = ['progressing', 'paused', 'awaiting-approval', 'succeeded', 'rolled-back', 'aborted']

/** True for a phase a rollout never leaves. */
export function isFinal (phase: RolloutPhase): boolean {
  return phase === 'succeeded' || phase === 'rolled-back' || phase === 'aborted'
}

/** One step: the `to` color's percent (two decimals), then a timed pause or an approval. */
export interface RolloutStep {
  readonly weight: number
  readonly pauseSeconds?: number
  readonly pause?: 'approval'
}

/** How each interval is judged (see analysis.ts). */
export interface AnalysisConfig {
  readonly intervalSeconds: number
  /** Fewer requests than this on either side in an interval: inconclusive. */
  readonly minRequests: number
  /** Percentage points `to`'s 5xx ratio may exceed `from`'s before it fails (if significant). */
  readonly maxErrorRatioDelta: number
  /** `to`'s latency quantile may be at most this times `from`'s. */
  readonly maxLatencyRatio: number
  /** Which quantile of the latency histogram is compared (0.5..0.999). */
  readonly latencyQuantile: number
  /** Consecutive failing intervals that roll back. */
  readonly failureLimit: number
}

/** The defaults of the analysis block (every field may be left out). */
export const DEFAULT_ANALYSIS: AnalysisConfig = Object.freeze({
  intervalSeconds: 60,
  minRequests: 200,
  maxErrorRatioDelta: 1,
  maxLatencyRatio: 1.5,
  latencyQuantile: 0.99,
  failureLimit: 2
})

/** `POST /rollouts` as validated. */
export interface RolloutSpec {
  readonly to: string
  readonly from?: string
  readonly steps: readonly RolloutStep[]
  readonly analysis: AnalysisConfig
  readonly reason: string
}

/**
 * One color's traffic as counted by an instance since its counters started (cumulative):
 * answered requests, those answered 5xx (the upstream's and switchyard's own 502/503/504),
 * and the request-duration histogram as per-bucket counts (not cumulative), bucket i for
 * durations ≤ DURATION_BUCKETS[i] seconds, the last one for everything slower.
 */
export interface ColorTraffic {
  readonly requests: number
  readonly errors: number
  readonly buckets: readonly number[]
}

/**
 * What an instance publishes with each heartbeat. `epoch` changes whenever the counters
 * restart from zero (a new process), so a reader never subtracts across a restart.
 */
export interface TrafficReport {
  readonly epoch: string
  readonly colors: Readonly<Record<string, ColorTraffic>>
}

/** One side's figures over an interval (summed over every live instance). */
export interface SideFigures {
  readonly requests: number
  /** 5xx ÷ requests (0..1); 0 when there were no requests. */
  readonly errorRatio: number
  /** The configured latency quantile in seconds, or null when there were no requests. */
  readonly latency: number | null
}

/** A verdict on one interval. */
export type Verdict = 'pass' | 'fail' | 'inconclusive'

/** One interval's analysis, as GET /rollout shows it. */
export interface Analysis {
  /** When the interval ended (ISO 8601). */
  readonly at: string
  readonly from: SideFigures
  readonly to: SideFigures
  readonly verdict: Verdict
  /** In words: which check failed and by how much, or why it is inconclusive. */
  readonly why: string
  /** The step the interval belonged to. */
  readonly step: number
}

/** Per instance id: the traffic report it last published (a baseline for the next interval). */
export type TrafficSnapshot = Readonly<Record<string, TrafficReport>>

/** Where the current step is. */
export type StepStage =
  /** A step at 100 % with no earlier figures for `from`: one interval measures `from` before the weights change. */
  | 'measuring-reference'
  /** The step's weights are being written. */
  | 'applying'
  /** Written as stepVersion; waiting until every live instance applied it. */
  | 'confirming'
  /** Every instance routes by it; intervals are being analysed. */
  | 'analysing'

/** The rollout document, one per store, changed only by compare-and-set on `rev`. */
export interface Rollout {
  readonly id: string
  /** Compare-and-set revision of this document (1 when created). */
  readonly rev: number
  readonly phase: RolloutPhase
  readonly from: string
  readonly to: string
  readonly steps: readonly RolloutStep[]
  readonly analysis: AnalysisConfig
  readonly reason: string
  readonly startedAt: string
  readonly startedBy: string
  /** The weights (and version) the rollout started from: abort and rollback restore them. */
  readonly startWeights: BasisPoints
  readonly startVersion: number
  readonly stepIndex: number
  readonly stage: StepStage
  /** The state version carrying this step's weights (null before it is written). */
  readonly stepVersion: number | null
  /** When every live instance had applied stepVersion (ISO); null until then. */
  readonly stepStartedAt: string | null
  /** Paused time (ms) to take off this step's clock; while paused, since `pausedAt`. */
  readonly heldMs: number
  readonly pausedAt: string | null
  /** Passing analyses in this step. */
  readonly stepPasses: number
  /** The current approval step was approved. */
  readonly approved: boolean
  /** When the current interval started (ISO), and the per-instance counters at that moment. */
  readonly intervalStartedAt: string | null
  readonly baseline: TrafficSnapshot | null
  /** `from`'s figures to compare against while it has no traffic (steps at 100 %). */
  readonly reference: SideFigures | null
  /** Interval analyses, oldest first, the last MAX_ANALYSES. */
  readonly analyses: readonly Analysis[]
  readonly consecutiveFailures: number
  readonly endedAt: string | null
  /** Why it ended (the failing analysis for a rollback; the operator's reason for abort/promote). */
  readonly endReason: string | null
  readonly updatedAt: string
}

/** How many analyses a rollout document keeps. */
export const MAX_ANALYSES = 50

/** A rollout event recorded in the history (kind `rollout`). */
export type RolloutEventKind = 'start' | 'step' | 'pause' | 'resume' | 'approve' | 'verdict' | 'promote' | 'abort' | 'rollback' | 'succeeded'
