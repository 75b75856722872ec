/**
 * A rollout as `GET /rollout` answers it (the RolloutView of the rollout API) and its
 * rendering, pure: phase and stage, a progress bar of the `to` color's weight, the steps with
 * where the rollout is among them, the last analysis, and how it started and ended.
 */
import type { Analysis, AnalysisConfig, RolloutPhase, RolloutStep, SideFigures, StepStage } from '../rollout/types.js'
import { bar, percent, PLAIN, type Style } from './render.js'
import { ago, formatDuration } from './values.js'

/** The rollout as the admin API shows it. */
export interface RolloutView {
  readonly id: string
  readonly phase: RolloutPhase
  readonly active: boolean
  readonly from: string
  readonly to: string
  readonly steps: readonly RolloutStep[]
  readonly stepIndex: number
  readonly stage: StepStage
  readonly stepVersion: number | null
  readonly startedAt: string
  readonly stepStartedAt: string | null
  readonly startedBy: string
  readonly driver: string | null
  readonly reason: string
  readonly analysis: AnalysisConfig
  readonly analyses: readonly Analysis[]
  readonly lastAnalysis: Analysis | null
  readonly consecutiveFailures: number
  readonly startWeights: Readonly<Record<string, number>>
  readonly endedAt: string | null
  readonly endReason: string | null
  readonly stepElapsedSeconds: number | null
  readonly stepPauseSeconds: number | null
}

/** The `rollout` of an answer, when it looks like a RolloutView. */
export function rolloutOf (json: unknown): RolloutView | undefined {
  const r = typeof json === 'object' && json !== null ? (json as { rollout?: unknown }).rollout : undefined
  if (typeof r !== 'object' || r === null) return undefined
  const v = r as Partial<RolloutView>
  return typeof v.phase === 'string' && Array.isArray(v.steps) && typeof v.to === 'string' ? r as RolloutView : undefined
}

function phaseStyle (phase: RolloutPhase, style: Style): (s: string) => string {
  switch (phase) {
    case 'succeeded': case 'progressing': return style.green
    case 'paused': case 'awaiting-approval': return style.yellow
    case 'rolled-back': case 'aborted': return style.red
  }
}

/** The `to` color's percent now: the current step's, 100 after success, the start's after an abort or rollback. */
export function currentWeight (r: RolloutView): number {
  if (r.phase === 'succeeded') return 100
  if (r.phase === 'rolled-back' || r.phase === 'aborted') return r.startWeights[r.to] ?? 0
  if (r.stage === 'applying' || r.stage === 'measuring-reference') return r.stepIndex === 0 ? (r.startWeights[r.to] ?? 0) : (r.steps[r.stepIndex - 1]?.weight ?? 0)
  return r.steps[r.stepIndex]?.weight ?? 0
}

/** `p99`, `p99.9`, `p50` for a quantile. */
export function quantileLabel (q: number): string {
  return `p${Number((q * 100).toFixed(1))}`
}

function side (name: string, f: SideFigures, q: string): string {
  const latency = f.latency === null ? '-' : `${Math.round(f.latency * 1000)} ms`
  return `${name} ${f.requests} req, ${percent(f.errorRatio * 100)} 5xx, ${q} ${latency}`
}

function verdictText (v: Analysis['verdict'], style: Style): string {
  return v === 'pass' ? style.green('pass') : v === 'fail' ? style.red('FAIL') : style.yellow('inconclusive')
}

/** One step's cell: ✓ done, ▶ current (with its clock), · to come. */
function stepCell (r: RolloutView, i: number, s: RolloutStep, style: Style): string {
  const what = s.pause === 'approval' ? ' (approval)' : ''
  const label = `${percent(s.weight)}${what}`
  const ended = !r.active
  if (i < r.stepIndex || (r.phase === 'succeeded')) return style.green(`✓ ${label}`)
  if (i > r.stepIndex || ended) return style.dim(`· ${label}`)
  let clock = ''
  if (r.phase === 'awaiting-approval') clock = ' waiting for approval'
  else if (r.stepPauseSeconds !== null && r.stepElapsedSeconds !== null) clock = ` ${formatDuration(r.stepElapsedSeconds)} of ${formatDuration(r.stepPauseSeconds)}`
  return style.bold(`▶ ${label}${clock}`)
}

/** What the operator can do next, if anything. */
function hint (r: RolloutView): string | undefined {
  switch (r.phase) {
    case 'awaiting-approval': return 'next: switchyard rollout approve (or promote / abort)'
    case 'paused': return 'next: switchyard rollout resume (or promote / abort)'
    case 'progressing': return 'control: switchyard rollout pause | promote | abort'
    case 'succeeded': case 'rolled-back': case 'aborted': return undefined
  }
}

/** The rollout as lines of text (the `rollout status` view). */
export function renderRollout (r: RolloutView, style: Style = PLAIN, now = Date.now()): string {
  const lines: string[] = []
  const phase = phaseStyle(r.phase, style)
  const stage = r.active ? ` · ${r.stage}` : ''
  lines.push(`${style.bold('rollout')} ${r.id}  ${style.paint(r.from, r.from)} → ${style.paint(r.to, r.to)}  ${phase(r.phase.toUpperCase())}${stage}${r.driver === null ? '' : style.dim(`  (driver ${r.driver})`)}`)
  const w = currentWeight(r)
  const k = Math.min(r.stepIndex + 1, r.steps.length)
  lines.push(`  ${style.paint(r.to, r.to)}  ${style.paint(r.to, bar(w, 40))}  ${percent(w)}   step ${k} of ${r.steps.length}`)
  lines.push(`  steps  ${r.steps.map((s, i) => stepCell(r, i, s, style)).join('   ')}`)
  const a = r.lastAnalysis
  const q = quantileLabel(r.analysis.latencyQuantile)
  if (a === null) {
    lines.push(`  analysis  none yet (every ${formatDuration(r.analysis.intervalSeconds)}, at least ${r.analysis.minRequests} requests per side)`)
  } else {
    lines.push(`  analysis  ${verdictText(a.verdict, style)} ${ago(a.at, now)} (step ${a.step + 1}): ${side(r.from, a.from, q)} · ${side(r.to, a.to, q)}`)
    if (a.why !== '') lines.push(`            ${a.why}`)
  }
  lines.push(`  failures  ${r.consecutiveFailures} in a row (rolls back at ${r.analysis.failureLimit})`)
  lines.push(`  started   ${ago(r.startedAt, now)} by ${r.startedBy}${r.reason === '' ? '' : `: "${r.reason}"`}`)
  if (r.endedAt !== null) lines.push(`  ended     ${ago(r.endedAt, now)}${r.endReason === null || r.endReason === '' ? '' : `: ${r.endReason}`}`)
  const next = hint(r)
  if (next !== undefined) lines.push(style.dim(`  ${next}`))
  return `${lines.join('\n')}\n`
}

/** A one-line summary for `switchyard status`. */
export function rolloutLine (r: RolloutView, style: Style = PLAIN): string {
  const k = Math.min(r.stepIndex + 1, r.steps.length)
  const last = r.lastAnalysis === null ? 'no analysis yet' : `last verdict ${verdictText(r.lastAnalysis.verdict, style)}`
  return `${r.from} → ${r.to}  ${phaseStyle(r.phase, style)(r.phase)}  step ${k}/${r.steps.length} (${percent(currentWeight(r))})  ${last}`
}
