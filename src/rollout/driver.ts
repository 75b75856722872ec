/**
 * The rollout driver. Every instance runs one; only the holder of the store's lease drives.
 * Each tick it reads the rollout document and, holding the lease, takes the one next action
 * the document calls for, as a compare-and-set of the document (and the routing state, for a
 * step or a rollback), so a driver that lost its lease or its race writes nothing:
 *
 *   measuring-reference → applying → confirming → analysing → (next step | succeeded | rolled-back)
 *
 * A step counts from when every live instance applied it (confirming waits for that, woken
 * by heartbeats), so no interval mixes two weights. At the end of each interval the driver
 * sums every live instance's per-color counters (published with the heartbeats; this
 * instance's own are read live) since the interval's baseline, judges `to` against `from`,
 * and rolls back after `failureLimit` consecutive failures. Everything it needs to go on is
 * in the document, so another instance that takes the lease continues at the same step, the
 * same step start and the same interval.
 */
import { DURATION_BUCKETS } from '../metrics/metrics.js'
import type { ChangeMeta } from '../routing/routing-state.js'
import type { SwitchboardLog, Switchboard } from '../state/switchboard.js'
import type { RolloutWrite } from '../state/store.js'
import { countsOf, judge } from './analysis.js'
import { advance, completesOnApply, confirmed, end, isFullStep, revise, stepComplete, stepElapsedMs, stepWeights, withAnalysis } from './plan.js'
import { auditRolloutWrite, eventEntry, rolloutActor, stepText, weightsChange } from './records.js'
import { intervalFigures, sideFigures, snapshotOf } from './traffic.js'
import { isFinal, type Rollout, type RolloutPhase, type RolloutStep, type TrafficReport, type Verdict } from './types.js'

/** What the driver reports to metrics. */
export interface RolloutMetrics {
  rolloutPhase (phase: RolloutPhase | null, step: number): void
  rolloutAnalysis (verdict: Verdict): void
}

/** How a driver runs. */
export interface RolloutDriverOptions {
  readonly switchboard: Switchboard
  readonly instanceId: string
  /** This instance's live per-color counters (the same figures its heartbeat publishes). */
  readonly traffic: () => TrafficReport
  readonly tickMs: number
  readonly leaseTtlMs: number
  readonly metrics?: RolloutMetrics
  readonly log?: SwitchboardLog
  readonly now?: () => number
}

const SILENT: SwitchboardLog = { info () {}, warn () {}, error () {} }

/** Drives the rollout while this instance holds the lease; reports the phase either way. */
export class RolloutDriver {
  readonly #o: RolloutDriverOptions
  readonly #log: SwitchboardLog
  readonly #now: () => number
  #timer: NodeJS.Timeout | undefined
  #running: Promise<void> | undefined
  #again = false
  #stopped = true
  #holding = false
  #last: Rollout | null = null
  #failing = false
  #offBeat: (() => void) | undefined

  constructor (options: RolloutDriverOptions) {
    this.#o = options
    this.#log = options.log ?? SILENT
    this.#now = options.now ?? Date.now
  }

