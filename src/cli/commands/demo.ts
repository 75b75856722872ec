/**
 * `switchyard demo`: two demo upstreams plus the proxy on the embedded defaults (or a
 * config), and a banner with what to try. The demo's internals live in src/demo/.
 */
import { HELP_OPTION, str, type CommandSpec } from '../args.js'
import type { Command } from '../context.js'
import { EXIT } from '../exit.js'
import { loadConfig, onSignals } from './server.js'

const spec: CommandSpec = {
  name: 'demo',
  summary: 'demo upstreams on :3001 (blue) and :3002 (green) + the proxy, to try everything locally',
  usage: ['demo [--config FILE]'],
  options: [{ name: 'config', short: 'c', type: 'string', value: 'FILE', description: 'a config instead of the demo defaults' }, HELP_OPTION],
  positionals: { min: 0, max: 0 },
  examples: ['demo', 'demo --config config/switchyard.yaml']
}

/** `switchyard demo`. */
export const demo: Command = {
  spec,
  run: async (args) => {
    const { defaultConfigInput, validateConfig } = await import('../../config/load-config.js')
    const { startDemoUpstream } = await import('../../demo/demo-upstreams.js')
    const { startSwitchyard } = await import('../../app.js')
    type DemoUpstream = Awaited<ReturnType<typeof startDemoUpstream>>
    // The demo starts at 50/50 on an empty store, so a newcomer sees both colors answer.
    const loaded = str(args, 'config') === undefined
      ? validateConfig({ ...defaultConfigInput(), initial: { weights: { blue: 50, green: 50 } } }, process.env, 'demo defaults')
      : await loadConfig(args)
    const upstreams: DemoUpstream[] = []
    for (const [i, color] of loaded.colors.entries()) {
      const target = new URL(loaded.targets[i]?.[0]?.url ?? '')
      upstreams.push(await startDemoUpstream(color, Number(target.port), target.hostname))
    }
    const running = await startSwitchyard(loaded)
    onSignals(running, loaded.config.shutdown.graceSeconds, async () => { await Promise.all(upstreams.map((u) => u.close())) })
    const p = running.proxyUrl
    const a = running.adminUrl
    process.stdout.write(`
switchyard demo is up
  proxy     ${p}
  admin     ${a}
  upstreams ${upstreams.map((u) => `${u.color} ${u.url}`).join(', ')}

try:
  curl -s ${p}/                                   # answers with the serving color
  for i in $(seq 100); do curl -s ${p}/; done | sort | uniq -c      # blue and green, about half each
  curl -s -X PUT ${a}/weights -H 'content-type: application/json' -d '{"weights":{"blue":90,"green":10},"reason":"demo canary"}'
  curl -s -X POST ${a}/flip -H 'content-type: application/json' -d '{"to":"green"}'
  curl -s -X POST ${a}/rollback
  curl -s ${a}/state
  curl -s ${a}/history
  curl -s ${a}/metrics | grep ^switchyard_requests_total
(Ctrl-C to stop)
`)
    return EXIT.ok
  }
}
