/**
 * `switchyard rollout ...` end to end against a real switchyard with the rollout API
 * (issue 11: POST /rollouts, GET /rollout, POST /rollout/:action), the CLI as a child
 * process. Written against the contract in HELPERS.md before the routes were merged: on a
 * server without them every test FAILS (never skips) with a message saying so.
 */
import t, { type Test } from 'tap'
import { untilValue } from '../helpers/harness.js'
import { runCli, spawnCli } from '../helpers/process.js'
import { adminCall, startTestSwitchyard, startUpstream, testConfig } from '../helpers/services.js'

t.setTimeout(10 * 60_000)

interface Rollout { phase: string, active: boolean, stepIndex: number, stage: string, endReason: string | null }

/** Starts a switchyard and checks that it has the rollout API; fails loudly if not. */
async function withRollouts (t: Test): Promise<{ adminUrl: string, env: Record<string, string> }> {
  const blue = await startUpstream(t, 'blue')
  const green = await startUpstream(t, 'green')
  const sy = await startTestSwitchyard(t, testConfig([blue, green], { initial: { weights: { blue: 100, green: 0 } } }))
  const probe = await adminCall(sy.adminUrl, 'GET', '/rollout')
  if (probe.status === 404 && (probe.json as { error?: string } | undefined)?.error === 'SWY_ERR_ADMIN_NOT_FOUND') {
    throw new Error('ROLLOUT API MISSING: GET /rollout answers 404 SWY_ERR_ADMIN_NOT_FOUND. These CLI tests need the rollout routes of issue 11 (merge them first); they fail instead of skipping on purpose.')
  }
  return { adminUrl: sy.adminUrl, env: { SWITCHYARD_ADMIN_URL: sy.adminUrl } }
}

async function rolloutIn (adminUrl: string, what: string, ok: (r: Rollout) => boolean): Promise<Rollout> {
  let last = ''
  return await untilValue(`the rollout to be ${what}`, async () => {
    const a = await adminCall(adminUrl, 'GET', '/rollout')
    last = a.body
    const r = (a.json as { rollout?: Rollout } | undefined)?.rollout
    return r !== undefined && ok(r) ? r : undefined
  }, { timeoutMs: 60_000, everyMs: 100, detail: () => last })
}

t.test('no rollout yet: status exits 1 with SWY_ERR_NO_ROLLOUT', async (t) => {
  const { env } = await withRollouts(t)
  const r = await runCli(t, ['rollout', 'status'], env)
  t.equal(r.code, 1)
  t.match(r.stderr, /^switchyard: SWY_ERR_NO_ROLLOUT: /)
  const status = await runCli(t, ['status'], env)
  t.equal(status.code, 0, status.stderr)
  t.match(status.stdout, /rollout\s+none/)
})

