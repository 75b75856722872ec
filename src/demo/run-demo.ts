/**
 * `switchyard demo`: three demo upstreams per color (so a rolling upgrade can roll) plus the
 * proxy, on a state file of its own (./data/demo-state.json, never the ./data/state.json
 * `npm start` uses), with an active health check on the upstreams' /healthz. The banner says
 * where everything is, the weights the demo really starts with (a kept state survives a
 * restart; `--reset` starts fresh at 50/50), and how to make a color fail or slow down.
 */
import { rm } from 'node:fs/promises'
import type { Logger } from 'pino'
import { startSwitchyard, type Running } from '../app.js'
import { defaultConfigInput, loadConfigFile, validateConfig, type LoadedConfig } from '../config/load-config.js'
import { SwitchyardError } from '../errors.js'
import { weightsToPercent } from '../routing/weights.js'
import { startDemoUpstream, type DemoUpstream } from './demo-upstreams.js'

/** The demo's own state file (relative to the working directory, like the default store's). */
export const DEMO_STATE_PATH = './data/demo-state.json'

/** The demo upstreams' ports per color: blue on odd, green on even ports from 3001 (3001 and 3002 as before). */
export const DEMO_PORTS: Readonly<Record<string, readonly number[]>> = { blue: [3001, 3003, 3005], green: [3002, 3004, 3006] }

/** How to start the demo. */
export interface DemoOptions {
  /** A config file whose targets get demo upstreams (its own store; `reset` is refused with it). */
  readonly configPath?: string
  /** Remove the demo's state file first: fresh weights (50/50), history and cookie secret. */
  readonly reset?: boolean
  /** The demo's state file (default DEMO_STATE_PATH). */
  readonly statePath?: string
  /** Every port 0 (tests): the upstreams', the proxy's and the admin API's. */
  readonly ephemeralPorts?: boolean
  /** A logger instead of one built from the config. */
  readonly logger?: Logger<string, boolean>
}

/** A running demo. */
export interface Demo {
  readonly running: Running
  readonly upstreams: readonly DemoUpstream[]
  /** What to print: where things are, the current weights, what to try. */
  readonly banner: string
  /** shutdown.graceSeconds of the demo's config. */
  readonly graceSeconds: number
  /** Closes the demo upstreams (after running.close()). */
  closeUpstreams (): Promise<void>
}

/** The demo's config: the embedded defaults with three targets per color, 50/50, its own state file, active checks. */
export function demoConfig (urls: Readonly<Record<string, readonly string[]>>, statePath: string): LoadedConfig {
  const colors: Record<string, { targets: Array<{ id: string, url: string }> }> = {}
  for (const [color, list] of Object.entries(urls)) colors[color] = { targets: list.map((url, i) => ({ id: `${color}-${i + 1}`, url })) }
  return validateConfig({
    ...defaultConfigInput(),
    colors,
    initial: { weights: { blue: 50, green: 50 } },
    store: { kind: 'file', path: statePath },
    health: { active: { path: '/healthz' } }
  }, process.env, 'demo defaults')
}

