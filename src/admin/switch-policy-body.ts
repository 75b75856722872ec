/**
 * The switch policy of a write, as the API takes it. `drainSeconds` is the one name (the
 * state and history show it); `seconds`, the name the API took first, stays accepted as a
 * deprecated alias (the operator contract extends, never renames). A change that names no
 * policy is immediate; `drain` without its seconds is refused, never read as 0.
 */
import { IMMEDIATE, type SwitchPolicy } from '../routing/routing-state.js'
import { err, ok, type Result } from '../routing/types.js'
import type { SwitchPolicyBody } from './schemas.js'

/** The policy a write names (immediate when it names none), or the message of a 400. */
export function switchPolicyOf (body: SwitchPolicyBody | undefined): Result<SwitchPolicy, string> {
  if (body === undefined || body.mode === 'immediate') return ok(IMMEDIATE)
  const { drainSeconds, seconds } = body
  if (drainSeconds !== undefined && seconds !== undefined && drainSeconds !== seconds) {
    return err(`switchPolicy has drainSeconds ${drainSeconds} and seconds ${seconds}; send drainSeconds only (seconds is its deprecated alias)`)
  }
  const given = drainSeconds ?? seconds
  if (given === undefined) return err('switchPolicy.drainSeconds is required with mode "drain": how long (0..86400 s) sticky clients may stay on the color that drops to 0')
  return ok({ mode: 'drain', drainSeconds: given })
}
