/**
 * `switchyard rollout start|status|pause|resume|approve|promote|abort`: the rollout API
 * (POST /rollouts, GET /rollout, POST /rollout/:action). `status --watch` (and `start
 * --watch`) redraws the view until the rollout ends: exit 0 when it succeeded, 1 when it was
 * rolled back or aborted, so a CI pipeline can wait on it.
 */
import { CLIENT_OPTIONS, flag, str, type CommandSpec, type OptionSpec, type Parsed } from '../args.js'
import { CliError, EXIT, usageError, type ExitCode } from '../exit.js'
import type { AdminClient } from '../client.js'
import { clientFor, jsonText, wantsJson, type Command, type Context } from '../context.js'
import { rewind, rowsOf } from '../render.js'
import { rolloutStartBody } from '../rollout-body.js'
import { renderRollout, rolloutOf, type RolloutView } from '../rollout-view.js'

const POLL_MS = 1000
/** How long --watch rides out an unreachable admin API before it gives up (exit 3). */
const UNREACHABLE_GRACE_MS = 30_000

const WATCH: OptionSpec = { name: 'watch', type: 'boolean', description: 'redraw the view until the rollout ends; exit 0 if it succeeded, 1 if rolled back or aborted' }
const REASON: OptionSpec = { name: 'reason', type: 'string', value: 'TEXT', description: 'why, recorded in the history and the audit log' }

const EXIT_NOTE = ['exit codes with --watch: 0 succeeded, 1 rolled back or aborted (or refused), 3 admin unreachable for 30s.']

const startSpec: CommandSpec = {
  name: 'rollout start',
  summary: 'start a progressive rollout: step the new color\'s weight up, judging each interval by its error ratio and latency against the old',
  usage: ['rollout start --to COLOR --steps P1,P2,...,100 [--pause DURATION] [--approval-at P] [analysis options] [--reason TEXT] [--watch]'],
  options: [
    { name: 'to', type: 'string', value: 'COLOR', description: 'the color to roll out (required)' },
    { name: 'from', type: 'string', value: 'COLOR', description: 'the color it replaces (default: the one serving now)' },
    { name: 'steps', type: 'string', value: 'P,...', description: 'the new color\'s percent at each step, increasing, e.g. 5,25,50,100 (required)' },
    { name: 'pause', type: 'string', value: 'DURATION', description: 'how long each step holds before the next (90s, 5m, 1h, or seconds); the last step has none' },
    { name: 'approval-at', type: 'string', value: 'P[,P]', description: 'the step(s) at these percents wait for `rollout approve` instead of a timed pause' },
    { name: 'interval', type: 'string', value: 'DURATION', description: 'analysis interval (default 1m)' },
    { name: 'max-error-delta', type: 'string', value: 'PP', description: 'percentage points the new color\'s 5xx ratio may exceed the old one\'s (default 1)' },
    { name: 'max-latency-ratio', type: 'string', value: 'R', description: 'the new color\'s latency quantile may be at most R times the old one\'s (default 1.5)' },
    { name: 'latency-quantile', type: 'string', value: 'Q', description: 'which latency quantile is compared, 0.5..0.999 (default 0.99)' },
    { name: 'min-requests', type: 'string', value: 'N', description: 'fewer requests per side in an interval is inconclusive (default 200)' },
    { name: 'failure-limit', type: 'string', value: 'N', description: 'consecutive failing intervals that roll back (default 2)' },
    REASON,
    WATCH,
    ...CLIENT_OPTIONS
  ],
  positionals: { min: 0, max: 0 },
  notes: EXIT_NOTE,
  examples: [
    'rollout start --to green --steps 5,25,50,100 --pause 5m --reason "release 2.4"',
    'rollout start --to green --steps 10,50,100 --pause 2m --approval-at 50 --max-error-delta 0.5 --interval 30s --watch'
  ]
}

const statusSpec: CommandSpec = {
  name: 'rollout status',
  summary: 'the current (or last) rollout: phase, steps, progress and the last analysis',
  usage: ['rollout status [--watch] [--json]'],
  options: [WATCH, ...CLIENT_OPTIONS],
  positionals: { min: 0, max: 0 },
  notes: EXIT_NOTE,
  examples: ['rollout status', 'rollout status --watch && echo released']
}

type Action = 'pause' | 'resume' | 'approve' | 'promote' | 'abort'

const ACTION_SUMMARY: Readonly<Record<Action, string>> = {
  pause: 'hold the rollout at its current step (the step clock stops)',
  resume: 'continue a paused rollout',
  approve: 'let a rollout waiting at an approval step go on',
  promote: 'skip the remaining steps: the new color takes all traffic now',
  abort: 'stop the rollout and restore the weights it started from'
}

/** The rollout in an answer, or a clear failure when the server answered something else. */
function viewOf (json: unknown): RolloutView {
  const r = rolloutOf(json)
  if (r === undefined) throw new CliError(EXIT.unreachable, 'the admin API answered without a rollout (is this switchyard too old for rollouts?)')
  return r
}

