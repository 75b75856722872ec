/**
 * A rollout request checked against the routing state it will run on: the colors exist and
 * differ, the weights have two decimals and never go down (so the users already on `to` stay
 * there as it widens), each step has a timed pause, an approval, or is the last. Every
 * problem is listed; nothing starts on one.
 */
import type { RoutingState } from '../routing/routing-state.js'
import { err, ok, type Result } from '../routing/types.js'
import { weightOf } from '../routing/weights.js'
import { DEFAULT_ANALYSIS, type AnalysisConfig, type RolloutSpec, type RolloutStep } from './types.js'

/** A rollout request after its schema (src/admin/rollout-schemas.ts). */
export interface RolloutRequest {
  readonly to: string
  readonly from?: string | undefined
  readonly steps: readonly RolloutStep[]
  readonly analysis?: Partial<AnalysisConfig> | undefined
  readonly reason?: string | undefined
}

/** Why a request was refused: a code and every problem. */
export interface SpecProblem {
  readonly code: 'SWY_ERR_UNKNOWN_COLOR' | 'SWY_ERR_ROLLOUT_INVALID'
  readonly message: string
}

/** The color with the highest weight other than `to` (the first in color order on a tie). */
export function defaultFrom (state: RoutingState, to: string): string | undefined {
  let best: string | undefined
  for (const c of state.colors) {
    if (c === to) continue
    if (best === undefined || weightOf(state.weights, c) > weightOf(state.weights, best)) best = c
  }
  return best
}

/** Checks a request on `state`; the spec with `from` and every analysis field filled, or all its problems. */
export function checkRollout (req: RolloutRequest, state: RoutingState): Result<RolloutSpec & { readonly from: string }, SpecProblem> {
  const colors = state.colors
  const unknown = [req.to, ...(req.from === undefined ? [] : [req.from])].filter((c) => !colors.includes(c))
  if (unknown.length > 0) {
    return err({ code: 'SWY_ERR_UNKNOWN_COLOR', message: `unknown color ${unknown.map((c) => `"${c}"`).join(' and ')}; configured colors are ${colors.join(', ')}` })
  }
  const from = req.from ?? defaultFrom(state, req.to)
  const problems: string[] = []
  if (from === undefined) problems.push(`a rollout needs a second color to move traffic from; only "${req.to}" is configured`)
  else if (from === req.to) problems.push(`from and to are both "${from}"`)
  req.steps.forEach((step, i) => {
    const at = `steps[${i}]`
    if (Math.abs(step.weight * 100 - Math.round(step.weight * 100)) > 1e-6) problems.push(`${at}.weight ${step.weight} has more than two decimals`)
    const prev = i > 0 ? (req.steps[i - 1] as RolloutStep).weight : 0
    if (i > 0 && step.weight < prev) problems.push(`${at}.weight ${step.weight} is below the step before it (${prev}): weights never go down, so the users on "${req.to}" stay there as it widens`)
    if (step.pause !== undefined && step.pauseSeconds !== undefined) problems.push(`${at} has both pause and pauseSeconds; give one`)
    const last = i === req.steps.length - 1
    if (!last && step.pause === undefined && step.pauseSeconds === undefined) problems.push(`${at} has neither pauseSeconds nor pause: "approval" (only the last step may have none)`)
  })
  if (problems.length > 0 || from === undefined) return err({ code: 'SWY_ERR_ROLLOUT_INVALID', message: problems.join('; ') })
  // A field sent as undefined (exactOptionalPropertyTypes allows it in the request type) keeps its default.
  const given = Object.fromEntries(Object.entries(req.analysis ?? {}).filter((entry): entry is [string, number] => typeof entry[1] === 'number'))
  const analysis: AnalysisConfig = { ...DEFAULT_ANALYSIS, ...given }
  return ok({ to: req.to, from, steps: req.steps, analysis, reason: req.reason ?? '' })
}