/** Starts the demo upstreams and the proxy; prints nothing (the caller prints `banner`). */
export async function startDemo (opts: DemoOptions = {}): Promise<Demo> {
  const statePath = opts.statePath ?? DEMO_STATE_PATH
  const upstreams: DemoUpstream[] = []
  const closeUpstreams = async (): Promise<void> => { await Promise.all(upstreams.map((u) => u.close())) }
  try {
    let loaded: LoadedConfig
    if (opts.configPath !== undefined) {
      if (opts.reset === true) throw new SwitchyardError('SWY_ERR_CONFIG_INVALID', `--reset clears the demo's own state (${statePath}); with --config, the config's store is yours to clear`)
      loaded = await loadConfigFile(opts.configPath)
      for (const [i, color] of loaded.colors.entries()) {
        for (const t of loaded.targets[i] ?? []) {
          const u = new URL(t.url)
          upstreams.push(await startDemoUpstream(color, Number(u.port), u.hostname.replace(/^\[|\]$/g, '')))
        }
      }
    } else {
      if (opts.reset === true) await rm(statePath, { force: true })
      const urls: Record<string, string[]> = {}
      for (const [color, ports] of Object.entries(DEMO_PORTS)) {
        for (const port of ports) {
          const u = await startDemoUpstream(color, opts.ephemeralPorts === true ? 0 : port)
          upstreams.push(u)
          ;(urls[color] ??= []).push(u.url)
        }
      }
      loaded = demoConfig(urls, statePath)
    }
    const running = await startSwitchyard(loaded, {
      ...(opts.logger === undefined ? {} : { logger: opts.logger }),
      ...(opts.ephemeralPorts === true ? { proxyPort: 0, adminPort: 0 } : {})
    })
    const statePathShown = loaded.config.store.kind === 'file' ? loaded.config.store.path : `the ${loaded.config.store.kind} store`
    return { running, upstreams, banner: demoBanner(running, upstreams, statePathShown, opts.configPath === undefined), graceSeconds: loaded.config.shutdown.graceSeconds, closeUpstreams }
  } catch (e) {
    await closeUpstreams()
    throw e
  }
}

/** The banner: where things are, the weights now (from the state), what to try, how to inject a fault. */
export function demoBanner (running: Running, upstreams: readonly DemoUpstream[], stateShown: string, ownState: boolean): string {
  const p = running.proxyUrl
  const a = running.adminUrl
  const state = running.switchboard.state
  const percent = weightsToPercent(state.colors, state.weights)
  const weights = state.colors.map((c) => `${c} ${percent[c] ?? 0} %`).join(', ')
  const byColor = new Map<string, string[]>()
  for (const u of upstreams) byColor.set(u.color, [...(byColor.get(u.color) ?? []), u.url])
  const faulty = state.colors.find((c) => c !== state.colors[0] && byColor.has(c)) ?? state.colors[0] ?? 'green'
  const faultUrls = (byColor.get(faulty) ?? []).join(' ')
  const json = "-H 'content-type: application/json'"
  return `
switchyard demo is up
  proxy     ${p}
  admin     ${a}
  dashboard ${a}/ui
  upstreams ${[...byColor].map(([c, urls]) => `${c} ${urls.join(' ')}`).join('\n            ')}
  state     version ${state.version} from ${stateShown}: ${weights}${ownState && state.version > 1 ? ' (kept from the last demo; `switchyard demo --reset` starts fresh)' : ''}

try (in the package, \`npx switchyard\` talks to ${a}):
  for i in $(seq 100); do curl -s ${p}/; done | sort | uniq -c      # now: ${weights}
  npx switchyard status
  npx switchyard weights blue=90 green=10 --reason "demo canary"
  npx switchyard flip green
  npx switchyard rollback
  npx switchyard history
  npx switchyard targets

make ${faulty} fail or slow down (a fault switch on each demo upstream; /healthz stays up):
  for u in ${faultUrls}; do curl -s -X POST $u/fault -d '{"errorRate":0.2,"delayMs":300}'; done
  for u in ${faultUrls}; do curl -s -X DELETE $u/fault; done      # clears it

a canary that rolls back by itself when ${faulty} misbehaves (it needs traffic to judge):
  while sleep 0.02; do curl -s ${p}/ >/dev/null; done &
  npx switchyard flip ${state.colors[0] ?? 'blue'}
  npx switchyard rollout start --to ${faulty} --steps 10,50,100 --pause 30s --interval 10s --min-requests 20 --watch
  (then turn the fault on: the rollout rolls back within two intervals; the same as curl:
   curl -s -X POST ${a}/rollouts ${json} -d '{"to":"${faulty}","steps":[{"weight":10,"pauseSeconds":30},{"weight":50,"pauseSeconds":30},{"weight":100}],"analysis":{"intervalSeconds":10,"minRequests":20}}')
(Ctrl-C to stop)
`
}
