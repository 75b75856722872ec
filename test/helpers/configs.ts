/**
 * Config fixtures shared by the loader tests and the CLI tests.
 */

/** A config with one problem of each kind: schema (unknown key, bad color name) and semantic (target path, weights sum). */
export const MANY_PROBLEMS_YAML = `
bogus: true
colors:
  blue:  { targets: ["http://127.0.0.1:3001/app"] }
  green: { targets: ["http://127.0.0.1:3002"] }
  Bad_Color: { targets: ["http://127.0.0.1:3003"] }
initial: { weights: { blue: 80, green: 10 } }
store: { kind: memory }
`

/** What each of MANY_PROBLEMS_YAML's problems must be reported as. */
export const MANY_PROBLEMS: ReadonlyArray<readonly [string, RegExp]> = [
  ['the unknown top-level key', /bogus/],
  ['the bad color name, by name', /Bad_Color/],
  ['the target with a path', /colors\.blue\.targets\[0\].*must be an origin/],
  ['the initial weights summing to 90', /initial\.weights.*sum to 100/]
]