t.test('start with an approval step, status, approve/promote while watching: --watch exits 0 on success', async (t) => {
  const { adminUrl, env } = await withRollouts(t)
  const start = await runCli(t, ['rollout', 'start', '--to', 'green', '--steps', '50,100', '--approval-at', '50', '--interval', '1s', '--min-requests', '1', '--reason', 'release 2.4'], env)
  t.equal(start.code, 0, start.stderr)
  t.match(start.stdout, /^rollout \S+ {2}blue → green {2}/, 'it prints the new rollout')
  t.match(start.stdout, /50 % \(approval\)/)

  await rolloutIn(adminUrl, 'awaiting approval', (r) => r.phase === 'awaiting-approval')
  const status = await runCli(t, ['rollout', 'status'], env)
  t.equal(status.code, 0, status.stderr)
  t.match(status.stdout, /AWAITING-APPROVAL/)
  t.match(status.stdout, /next: switchyard rollout approve/)
  const json = await runCli(t, ['rollout', 'status', '--json'], env)
  t.match(JSON.parse(json.stdout), { rollout: { phase: 'awaiting-approval', to: 'green', steps: [{ weight: 50, pause: 'approval' }, { weight: 100 }] } }, '--json prints the server\'s view')
  const overview = await runCli(t, ['status'], env)
  t.match(overview.stdout, /rollout\s+blue → green {2}awaiting-approval {2}step 1\/2 \(50 %\)/, 'switchyard status shows the rollout')

  const again = await runCli(t, ['rollout', 'start', '--to', 'green', '--steps', '100'], env)
  t.equal(again.code, 1, 'a second rollout is refused')
  t.match(again.stderr, /^switchyard: SWY_ERR_ROLLOUT_ACTIVE: /)
  const weights = await runCli(t, ['weights', 'blue=100', 'green=0'], env)
  t.equal(weights.code, 1, 'so is a weights change during a rollout')
  t.match(weights.stderr, /^switchyard: SWY_ERR_ROLLOUT_ACTIVE: /)

  const watch = spawnCli(t, ['rollout', 'status', '--watch'], env)
  const promote = await runCli(t, ['rollout', 'promote', '--reason', 'looks good'], env)
  t.equal(promote.code, 0, promote.stderr)
  const exit = await watch.exited
  t.equal(exit.code, 0, `--watch exits 0 when the rollout succeeded (${watch.stderr()})`)
  t.match(watch.stdout(), /SUCCEEDED/)
  t.match((await adminCall(adminUrl, 'GET', '/state')).json, { weights: { blue: 0, green: 100 } }, 'green takes everything')
  const late = await runCli(t, ['rollout', 'pause'], env)
  t.equal(late.code, 1, 'acting on an ended rollout is refused')
  t.match(late.stderr, /^switchyard: SWY_ERR_ROLLOUT_NOT_ACTIVE: /)
})

t.test('pause, resume, a refused approve, and abort: --watch exits 1 and the weights are restored', async (t) => {
  const { adminUrl, env } = await withRollouts(t)
  const start = await runCli(t, ['rollout', 'start', '--to', 'green', '--steps', '10,100', '--pause', '1h', '--reason', 'slow canary'], env)
  t.equal(start.code, 0, start.stderr)
  await rolloutIn(adminUrl, 'at its first step', (r) => r.phase === 'progressing' && r.stage === 'analysing')

  const approve = await runCli(t, ['rollout', 'approve'], env)
  t.equal(approve.code, 1, 'approve when nothing awaits approval is refused')
  t.match(approve.stderr, /^switchyard: SWY_ERR_ROLLOUT_PHASE: /)

  const pause = await runCli(t, ['rollout', 'pause', '--reason', 'lunch'], env)
  t.equal(pause.code, 0, pause.stderr)
  t.match(pause.stdout, /PAUSED/)
  t.match(pause.stdout, /next: switchyard rollout resume/)
  const resume = await runCli(t, ['rollout', 'resume'], env)
  t.equal(resume.code, 0, resume.stderr)
  t.match(resume.stdout, /PROGRESSING/)

  const watch = spawnCli(t, ['rollout', 'status', '--watch'], env)
  const abort = await runCli(t, ['rollout', 'abort', '--reason', 'p99 too high'], env)
  t.equal(abort.code, 0, abort.stderr)
  t.match(abort.stdout, /ABORTED/)
  const exit = await watch.exited
  t.equal(exit.code, 1, '--watch exits 1 when the rollout was aborted')
  t.match(watch.stderr(), /^switchyard: the rollout aborted/)
  t.match((await adminCall(adminUrl, 'GET', '/state')).json, { weights: { blue: 100, green: 0 } }, 'the start weights are back')
})

t.test('--force on a flip aborts the active rollout first', async (t) => {
  const { adminUrl, env } = await withRollouts(t)
  t.equal((await runCli(t, ['rollout', 'start', '--to', 'green', '--steps', '10,100', '--pause', '1h'], env)).code, 0)
  await rolloutIn(adminUrl, 'started', (r) => r.active)
  const refused = await runCli(t, ['flip', 'blue'], env)
  t.equal(refused.code, 1)
  t.match(refused.stderr, /SWY_ERR_ROLLOUT_ACTIVE/)
  const forced = await runCli(t, ['rollback', '--force', '--reason', 'emergency'], env)
  t.equal(forced.code, 0, forced.stderr)
  const r = await rolloutIn(adminUrl, 'aborted by the forced change', (x) => !x.active)
  t.equal(r.phase, 'aborted')
})
