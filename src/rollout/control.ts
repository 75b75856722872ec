/**
 * The operator's side of a rollout, for the admin routes of every instance: start one, act on
 * it (pause, resume, approve, promote, abort), and the guard that keeps manual weight changes
 * from fighting an active rollout. Each action is a compare-and-set of the rollout document
 * (with its routing change, when it has one, in the same write), retried on a lost race, so an
 * action on any instance and the driver on another never overwrite each other.
 */
import { randomBytes } from 'node:crypto'
import type { ChangeMeta } from '../routing/routing-state.js'
import { err, ok, type Result } from '../routing/types.js'
import type { ChangeFailure, Switchboard } from '../state/switchboard.js'
import type { RolloutWrite } from '../state/store.js'
import { approve, canEnd, createRollout, end, fullWeights, pause, resume, type ActionRefused } from './plan.js'
import { auditRolloutWrite, eventEntry, weightsChange, type AuditLog } from './records.js'
import { checkRollout, type RolloutRequest, type SpecProblem } from './spec.js'
import { isFinal, type Rollout } from './types.js'

/** The operator's actions on the current rollout, each its own route. */
export const ROLLOUT_ACTIONS = ['pause', 'resume', 'approve', 'promote', 'abort'] as const
/** An operator's action on the current rollout. */
export type RolloutAction = typeof ROLLOUT_ACTIONS[number]

/** Why an action did not happen. */
export type ControlFailure = ActionRefused | ChangeFailure | SpecProblem

const ATTEMPTS = 8

/** A fresh rollout id: short, unique enough to name in a history. */
export function newRolloutId (): string {
  return `ro-${randomBytes(4).toString('hex')}`
}

/** Starts and steers rollouts through the store. */
export class RolloutControl {
  readonly #switchboard: Switchboard
  readonly #now: () => number
  readonly #changed: () => void
  readonly #log: AuditLog

  constructor (options: { readonly switchboard: Switchboard, readonly now?: () => number, readonly onChange?: () => void, readonly log?: AuditLog }) {
    this.#switchboard = options.switchboard
    this.#now = options.now ?? Date.now
    this.#changed = options.onChange ?? (() => {})
    this.#log = options.log ?? { info () {} }
  }

  /** The current (or last) rollout, or null. Rejects with the store's coded error. */
  current (): Promise<Rollout | null> {
    return this.#switchboard.store.loadRollout()
  }

  /** Who drives rollouts now (the lease holder), or null. */
  driver (): Promise<string | null> {
    return this.#switchboard.store.leaseHolder()
  }

