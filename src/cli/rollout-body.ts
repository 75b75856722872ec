/**
 * `switchyard rollout start`'s options as the `POST /rollouts` body, pure: `--steps
 * 5,25,50,100 --pause 5m --approval-at 50` becomes `steps: [{weight: 5, pauseSeconds: 300},
 * {weight: 25, pauseSeconds: 300}, {weight: 50, pause: "approval"}, {weight: 100}]` (the last
 * step has no pause); the analysis options become the `analysis` block, only those given.
 */
import type { AnalysisConfig, RolloutStep } from '../rollout/types.js'
import { parseDuration, parseNumber, type Value } from './values.js'

/** The options of `rollout start`, as strings from the command line. */
export interface RolloutStartOptions {
  readonly to?: string | undefined
  readonly from?: string | undefined
  readonly steps?: string | undefined
  readonly pause?: string | undefined
  readonly approvalAt?: string | undefined
  readonly interval?: string | undefined
  readonly maxErrorDelta?: string | undefined
  readonly maxLatencyRatio?: string | undefined
  readonly minRequests?: string | undefined
  readonly latencyQuantile?: string | undefined
  readonly failureLimit?: string | undefined
  readonly reason?: string | undefined
}

/** The body of `POST /rollouts`. */
export interface RolloutStartBody {
  readonly to: string
  readonly from?: string
  readonly steps: readonly RolloutStep[]
  readonly analysis?: Partial<AnalysisConfig>
  readonly reason?: string
}

function fail<T> (message: string): Value<T> {
  return { ok: false, message }
}

function weightList (text: string, what: string): Value<number[]> {
  const out: number[] = []
  for (const part of text.split(',')) {
    const n = parseNumber(part.trim().replace(/%$/, ''), `each of ${what}`, 0.01, 100)
    if (!n.ok) return n
    out.push(n.value)
  }
  return { ok: true, value: out }
}

/** Builds the body, or says which option is wrong. */
export function rolloutStartBody (o: RolloutStartOptions): Value<RolloutStartBody> {
  if (o.to === undefined || o.to === '') return fail('--to COLOR is required (the color to roll out)')
  if (o.steps === undefined) return fail('--steps is required, e.g. --steps 5,25,50,100')
  const weights = weightList(o.steps, '--steps')
  if (!weights.ok) return weights
  const ws = weights.value
  for (let i = 1; i < ws.length; i++) {
    if ((ws[i] as number) <= (ws[i - 1] as number)) return fail(`--steps must increase (${ws[i - 1] ?? ''} then ${ws[i] ?? ''})`)
  }
  let pauseSeconds: number | undefined
  if (o.pause !== undefined) {
    const d = parseDuration(o.pause, '--pause')
    if (!d.ok) return d
    pauseSeconds = Math.round(d.value / 1000)
  }
  const approvals = new Set<number>()
  if (o.approvalAt !== undefined) {
    const a = weightList(o.approvalAt, '--approval-at')
    if (!a.ok) return a
    for (const w of a.value) {
      if (!ws.includes(w)) return fail(`--approval-at ${w} is not one of --steps ${ws.join(',')}`)
      approvals.add(w)
    }
  }
  const steps: RolloutStep[] = ws.map((weight, i) => {
    if (approvals.has(weight)) return { weight, pause: 'approval' }
    if (i === ws.length - 1 || pauseSeconds === undefined) return { weight }
    return { weight, pauseSeconds }
  })
  const analysis: { -readonly [K in keyof AnalysisConfig]?: number } = {}
  const checks: ReadonlyArray<readonly [keyof AnalysisConfig, string | undefined, string, (t: string, what: string) => Value<number>]> = [
    ['intervalSeconds', o.interval, '--interval', (t, w) => { const d = parseDuration(t, w); return d.ok ? { ok: true, value: Math.round(d.value / 1000) } : d }],
    ['maxErrorRatioDelta', o.maxErrorDelta, '--max-error-delta', (t, w) => parseNumber(t, w, 0, 100)],
    ['maxLatencyRatio', o.maxLatencyRatio, '--max-latency-ratio', (t, w) => parseNumber(t, w, 1, 100)],
    ['minRequests', o.minRequests, '--min-requests', (t, w) => parseNumber(t, w, 1, 1e9, true)],
    ['latencyQuantile', o.latencyQuantile, '--latency-quantile', (t, w) => parseNumber(t, w, 0.5, 0.999)],
    ['failureLimit', o.failureLimit, '--failure-limit', (t, w) => parseNumber(t, w, 1, 1000, true)]
  ]
  for (const [key, text, what, parse] of checks) {
    if (text === undefined) continue
    const v = parse(text, what)
    if (!v.ok) return v
    analysis[key] = v.value
  }
  if (analysis.intervalSeconds !== undefined && analysis.intervalSeconds < 1) return fail('--interval must be at least 1s')
  return {
    ok: true,
    value: {
      to: o.to,
      ...(o.from === undefined ? {} : { from: o.from }),
      steps,
      ...(Object.keys(analysis).length === 0 ? {} : { analysis }),
      ...(o.reason === undefined ? {} : { reason: o.reason })
    }
  }
}
