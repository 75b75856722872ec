/**
 * The start-up budget of the client commands (`switchyard status` in a loop) holds only while
 * they load nothing heavy: this walks the static imports from src/cli.ts and each client
 * command and fails if one reaches a module outside src/cli/ (fastify, pino, the config
 * loader, app.ts) or an npm package. Type-only imports and `await import()` don't count.
 */
import { readFile } from 'node:fs/promises'
import { dirname, join, relative } from 'node:path'
import t from 'tap'
import { ROOT } from '../helpers/harness.js'

/** The modules `file` imports at load time (relative paths resolved to .ts, bare names as given). */
async function staticImports (file: string): Promise<string[]> {
  const text = await readFile(file, 'utf8')
  const out: string[] = []
  for (const m of text.matchAll(/^import\s+(type\s+)?(?:[^'"]*?\s+from\s+)?'([^']+)'/gm)) {
    if (m[1] !== undefined) continue
    const spec = m[2] as string
    out.push(spec.startsWith('.') ? join(dirname(file), spec.replace(/\.js$/, '.ts')) : spec)
  }
  return out
}

async function closure (entry: string): Promise<Set<string>> {
  const seen = new Set<string>()
  const todo = [entry]
  while (todo.length > 0) {
    const f = todo.pop() as string
    if (seen.has(f)) continue
    seen.add(f)
    if (f.startsWith('/')) todo.push(...await staticImports(f))
  }
  return seen
}

t.test('the client commands load only src/cli/ modules and node: builtins', async (t) => {
  const src = join(ROOT, 'src')
  const entries = ['cli.ts', 'cli/commands/status.ts', 'cli/commands/change.ts', 'cli/commands/lists.ts', 'cli/commands/target-action.ts', 'cli/commands/rollout.ts', 'cli/commands/pool.ts', 'cli/commands/reload.ts']
  for (const entry of entries) {
    const loaded = await closure(join(src, entry))
    const heavy = [...loaded].filter((m) => m.startsWith('/') ? !relative(src, m).startsWith('cli') : !m.startsWith('node:'))
    t.strictSame(heavy.map((m) => m.startsWith('/') ? relative(ROOT, m) : m), [], `${entry} loads nothing outside src/cli/`)
    t.ok(loaded.size > 1, `${entry}: imports were found (the walk works)`)
  }
  const server = await closure(join(src, 'cli/commands/server.ts'))
  t.notOk([...server].some((m) => m.endsWith('app.ts')), 'serve imports app.ts lazily too (await import)')
})
