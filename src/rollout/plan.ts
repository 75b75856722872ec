/**
 * The rollout's life as pure transitions of its document: where each step's weights come
 * from, when a step is complete, what an analysis does to it, and the operator's actions
 * (pause, resume, approve, promote, abort). Time comes in as a number (ms since the epoch);
 * nothing here reads a clock, a store or the network, so the driver (driver.ts) and the
 * admin routes share one set of rules and the tests can walk a rollout through every phase.
 */
import type { ErrorCode } from '../errors.js'
import { BUCKETS, err, ok, type Result } from '../routing/types.js'
import type { BasisPoints } from '../routing/weights.js'
import { isFinal, MAX_ANALYSES, type Analysis, type Rollout, type RolloutPhase, type RolloutSpec, type RolloutStep, type SideFigures, type StepStage, type TrafficSnapshot } from './types.js'

/** An action refused: a code from the error table and why. */
export interface ActionRefused {
  readonly code: ErrorCode
  readonly message: string
}

const iso = (ms: number): string => new Date(ms).toISOString()

/** Basis points of a step's percent (validated to two decimals). */
export function stepBasisPoints (step: RolloutStep): number {
  return Math.round(step.weight * 100)
}

/** The weights of step `index`: `to` gets the step's share, `from` the rest, every other color 0. */
export function stepWeights (r: Pick<Rollout, 'from' | 'to' | 'steps'>, colors: readonly string[], index: number): BasisPoints {
  const step = r.steps[index] as RolloutStep
  const bp = stepBasisPoints(step)
  const out: Record<string, number> = {}
  for (const c of colors) out[c] = c === r.to ? bp : c === r.from ? BUCKETS - bp : 0
  return out
}

/** The weights of `to` at 100 % (promote). */
export function fullWeights (r: Pick<Rollout, 'to'>, colors: readonly string[]): BasisPoints {
  const out: Record<string, number> = {}
  for (const c of colors) out[c] = c === r.to ? BUCKETS : 0
  return out
}

/** True when step `index` leaves `from` without traffic, so its analyses compare with a reference. */
export function isFullStep (r: Pick<Rollout, 'steps'>, index: number): boolean {
  return stepBasisPoints(r.steps[index] as RolloutStep) >= BUCKETS
}

/** The last interval figures of `from` with enough requests to stand as the reference of a step at 100 %. */
export function lastReference (r: Pick<Rollout, 'analyses' | 'analysis' | 'reference'>): SideFigures | null {
  for (let i = r.analyses.length - 1; i >= 0; i--) {
    const a = r.analyses[i] as Analysis
    if (a.from.requests >= r.analysis.minRequests && a.from.latency !== null) return a.from
  }
  return r.reference
}

/** The stage a step starts in: a step at 100 % without figures of `from` first measures them. */
function startStage (r: Pick<Rollout, 'steps' | 'analyses' | 'analysis' | 'reference'>, index: number): StepStage {
  return isFullStep(r, index) && lastReference(r) === null ? 'measuring-reference' : 'applying'
}

/** A new rollout document (rev one past the stored one). */
export function createRollout (spec: RolloutSpec & { readonly from: string }, ctx: {
  readonly id: string
  readonly startedBy: string
  readonly now: number
  readonly rev: number
  readonly startWeights: BasisPoints
  readonly startVersion: number
}): Rollout {
  const base = {
    id: ctx.id,
    rev: ctx.rev,
    phase: 'progressing' as RolloutPhase,
    from: spec.from,
    to: spec.to,
    steps: spec.steps,
    analysis: spec.analysis,
    reason: spec.reason,
    startedAt: iso(ctx.now),
    startedBy: ctx.startedBy,
    startWeights: ctx.startWeights,
    startVersion: ctx.startVersion,
    stepIndex: 0,
    stepVersion: null,
    stepStartedAt: null,
    heldMs: 0,
    pausedAt: null,
    stepPasses: 0,
    approved: false,
    intervalStartedAt: null,
    baseline: null,
    reference: null,
    analyses: [],
    consecutiveFailures: 0,
    endedAt: null,
    endReason: null,
    updatedAt: iso(ctx.now)
  }
  return { ...base, stage: startStage(base, 0) }
}

/** The next revision of a document: every write goes through here. */
export function revise (r: Rollout, changes: Partial<Omit<Rollout, 'rev' | 'id'>>, now: number): Rollout {
  return { ...r, ...changes, rev: r.rev + 1, updatedAt: iso(now) }
}

/** How long the current step has run (from when every instance applied it), pauses taken off. */
export function stepElapsedMs (r: Rollout, now: number): number {
  if (r.stepStartedAt === null) return 0
  const held = r.heldMs + (r.pausedAt === null ? 0 : Math.max(0, now - Date.parse(r.pausedAt)))
  return Math.max(0, now - Date.parse(r.stepStartedAt) - held)
}

/** True for the last step at 100 % with nothing to wait for: it is done once every instance applied it. */
export function completesOnApply (r: Rollout): boolean {
  const step = r.steps[r.stepIndex] as RolloutStep
  return r.stepIndex === r.steps.length - 1 && isFullStep(r, r.stepIndex) && step.pause === undefined && (step.pauseSeconds ?? 0) === 0
}

/**
 * True when the current step may be left: applied everywhere, not paused, and either
 * approved (an approval step) or its pause has elapsed with at least one passing analysis
 * (the clock alone never promotes a canary without traffic).
 */
