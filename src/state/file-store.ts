/**
 * The embedded default store: one JSON document on disk holding the state, the capped
 * history and the cookie secret. Every commit writes a temp file in the same directory,
 * fsyncs it, renames it over the old one and fsyncs the directory, so a crash leaves either
 * the old or the new document, never a torn one. One process owns the file; writes in that
 * process are serialized. A corrupt or unreadable file stops the start: silently resetting
 * to the initial weights could send every user back to blue.
 */
import { randomBytes } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { SwitchyardError } from '../errors.js'
import { checkStoredState, type HistoryEntry, type RoutingState } from '../routing/routing-state.js'
import { LocalInstances } from './local-instances.js'
import { writeFileAtomic } from './atomic-file.js'
import { HISTORY_LIMIT, type CasOutcome, type InstanceInfo, type Store } from './store.js'

const FORMAT = 'switchyard-state/1'

interface Document {
  readonly format: typeof FORMAT
  readonly state: RoutingState | null
  readonly history: readonly HistoryEntry[]
  readonly secret: string
}

/** A Store persisted to one file. */
export class FileStore implements Store {
  readonly kind = 'file'
  readonly shared = false
  readonly #instances = new LocalInstances()
  readonly #path: string
  #doc: Document | undefined
  #queue: Promise<unknown> = Promise.resolve()
  readonly #listeners = new Set<(state: RoutingState) => void>()

  constructor (path: string) {
    this.#path = path
  }

  async #read (): Promise<Document> {
    if (this.#doc !== undefined) return this.#doc
    let text: string
    try {
      text = await readFile(this.#path, 'utf8')
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
        this.#doc = { format: FORMAT, state: null, history: [], secret: randomBytes(32).toString('base64url') }
        return this.#doc
      }
      throw new SwitchyardError('SWY_ERR_STORE_CORRUPT', `cannot read state file ${this.#path}: ${(e as Error).message}`)
    }
    let parsed: unknown
    try {
      parsed = JSON.parse(text)
    } catch (e) {
      throw new SwitchyardError('SWY_ERR_STORE_CORRUPT', `state file ${this.#path} is not valid JSON (${(e as Error).message}); fix or move it away, switchyard will not reset routing silently`)
    }
    const problems = checkDocument(parsed)
    if (problems.length > 0) {
      throw new SwitchyardError('SWY_ERR_STORE_CORRUPT', `state file ${this.#path} is not a valid switchyard state: ${problems.join('; ')}`)
    }
    this.#doc = parsed as Document
    return this.#doc
  }

  async #write (doc: Document): Promise<void> {
    await writeFileAtomic(this.#path, JSON.stringify(doc, null, 2) + '\n')
  }

  #serial<T> (fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn, fn)
    this.#queue = run.catch(() => {})
    return run
  }

  async connect (): Promise<void> {}

  async load (): Promise<RoutingState | null> {
    return (await this.#serial(() => this.#read())).state
  }

  compareAndSet (expectedVersion: number, next: RoutingState, entry: HistoryEntry): Promise<CasOutcome> {
    return this.#serial(async () => {
      const doc = await this.#read()
      const current = doc.state?.version ?? 0
      if (current !== expectedVersion) return { ok: false, reason: 'conflict', current: doc.state } as const
      const history = [entry, ...doc.history].slice(0, HISTORY_LIMIT)
      const nextDoc: Document = { format: FORMAT, state: next, history, secret: doc.secret }
      await this.#write(nextDoc)
      this.#doc = nextDoc
      for (const l of this.#listeners) l(next)
      return { ok: true } as const
    })
  }

  reseed (state: RoutingState, _secret: string, entry: HistoryEntry): Promise<boolean> {
    return this.#serial(async () => {
      const doc = await this.#read()
      if ((doc.state?.version ?? 0) >= state.version) return false
      const nextDoc: Document = { format: FORMAT, state, history: [entry, ...doc.history].slice(0, HISTORY_LIMIT), secret: doc.secret }
      await this.#write(nextDoc)
      this.#doc = nextDoc
      for (const l of this.#listeners) l(state)
      return true
    })
  }

  onConnectivity (): () => void {
    return () => {}
  }

  async heartbeat (info: InstanceInfo, ttlMs: number): Promise<void> {
    this.#instances.beat(info, ttlMs)
  }

  async instances (): Promise<readonly InstanceInfo[]> {
    return this.#instances.live()
  }

  subscribe (listener: (state: RoutingState) => void): () => void {
    this.#listeners.add(listener)
    return () => { this.#listeners.delete(listener) }
  }

  async history (limit: number): Promise<readonly HistoryEntry[]> {
    return (await this.#serial(() => this.#read())).history.slice(0, limit)
  }

  async secret (): Promise<string> {
    return (await this.#serial(() => this.#read())).secret
  }

  async close (): Promise<void> {
    await this.#queue
    this.#listeners.clear()
  }
}

function checkDocument (value: unknown): string[] {
  if (typeof value !== 'object' || value === null) return ['the document is not an object']
  const d = value as Partial<Document>
  const problems: string[] = []
  if (d.format !== FORMAT) problems.push(`format must be "${FORMAT}", got ${JSON.stringify(d.format)}`)
  if (typeof d.secret !== 'string' || d.secret.length < 32) problems.push('secret is missing or too short')
  if (!Array.isArray(d.history)) problems.push('history must be a list')
  if (d.state !== null) problems.push(...checkStoredState(d.state))
  return problems
}