  /** The document as last read (null before the first read or when there is none). */
  get last (): Rollout | null { return this.#last }

  /** True while this instance holds the driver lease. */
  get holding (): boolean { return this.#holding }

  /** Starts ticking. */
  start (): void {
    this.#stopped = false
    // A heartbeat may be the one a confirming step waits for.
    this.#offBeat = this.#o.switchboard.store.onHeartbeat(() => { if (this.#holding && this.#last?.stage === 'confirming') this.poke() })
    this.poke()
  }

  /** Runs a tick soon (after a change made on this instance, or a heartbeat). */
  poke (): void {
    if (this.#stopped) return
    if (this.#running !== undefined) { this.#again = true; return }
    this.#schedule(0)
  }

  #schedule (ms: number): void {
    if (this.#stopped) return
    clearTimeout(this.#timer)
    this.#timer = setTimeout(() => { this.#run() }, Math.max(0, Math.min(ms, this.#o.tickMs)))
    this.#timer.unref()
  }

  #run (): void {
    if (this.#running !== undefined) { this.#again = true; return }
    this.#running = this.tick().then((wait) => {
      this.#running = undefined
      if (this.#again) { this.#again = false; this.#schedule(0) } else this.#schedule(wait)
    })
  }

  /** Stops ticking and gives the lease up. */
  async stop (): Promise<void> {
    this.#stopped = true
    clearTimeout(this.#timer)
    this.#offBeat?.()
    await this.#running
    if (this.#holding) {
      this.#holding = false
      await this.#o.switchboard.store.releaseLease(this.#o.instanceId).catch(() => {})
    }
  }

  /** One look at the rollout: resolves with how long to wait before the next (ms). */
  async tick (): Promise<number> {
    const store = this.#o.switchboard.store
    try {
      const r = await store.loadRollout()
      this.#last = r
      this.#o.metrics?.rolloutPhase(r?.phase ?? null, r?.stepIndex ?? 0)
      if (r === null || isFinal(r.phase)) {
        if (this.#holding) { this.#holding = false; await store.releaseLease(this.#o.instanceId) }
        return this.#o.tickMs
      }
      const had = this.#holding
      this.#holding = await store.acquireLease(this.#o.instanceId, this.#o.leaseTtlMs)
      if (!this.#holding) return this.#o.tickMs
      if (!had) this.#log.info({ rollout: r.id, step: r.stepIndex, stage: r.stage }, 'driving the rollout (holding the lease)')
      const wait = await this.#drive(r)
      this.#failing = false
      return wait
    } catch (e) {
      if (!this.#failing) this.#log.warn({ err: e }, 'rollout driver: the store failed; trying again')
      this.#failing = true
      return this.#o.tickMs
    }
  }

  /** The live instances' counters, this instance's own read live. */
  async #instances (): Promise<Array<{ readonly id: string, readonly traffic?: TrafficReport }>> {
    const live = await this.#o.switchboard.store.instances()
    const id = this.#o.instanceId
    return [...live.filter((i) => i.id !== id), { id, traffic: this.#o.traffic() }]
  }

  /** Writes; true when it landed (a lost race or a failed store re-reads on the next tick). */
  async #write (write: RolloutWrite): Promise<boolean> {
    const out = await this.#o.switchboard.writeRollout(write)
    if ('code' in out) {
      this.#log.warn({ rollout: write.rollout.id, code: out.code }, `rollout driver: write refused: ${out.message}`)
      return false
    }
    if (out.ok) {
      this.#last = write.rollout
      this.#o.metrics?.rolloutPhase(write.rollout.phase, write.rollout.stepIndex)
      auditRolloutWrite(this.#log, write)
    }
    return out.ok
  }

  #meta (r: Rollout, reason: string, now: number): ChangeMeta {
    return { changedBy: rolloutActor(r), reason, at: new Date(now).toISOString() }
  }

  /** Takes the next action the document calls for; resolves with the wait until the next deadline. */
  async #drive (r: Rollout): Promise<number> {
    const now = this.#now()
    const sb = this.#o.switchboard
    const intervalMs = r.analysis.intervalSeconds * 1000
    switch (r.stage) {
      case 'measuring-reference': {
        if (r.baseline === null || r.intervalStartedAt === null) {
          await this.#write({ expectedRev: r.rev, rollout: revise(r, { baseline: snapshotOf(await this.#instances()), intervalStartedAt: new Date(now).toISOString() }, now) })
          return intervalMs
        }
        const left = Date.parse(r.intervalStartedAt) + intervalMs - now
        if (left > 0) return left
        const s = sideFigures(intervalFigures(r.baseline, await this.#instances(), r.from), r.analysis.latencyQuantile, DURATION_BUCKETS)
        const reference = { requests: s.requests, errorRatio: s.errorRatio, latency: s.latency }
        await this.#write({ expectedRev: r.rev, rollout: revise(r, { reference, stage: 'applying', baseline: null, intervalStartedAt: null }, now) })
        return 0
      }
      case 'applying': {
        const state = sb.state
        const meta = this.#meta(r, `${stepText(r, r.stepIndex)}${r.reason === '' ? '' : ` (${r.reason})`}`, now)
        const event = { id: r.id, event: 'step', step: r.stepIndex } as const
        const change = weightsChange(state, stepWeights(r, state.colors, r.stepIndex), meta, event)
        const rollout = revise(r, { stage: 'confirming', stepVersion: change?.state.version ?? state.version }, now)
        await this.#write({ expectedRev: r.rev, rollout, ...(change === undefined ? { events: [eventEntry(state, meta, event)] } : { change }) })
        return 0
      }
      case 'confirming': {
        const p = await sb.propagation(r.stepVersion ?? sb.state.version)
        if (p.lagging.length > 0) return this.#o.tickMs
        if (completesOnApply(r)) {
          const meta = this.#meta(r, `rollout ${r.id} succeeded: ${r.to} at 100 % on every instance`, now)
          await this.#write({ expectedRev: r.rev, rollout: end(r, 'succeeded', `all ${r.steps.length} steps done`, now), events: [eventEntry(sb.state, meta, { id: r.id, event: 'succeeded', step: r.stepIndex })] })
          return this.#o.tickMs
        }
        await this.#write({ expectedRev: r.rev, rollout: confirmed(r, snapshotOf(await this.#instances()), now) })
        return intervalMs
      }
      case 'analysing':
        return await this.#analyse(r, now, intervalMs)
    }
  }

  async #analyse (r: Rollout, now: number, intervalMs: number): Promise<number> {
    const sb = this.#o.switchboard
    const step = r.steps[r.stepIndex] as RolloutStep
    const intervalEnd = Date.parse(r.intervalStartedAt ?? new Date(now).toISOString()) + intervalMs
    if (now < intervalEnd) {
      if (stepComplete(r, now)) return await this.#advance(r, r, now, [])
      const pauseLeft = step.pauseSeconds === undefined || r.stepPasses === 0 ? Infinity : step.pauseSeconds * 1000 - stepElapsedMs(r, now)
      return Math.max(0, Math.min(intervalEnd - now, pauseLeft))
    }
    const instances = await this.#instances()
    const q = r.analysis.latencyQuantile
    const to = sideFigures(intervalFigures(r.baseline, instances, r.to), q, DURATION_BUCKETS)
    const ref = isFullStep(r, r.stepIndex) ? r.reference : null
    const from = ref === null
      ? sideFigures(intervalFigures(r.baseline, instances, r.from), q, DURATION_BUCKETS)
      : countsOf(ref)
    // The interval's nominal end: the time to a rollback is measured from here (timer lateness included).
    const at = new Date(intervalEnd).toISOString()
    const analysis = judge(from, to, r.analysis, at, r.stepIndex)
    const { rollout, rollBack } = withAnalysis(r, analysis, snapshotOf(instances), now)
    const state = sb.state
    if (rollBack) {
      const why = `${r.consecutiveFailures + 1} failing interval${r.consecutiveFailures === 0 ? '' : 's'} in a row (limit ${r.analysis.failureLimit}): ${analysis.why}`
      const meta = this.#meta(r, `rollout ${r.id} rolled back at ${stepText(r, r.stepIndex)}: ${why}`, now)
      const event = { id: r.id, event: 'rollback', step: r.stepIndex, verdict: 'fail' } as const
      const change = weightsChange(state, r.startWeights, meta, event)
      const done = await this.#write({ expectedRev: r.rev, rollout: end(rollout, 'rolled-back', why, now), ...(change === undefined ? { events: [eventEntry(state, meta, event)] } : { change }) })
      if (done) {
        this.#o.metrics?.rolloutAnalysis(analysis.verdict)
        this.#log.warn({ rollout: r.id, step: r.stepIndex, why }, 'rollout rolled back')
      }
      return this.#o.tickMs
    }
    const verdict = eventEntry(state, this.#meta(r, `${stepText(r, r.stepIndex)}: ${analysis.verdict}: ${analysis.why}`, now), { id: r.id, event: 'verdict', step: r.stepIndex, verdict: analysis.verdict })
    if (stepComplete(rollout, now)) return await this.#advance(r, rollout, now, [verdict], analysis.verdict)
    if (await this.#write({ expectedRev: r.rev, rollout, events: [verdict] })) this.#o.metrics?.rolloutAnalysis(analysis.verdict)
    return intervalMs
  }

  /** Leaves the current step (written over `stored`'s rev, from the document `r` already holding this tick's analysis). */
  async #advance (stored: Rollout, r: Rollout, now: number, events: RolloutWrite['events'] & object, verdict?: Verdict): Promise<number> {
    const next = advance({ ...r, rev: stored.rev }, now)
    const state = this.#o.switchboard.state
    const all = [...events]
    if (next.phase === 'succeeded') all.push(eventEntry(state, this.#meta(r, `rollout ${r.id} succeeded: all ${r.steps.length} steps done`, now), { id: r.id, event: 'succeeded', step: r.stepIndex }))
    const done = await this.#write({ expectedRev: stored.rev, rollout: next, events: all })
    if (done && verdict !== undefined) this.#o.metrics?.rolloutAnalysis(verdict)
    return 0
  }
}