export function stepComplete (r: Rollout, now: number): boolean {
  if (r.stage !== 'analysing' || r.phase === 'paused' || isFinal(r.phase)) return false
  const step = r.steps[r.stepIndex] as RolloutStep
  if (step.pause === 'approval') return r.approved
  return r.stepPasses > 0 && stepElapsedMs(r, now) >= (step.pauseSeconds ?? 0) * 1000
}

/** The document once every live instance routes by the step's version. */
export function confirmed (r: Rollout, baseline: TrafficSnapshot, now: number): Rollout {
  const step = r.steps[r.stepIndex] as RolloutStep
  const phase: RolloutPhase = r.phase === 'paused' ? 'paused' : step.pause === 'approval' ? 'awaiting-approval' : 'progressing'
  return revise(r, { stage: 'analysing', phase, stepStartedAt: iso(now), heldMs: 0, pausedAt: r.phase === 'paused' ? iso(now) : null, intervalStartedAt: iso(now), baseline }, now)
}

/** Moves to the next step, or ends the rollout `succeeded` after the last one. */
export function advance (r: Rollout, now: number): Rollout {
  if (r.stepIndex >= r.steps.length - 1) return end(r, 'succeeded', `all ${r.steps.length} steps done`, now)
  const index = r.stepIndex + 1
  const reference = lastReference(r)
  const next = { ...r, reference }
  return revise(r, {
    stepIndex: index,
    stage: startStage(next, index),
    phase: r.phase === 'awaiting-approval' ? 'progressing' : r.phase,
    reference,
    stepVersion: null,
    stepStartedAt: null,
    heldMs: 0,
    pausedAt: r.phase === 'paused' ? iso(now) : null,
    stepPasses: 0,
    approved: false,
    intervalStartedAt: null,
    baseline: null
  }, now)
}

/** Ends a rollout in a final phase. */
export function end (r: Rollout, phase: 'succeeded' | 'rolled-back' | 'aborted', why: string, now: number): Rollout {
  return revise(r, { phase, endedAt: iso(now), endReason: why, baseline: null, pausedAt: null }, now)
}

/**
 * Records one interval's analysis: a pass counts for the step, a fail adds to the
 * consecutive failures (an inconclusive interval neither adds nor clears them), and the next
 * interval starts from `baseline`. `rollBack` is true when the failures reached the limit.
 */
export function withAnalysis (r: Rollout, analysis: Analysis, baseline: TrafficSnapshot, now: number): { rollout: Rollout, rollBack: boolean } {
  const failures = analysis.verdict === 'fail' ? r.consecutiveFailures + 1 : analysis.verdict === 'pass' ? 0 : r.consecutiveFailures
  const analyses = [...r.analyses, analysis].slice(-MAX_ANALYSES)
  const rollout = revise(r, {
    analyses,
    consecutiveFailures: failures,
    stepPasses: r.stepPasses + (analysis.verdict === 'pass' ? 1 : 0),
    baseline,
    intervalStartedAt: iso(now)
  }, now)
  return { rollout, rollBack: failures >= r.analysis.failureLimit }
}

function active (r: Rollout): ActionRefused | undefined {
  if (isFinal(r.phase)) return { code: 'SWY_ERR_ROLLOUT_NOT_ACTIVE', message: `rollout ${r.id} has ended (${r.phase}); start a new one` }
  return undefined
}

/** Pauses: the step's clock stops (analyses go on, and a failing canary is still rolled back). */
export function pause (r: Rollout, now: number): Result<Rollout, ActionRefused> {
  const refused = active(r)
  if (refused !== undefined) return err(refused)
  if (r.phase === 'paused') return err({ code: 'SWY_ERR_ROLLOUT_PHASE', message: `rollout ${r.id} is already paused` })
  return ok(revise(r, { phase: 'paused', pausedAt: iso(now) }, now))
}

/** Resumes a paused rollout; its step's clock goes on where it stopped. */
export function resume (r: Rollout, now: number): Result<Rollout, ActionRefused> {
  const refused = active(r)
  if (refused !== undefined) return err(refused)
  if (r.phase !== 'paused') return err({ code: 'SWY_ERR_ROLLOUT_PHASE', message: `rollout ${r.id} is ${r.phase}, not paused` })
  const step = r.steps[r.stepIndex] as RolloutStep
  const waiting = r.stage === 'analysing' && step.pause === 'approval' && !r.approved
  const held = r.pausedAt === null || r.stepStartedAt === null ? 0 : Math.max(0, now - Date.parse(r.pausedAt))
  return ok(revise(r, { phase: waiting ? 'awaiting-approval' : 'progressing', pausedAt: null, heldMs: r.heldMs + held }, now))
}

/** Passes an approval step that is waiting. */
export function approve (r: Rollout, now: number): Result<Rollout, ActionRefused> {
  const refused = active(r)
  if (refused !== undefined) return err(refused)
  if (r.phase !== 'awaiting-approval') return err({ code: 'SWY_ERR_ROLLOUT_PHASE', message: `rollout ${r.id} is ${r.phase}, not awaiting approval (step ${r.stepIndex + 1} of ${r.steps.length})` })
  return ok(revise(r, { approved: true, phase: 'progressing' }, now))
}

/** Checks that an active rollout may be promoted or aborted (any active phase may). */
export function canEnd (r: Rollout): Result<Rollout, ActionRefused> {
  const refused = active(r)
  return refused === undefined ? ok(r) : err(refused)
}
