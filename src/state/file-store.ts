/**
 * The embedded default store: one JSON document on disk holding the state, the capped
 * history, the cookie secret and the rollout document (`rollout`, absent from files of
 * releases before rollouts). Every commit writes a temp file in the same directory,
 * fsyncs it, renames it over the old one and fsyncs the directory, so a crash leaves either
 * the old or the new document, never a torn one. One process owns the file; writes in that
 * process are serialized (see LocalStore). A corrupt or unreadable file stops the start:
 * silently resetting to the initial weights could send every user back to blue.
 */
import { readFile } from 'node:fs/promises'
import { SwitchyardError } from '../errors.js'
import { writeFileAtomic } from './atomic-file.js'
import { emptyDocument, LocalStore, type LocalDocument } from './local-store.js'
import { checkHistoryEntry, checkRollout, checkSecret, checkStoredState, parseStored } from './stored-state.js'

const FORMAT = 'switchyard-state/1'

/** A Store persisted to one file. */
export class FileStore extends LocalStore {
  readonly kind = 'file'
  readonly shared = false
  readonly #path: string
  #doc: LocalDocument | undefined

  constructor (path: string) {
    super()
    this.#path = path
  }

  protected async read (): Promise<LocalDocument> {
    if (this.#doc !== undefined) return this.#doc
    let text: string
    try {
      text = await readFile(this.#path, 'utf8')
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
        this.#doc = emptyDocument()
        return this.#doc
      }
      throw new SwitchyardError('SWY_ERR_STORE_CORRUPT', `cannot read state file ${this.#path}: ${(e as Error).message}`)
    }
    const parsed = parseStored(text, `state file ${this.#path}`)
    const problems = checkDocument(parsed)
    if (problems.length > 0) {
      throw new SwitchyardError('SWY_ERR_STORE_CORRUPT', `state file ${this.#path} is not a valid switchyard state: ${problems.join('; ')}; fix or move it away, switchyard will not reset routing silently`)
    }
    const d = parsed as Omit<LocalDocument, 'rollout'> & { rollout?: LocalDocument['rollout'] }
    this.#doc = { state: d.state, history: d.history, secret: d.secret, rollout: d.rollout ?? null }
    return this.#doc
  }

  protected async write (doc: LocalDocument): Promise<void> {
    // No `rollout` field until there is one: the file stays what the previous release wrote.
    const { rollout, ...rest } = doc
    await writeFileAtomic(this.#path, JSON.stringify({ format: FORMAT, ...rest, ...(rollout === null ? {} : { rollout }) }, null, 2) + '\n')
    this.#doc = doc
  }
}

/** Every problem of a state file's document (the same checks every store applies). */
function checkDocument (value: unknown): string[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return ['the document is not an object']
  const d = value as { format?: unknown, state?: unknown, history?: unknown, secret?: unknown, rollout?: unknown }
  const problems: string[] = []
  if (d.format !== FORMAT) problems.push(`format must be "${FORMAT}", got ${JSON.stringify(d.format)}`)
  problems.push(...checkSecret(d.secret))
  if (!Array.isArray(d.history)) problems.push('history must be a list')
  else d.history.forEach((e: unknown, i) => { for (const p of checkHistoryEntry(e)) problems.push(`history[${i}]: ${p}`) })
  if (d.state !== null) problems.push(...checkStoredState(d.state).map((p) => `state: ${p}`))
  // Optional: files written before rollouts have none.
  if (d.rollout !== undefined && d.rollout !== null) problems.push(...checkRollout(d.rollout))
  return problems
}
