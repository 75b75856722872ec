/**
 * Crash-safe file replacement: write a temp file in the same directory, fsync it, rename it
 * over the target, fsync the directory. Readers see the old content or the new, never a mix.
 */
import { randomBytes } from 'node:crypto'
import { mkdir, open, rename, unlink } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'

/** Atomically replaces `path` with `content` (mode 0600: these files may hold secrets). */
export async function writeFileAtomic (path: string, content: string): Promise<void> {
  const dir = dirname(path)
  await mkdir(dir, { recursive: true })
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`)
  const fh = await open(tmp, 'w', 0o600)
  try {
    await fh.writeFile(content)
    await fh.sync()
  } finally {
    await fh.close()
  }
  try {
    await rename(tmp, path)
  } catch (e) {
    await unlink(tmp).catch(() => {})
    throw e
  }
  const dh = await open(dir, 'r')
  try { await dh.sync() } catch { /* some filesystems refuse directory fsync */ } finally { await dh.close() }
}
