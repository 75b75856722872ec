import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { ROOT } from '../helpers/harness.js'
import { adminCall, startTestSwitchyard, startUpstream, testConfig, until, untilValue } from '../helpers/services.js'
import { launchBrowser, pageProblems, trafficLoop } from './browser.js'

const ANALYSIS = { intervalSeconds: 1, minRequests: 3, maxLatencyRatio: 1000, failureLimit: 5 }

interface RolloutBody { rollout: { phase: string, stepIndex: number, stage: string, analyses: unknown[] } }

t.test('the page shows the rollout with its steps and verdicts, and approves, pauses, resumes and aborts it', async (t) => {
  const blue = await startUpstream(t, 'blue')
  const green = await startUpstream(t, 'green')
  const sy = await startTestSwitchyard(t, testConfig([blue, green], { initial: { weights: { blue: 100, green: 0 } }, rollout: { tickMs: 50 } }))
  trafficLoop(t, sy.proxyUrl + '/')
  const rollout = async (): Promise<RolloutBody['rollout']> => ((await adminCall(sy.adminUrl, 'GET', '/rollout')).json as RolloutBody).rollout
  const browser = await launchBrowser(t)
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } })
  const problems = pageProblems(page)
  await page.goto(`${sy.adminUrl}/ui`)
  await page.waitForSelector('[data-testid=no-rollout]')

  const started = await adminCall(sy.adminUrl, 'POST', '/rollouts', {
    to: 'green', steps: [{ weight: 20, pause: 'approval' }, { weight: 60, pauseSeconds: 3600 }, { weight: 100 }], analysis: ANALYSIS, reason: 'release 42'
  })
  t.equal(started.status, 201, started.body)
  const phase = async (): Promise<string> => await page.textContent('[data-testid=rollout-phase]').catch(() => '') ?? ''
  await until('the page to show the rollout awaiting approval', async () => await phase() === 'awaiting-approval', { detail: () => problems.join('; ') })
  t.match(await page.textContent('[data-testid=rollout]'), /blue → green, step 1 of 3/)
  t.match(await page.textContent('[data-testid=rollout]'), /release 42/)
  t.equal(await page.locator('[data-testid=rollout] .steps li').count(), 3, 'three steps')
  await until('a verdict on the page', async () => (await page.locator('[data-testid=rollout] .analyses tbody tr').count()) > 0)
  t.ok(await page.isDisabled('[data-testid=rollout-resume]'), 'resume is disabled while not paused')
  mkdirSync(join(ROOT, 'test/ui/artifacts'), { recursive: true })
  await page.screenshot({ path: join(ROOT, 'test/ui/artifacts/rollout.png'), fullPage: true })

  await page.click('[data-testid=rollout-approve]')
  await page.click('[data-testid=confirm-ok]')
  await untilValue('the rollout at step 2', async () => { const r = await rollout(); return r.stepIndex === 1 ? r : undefined })
  await until('the page to show step 2', async () => /step 2 of 3/.test(await page.textContent('[data-testid=rollout]') ?? ''))

  await page.click('[data-testid=rollout-pause]')
  await page.click('[data-testid=confirm-ok]')
  await until('GET /rollout to say paused', async () => (await rollout()).phase === 'paused')
  await until('the page to say paused', async () => await phase() === 'paused')
  await page.click('[data-testid=rollout-resume]')
  await page.click('[data-testid=confirm-ok]')
  await until('GET /rollout to say progressing', async () => (await rollout()).phase === 'progressing')

  // A manual change while the rollout is active offers "force"; without it the server refuses.
  await page.click('[data-testid=rollback]')
  await page.waitForSelector('#confirm-force', { state: 'visible' })
  await page.click('[data-testid=confirm-ok]')
  await until('the refusal of a rollback during a rollout', async () => /SWY_ERR_ROLLOUT_ACTIVE/.test(await page.textContent('[data-testid=notice]') ?? ''))

  await page.click('[data-testid=rollout-abort]')
  await page.click('[data-testid=confirm-ok]')
  await until('GET /rollout to say aborted', async () => (await rollout()).phase === 'aborted')
  await until('the page to say aborted', async () => await phase() === 'aborted')
  const state = (await adminCall(sy.adminUrl, 'GET', '/state')).json as { weights: Record<string, number> }
  t.same(state.weights, { blue: 100, green: 0 }, 'abort went back to the starting weights')
  t.ok(await page.isDisabled('[data-testid=rollout-abort]'), 'an ended rollout offers no action')
  t.same(problems.filter((p) => !/status of 409/.test(p)), [], 'no page error (the refused rollback is a 409 in the console)')
})
