/**
 * A color's pool of targets, picked round robin. Built once from the config; a pick is an
 * index increment and an array read.
 */

/** Round-robin picker over one color's target origins. */
export class UpstreamPool {
  readonly targets: readonly string[]
  #next = 0

  constructor (targets: readonly string[]) {
    this.targets = targets.map((t) => new URL(t).origin)
  }

  /** The next target origin, or undefined when the pool is empty. */
  pick (): string | undefined {
    const n = this.targets.length
    if (n === 0) return undefined
    const i = this.#next
    this.#next = i + 1 === n ? 0 : i + 1
    return this.targets[i]
  }
}