function show (ctx: Context, p: Parsed, json: unknown): void {
  ctx.out(wantsJson(p) ? jsonText(json) : renderRollout(viewOf(json), ctx.style))
}

/** The exit code of a rollout that ended. */
function endCode (r: RolloutView, ctx: Context): ExitCode {
  if (r.phase === 'succeeded') return EXIT.ok
  ctx.err(`switchyard: the rollout ${r.phase}${r.endReason === null || r.endReason === '' ? '' : `: ${r.endReason}`}\n`)
  return EXIT.refused
}

/** What changes the picture (printed again when not on a TTY). */
function signature (r: RolloutView): string {
  return [r.phase, r.stepIndex, r.stage, r.analyses.length, r.consecutiveFailures, r.endedAt].join('|')
}

/** Polls GET /rollout and redraws until the rollout has ended. */
async function watch (client: AdminClient, ctx: Context, p: Parsed, first: RolloutView | undefined): Promise<ExitCode> {
  let drawn = 0
  let last = ''
  let failingSince: number | undefined
  let view = first
  for (;;) {
    if (view !== undefined) {
      if (wantsJson(p)) {
        if (signature(view) !== last) ctx.out(`${JSON.stringify({ rollout: view })}\n`)
      } else if (ctx.tty) {
        const text = renderRollout(view, ctx.style)
        ctx.out(rewind(drawn) + text)
        drawn = rowsOf(text, ctx.columns)
      } else if (signature(view) !== last) {
        ctx.out(`${last === '' ? '' : '\n'}${renderRollout(view, ctx.style)}`)
      }
      last = signature(view)
      if (!view.active) return endCode(view, ctx)
    }
    await ctx.sleep(POLL_MS)
    try {
      view = viewOf((await client.call({ method: 'GET', path: '/rollout' })).json)
      failingSince = undefined
    } catch (e) {
      if (!(e instanceof CliError) || e.exitCode !== EXIT.unreachable) throw e
      failingSince ??= Date.now()
      if (Date.now() - failingSince > UNREACHABLE_GRACE_MS) throw e
      if (ctx.tty) { ctx.out(rewind(drawn) + ctx.style.yellow(`${e.message}; retrying\n`)); drawn = 1 }
      view = undefined
    }
  }
}

/** `switchyard rollout start`. */
export const start: Command = {
  spec: startSpec,
  run: async (p, ctx) => {
    const body = rolloutStartBody({
      to: str(p, 'to'),
      from: str(p, 'from'),
      steps: str(p, 'steps'),
      pause: str(p, 'pause'),
      approvalAt: str(p, 'approval-at'),
      interval: str(p, 'interval'),
      maxErrorDelta: str(p, 'max-error-delta'),
      maxLatencyRatio: str(p, 'max-latency-ratio'),
      minRequests: str(p, 'min-requests'),
      latencyQuantile: str(p, 'latency-quantile'),
      failureLimit: str(p, 'failure-limit'),
      reason: str(p, 'reason')
    })
    if (!body.ok) throw usageError(body.message)
    const client = clientFor(p, ctx)
    const a = await client.call({ method: 'POST', path: '/rollouts', body: body.value })
    if (flag(p, 'watch')) return await watch(client, ctx, p, viewOf(a.json))
    show(ctx, p, a.json)
    return EXIT.ok
  }
}

/** `switchyard rollout status [--watch]`. */
export const status: Command = {
  spec: statusSpec,
  run: async (p, ctx) => {
    const client = clientFor(p, ctx)
    const a = await client.call({ method: 'GET', path: '/rollout' })
    if (flag(p, 'watch')) return await watch(client, ctx, p, viewOf(a.json))
    show(ctx, p, a.json)
    return EXIT.ok
  }
}

function action (name: Action): Command {
  return {
    spec: {
      name: `rollout ${name}`,
      summary: ACTION_SUMMARY[name],
      usage: [`rollout ${name} [--reason TEXT]`],
      options: [REASON, ...CLIENT_OPTIONS],
      positionals: { min: 0, max: 0 },
      examples: [`rollout ${name} --reason "${name === 'abort' ? 'p99 too high on green' : name === 'approve' ? 'dashboards look fine' : 'on-call decision'}"`]
    },
    run: async (p, ctx) => {
      const reason = str(p, 'reason')
      const a = await clientFor(p, ctx).call({ method: 'POST', path: `/rollout/${name}`, body: reason === undefined ? {} : { reason } })
      show(ctx, p, a.json)
      return EXIT.ok
    }
  }
}

/** `switchyard rollout pause`. */
export const pause = action('pause')
/** `switchyard rollout resume`. */
export const resume = action('resume')
/** `switchyard rollout approve`. */
export const approve = action('approve')
/** `switchyard rollout promote`. */
export const promote = action('promote')
/** `switchyard rollout abort`. */
export const abort = action('abort')
