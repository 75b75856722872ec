/**
 * The package version for `switchyard --version`, read from package.json next to src/ or
 * dist/ (two levels above this file in both), without importing anything heavy.
 */
import { readFileSync } from 'node:fs'

/** The version in package.json, or "unknown" when it cannot be read. */
export function packageVersion (): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown }
    return typeof pkg.version === 'string' ? pkg.version : 'unknown'
  } catch {
    return 'unknown'
  }
}