  /** Writes, retrying with `build` on a fresh document while the write loses a race. */
  async #write (build: (stored: Rollout | null) => Result<RolloutWrite, ControlFailure>): Promise<Result<Rollout, ControlFailure>> {
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const stored = await this.current()
      const write = build(stored)
      if (!write.ok) return write
      const out = await this.#switchboard.writeRollout(write.value)
      if ('code' in out) return err(out)
      if (out.ok) {
        auditRolloutWrite(this.#log, write.value)
        this.#changed()
        return ok(write.value.rollout)
      }
    }
    return err({ code: 'SWY_ERR_STATE_VERSION_CONFLICT', message: 'the rollout kept changing under this action; try again' })
  }

  /** Starts a rollout; 409 while another is active. */
  start (req: RolloutRequest, by: string): Promise<Result<Rollout, ControlFailure>> {
    return this.#write((stored) => {
      if (stored !== null && !isFinal(stored.phase)) return err(activeRefusal(stored))
      const state = this.#switchboard.state
      const spec = checkRollout(req, state)
      if (!spec.ok) return err(spec.error)
      const now = this.#now()
      const rollout = createRollout(spec.value, { id: newRolloutId(), startedBy: by, now, rev: (stored?.rev ?? 0) + 1, startWeights: state.weights, startVersion: state.version })
      const why = `rollout ${rollout.id} started: ${rollout.from} → ${rollout.to} in ${rollout.steps.length} step${rollout.steps.length === 1 ? '' : 's'} (${rollout.steps.map((s) => `${s.weight} %`).join(', ')})${spec.value.reason === '' ? '' : `: ${spec.value.reason}`}`
      const meta: ChangeMeta = { changedBy: by, reason: why, at: new Date(now).toISOString() }
      return ok({ expectedRev: stored?.rev ?? 0, rollout, events: [eventEntry(state, meta, { id: rollout.id, event: 'start', step: 0 })] })
    })
  }

  /** Pauses, resumes, approves, promotes (to 100 % now) or aborts (back to the starting weights). */
  act (action: RolloutAction, by: string, reason: string | undefined): Promise<Result<Rollout, ControlFailure>> {
    return this.#write((stored) => {
      if (stored === null) return err({ code: 'SWY_ERR_NO_ROLLOUT', message: 'there has never been a rollout; start one with POST /rollouts' })
      const now = this.#now()
      const state = this.#switchboard.state
      const meta: ChangeMeta = { changedBy: by, reason: `${action} rollout ${stored.id}${reason === undefined || reason === '' ? '' : `: ${reason}`}`, at: new Date(now).toISOString() }
      const event = { id: stored.id, event: action, step: stored.stepIndex } as const
      if (action === 'promote' || action === 'abort') {
        const allowed = canEnd(stored)
        if (!allowed.ok) return allowed
        const weights = action === 'promote' ? fullWeights(stored, state.colors) : stored.startWeights
        const change = weightsChange(state, weights, meta, event)
        const rollout = end(stored, action === 'promote' ? 'succeeded' : 'aborted', `${action === 'promote' ? 'promoted' : 'aborted'} by ${by}${reason === undefined || reason === '' ? '' : `: ${reason}`}`, now)
        return ok({ expectedRev: stored.rev, rollout, ...(change === undefined ? { events: [eventEntry(state, meta, event)] } : { change }) })
      }
      const next = action === 'pause' ? pause(stored, now) : action === 'resume' ? resume(stored, now) : approve(stored, now)
      if (!next.ok) return next
      return ok({ expectedRev: stored.rev, rollout: next.value, events: [eventEntry(state, meta, event)] })
    })
  }

  /**
   * The guard of PUT /weights, POST /flip and POST /rollback: while a rollout is active they
   * are refused (SWY_ERR_ROLLOUT_ACTIVE) unless forced; forced, the rollout is aborted first
   * without touching the weights (the forced change is the next routing change, so no user
   * moves twice), both recorded. Resolves undefined when the change may go ahead.
   */
  async guard (force: boolean, by: string, what: string): Promise<ControlFailure | undefined> {
    const stored = await this.current()
    if (stored === null || isFinal(stored.phase)) return undefined
    if (!force) return activeRefusal(stored)
    const done = await this.#write((s) => {
      if (s === null || isFinal(s.phase)) return err({ code: 'SWY_ERR_ROLLOUT_NOT_ACTIVE', message: 'ended meanwhile' })
      const now = this.#now()
      const meta: ChangeMeta = { changedBy: by, reason: `rollout ${s.id} aborted: forced ${what}`, at: new Date(now).toISOString() }
      return ok({ expectedRev: s.rev, rollout: end(s, 'aborted', `aborted by ${by}: forced ${what}`, now), events: [eventEntry(this.#switchboard.state, meta, { id: s.id, event: 'abort', step: s.stepIndex })] })
    })
    if (!done.ok && done.error.code !== 'SWY_ERR_ROLLOUT_NOT_ACTIVE') return done.error
    return undefined
  }
}

function activeRefusal (r: Rollout): ActionRefused {
  return { code: 'SWY_ERR_ROLLOUT_ACTIVE', message: `rollout ${r.id} (${r.from} → ${r.to}) is ${r.phase} at step ${r.stepIndex + 1} of ${r.steps.length}; pause, promote or abort it, or send "force": true to abort it and make this change` }
}
