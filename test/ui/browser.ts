/**
 * The browser of the dashboard tests: Debian's chromium (/usr/bin/chromium, or
 * SWITCHYARD_CHROMIUM), headless, driven by playwright-core (which downloads no browser).
 * A missing chromium fails the test with one line saying how to install it: never a skip.
 */
import { existsSync } from 'node:fs'
import { request } from 'undici'
import { chromium, type Browser, type Page } from 'playwright-core'
import { sleep, type Teardown } from '../helpers/harness.js'

/** Where the tests look for chromium. */
export const CHROMIUM = process.env.SWITCHYARD_CHROMIUM ?? '/usr/bin/chromium'

/** Launches headless chromium; closed in teardown. Rejects with the install command when it is absent. */
export async function launchBrowser (t: Teardown): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`the dashboard's browser tests need Chromium at ${CHROMIUM}: install it with: sudo apt-get update && sudo apt-get install -y chromium (or run npm test, whose pre-step installs it as root)`)
  }
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    // As root in a container chromium needs --no-sandbox; the rest keeps it off the network
    // (this machine's closed network refuses Google's hosts, many at a time).
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage']
  })
  t.teardown(() => browser.close())
  return browser
}

/**
 * What a page reported as broken: uncaught errors, console errors (CSP violations among
 * them). Chromium logs every 4xx fetch as an error: GET /rollout's 404 (no rollout) is
 * the one expected answer and is left out.
 */
export function pageProblems (page: Page): string[] {
  const problems: string[] = []
  page.on('pageerror', (e) => { problems.push(`page error: ${e.message}`) })
  page.on('console', (m) => {
    if (m.type() !== 'error') return
    if (/status of 404/.test(m.text()) && new URL(m.location().url).pathname === '/rollout') return
    problems.push(`console: ${m.text()} (${m.location().url})`)
  })
  return problems
}

/** Sends requests to `url` in a loop (about 40 a second) until teardown: live traffic for the charts. */
export function trafficLoop (t: Teardown, url: string): { readonly sent: () => number } {
  let stopped = false
  let sent = 0
  const loop = async (): Promise<void> => {
    while (!stopped) {
      try {
        const res = await request(url)
        await res.body.dump()
        sent++
      } catch { /* a request cut by teardown */ }
      await sleep(25)
    }
  }
  const done = loop()
  t.teardown(async () => { stopped = true; await done })
  return { sent: () => sent }
}
