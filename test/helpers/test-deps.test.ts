import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { ROOT } from './harness.js'

/** What scripts/test-deps.sh runs, and the programs it looks for. */
const PROGRAMS = ['node', 'id', 'apt-get', 'redis-server', 'promtool', 'prometheus', 'timeout', 'chromium']

/** A PATH of one directory linking the programs above (where this machine has them) except `hidden`. */
function pathWithout (t: Test, hidden: readonly string[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'swy-path-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  for (const name of PROGRAMS) {
    if (hidden.includes(name)) continue
    const found = name === 'node' ? process.execPath : spawnSync('/bin/sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).stdout.trim()
    if (found !== '') symlinkSync(found, join(dir, name))
  }
  return dir
}

function testDeps (env: NodeJS.ProcessEnv): { status: number | null, stdout: string, stderr: string } {
  const r = spawnSync('/bin/bash', ['scripts/test-deps.sh'], { cwd: ROOT, env: { ...process.env, ...env }, encoding: 'utf8' })
  return { status: r.status, stdout: r.stdout, stderr: r.stderr }
}

t.test('with everything on the PATH the pre-step says nothing and succeeds', async (t) => {
  const r = testDeps({})
  t.equal(r.status, 0, r.stderr)
  t.equal(r.stdout + r.stderr, '')
})

t.test('a missing program stops npm test at once with one line naming the package and the install command', async (t) => {
  const r = testDeps({ PATH: pathWithout(t, ['promtool', 'prometheus']), SWITCHYARD_TEST_NO_INSTALL: '1' })
  t.equal(r.status, 1)
  t.equal(r.stdout, '')
  const lines = r.stderr.trimEnd().split('\n')
  t.equal(lines.length, 1, `one line: ${r.stderr}`)
  t.match(lines[0], /^npm test needs promtool, prometheus \(not on the PATH\): install the Debian package prometheus with: sudo apt-get update && sudo apt-get install -y --no-install-recommends prometheus$/)
})

t.test('several missing packages are named in the same one line', async (t) => {
  const r = testDeps({ PATH: pathWithout(t, ['promtool', 'prometheus', 'redis-server']), SWITCHYARD_TEST_NO_INSTALL: '1' })
  t.equal(r.status, 1)
  t.equal(r.stderr.trimEnd().split('\n').length, 1)
  t.match(r.stderr, /install the Debian packages redis-server prometheus with: .*apt-get install -y --no-install-recommends redis-server prometheus/)
})

t.test('a missing chromium (the dashboard\'s browser tests) is named with its Debian package', async (t) => {
  const r = testDeps({ PATH: pathWithout(t, ['chromium']), SWITCHYARD_TEST_NO_INSTALL: '1' })
  t.equal(r.status, 1)
  t.match(r.stderr, /^npm test needs chromium \(not on the PATH\): install the Debian package chromium with: sudo apt-get update && sudo apt-get install -y --no-install-recommends chromium\n$/)
})
