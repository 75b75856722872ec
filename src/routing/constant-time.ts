/**
 * Constant-time string comparison for MACs of equal, public length. The loop visits every
 * character whatever the content, so timing reveals only the length, which is not secret.
 */

/** True when a and b are identical; runs in time dependent on length only. */
export function constantTimeEqual (a: string, b: string): boolean {
  if (a.length !== b.length) return false
  let diff = 0
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i)
  return diff === 0
}
