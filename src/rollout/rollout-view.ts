/**
 * How a rollout looks at the API: the document without its bookkeeping (revision, counter
 * baselines), weights in percent, plus what a reader wants at a glance: whether it is active,
 * the driver, the last analysis, and how long the current step has run and must run.
 */
import { weightsToPercent } from '../routing/weights.js'
import { stepElapsedMs } from './plan.js'
import { isFinal, type Rollout, type RolloutStep } from './types.js'

/** The body of GET /rollout and of every rollout action's answer. */
export function rolloutView (r: Rollout, colors: readonly string[], driver: string | null, now: number): Record<string, unknown> {
  const step = r.steps[r.stepIndex] as RolloutStep
  return {
    id: r.id,
    phase: r.phase,
    active: !isFinal(r.phase),
    from: r.from,
    to: r.to,
    steps: r.steps,
    stepIndex: r.stepIndex,
    stage: r.stage,
    stepVersion: r.stepVersion,
    startedAt: r.startedAt,
    stepStartedAt: r.stepStartedAt,
    startedBy: r.startedBy,
    driver: isFinal(r.phase) ? null : driver,
    reason: r.reason,
    analysis: r.analysis,
    analyses: r.analyses,
    lastAnalysis: r.analyses.at(-1) ?? null,
    consecutiveFailures: r.consecutiveFailures,
    stepPasses: r.stepPasses,
    approved: r.approved,
    reference: r.reference,
    startWeights: weightsToPercent(colors, r.startWeights),
    startVersion: r.startVersion,
    stepElapsedSeconds: Math.round(stepElapsedMs(r, now) / 100) / 10,
    stepPauseSeconds: step.pause === 'approval' ? null : (step.pauseSeconds ?? 0),
    pausedAt: r.pausedAt,
    endedAt: r.endedAt,
    endReason: r.endReason,
    updatedAt: r.updatedAt
  }
}
