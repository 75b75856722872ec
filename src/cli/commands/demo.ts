/**
 * `switchyard demo`: three demo upstreams per color plus the proxy on the demo's own state
 * file (or a config), and a banner with the real weights and what to try. The demo's
 * internals live in src/demo/ (run-demo.ts).
 */
import { flag, HELP_OPTION, str, type CommandSpec } from '../args.js'
import type { Command } from '../context.js'
import { EXIT } from '../exit.js'
import { onSignals } from './server.js'

const spec: CommandSpec = {
  name: 'demo',
  summary: 'demo upstreams (blue :3001 :3003 :3005, green :3002 :3004 :3006) + the proxy, to try everything locally',
  usage: ['demo [--reset] [--config FILE]'],
  options: [
    { name: 'reset', type: 'boolean', description: 'start from a fresh ./data/demo-state.json (the demo keeps its own state; npm start uses ./data/state.json)' },
    { name: 'config', short: 'c', type: 'string', value: 'FILE', description: 'a config instead of the demo defaults' },
    HELP_OPTION
  ],
  positionals: { min: 0, max: 0 },
  examples: ['demo', 'demo --reset', 'demo --config config/switchyard.yaml']
}

/** `switchyard demo`. */
export const demo: Command = {
  spec,
  run: async (args) => {
    const { startDemo } = await import('../../demo/run-demo.js')
    const config = str(args, 'config')
    const started = await startDemo({ ...(config === undefined ? {} : { configPath: config }), reset: flag(args, 'reset') })
    onSignals(started.running, started.graceSeconds, started.closeUpstreams)
    process.stdout.write(started.banner)
    return EXIT.ok
  }
}
