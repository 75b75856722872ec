/**
 * The baseline: a bare @fastify/http-proxy with a fixed `upstream`, logger off, on an undici
 * Agent with switchyard's default upstream settings (read from the validated default config,
 * so the two stay in step). No routing, no cookies, no metrics.
 *
 *   node --import tsx bench/servers/bare-proxy.ts <upstream-origin>
 *
 * Prints `{"url":"http://…"}` once listening; exits on SIGTERM.
 */
import httpProxy from '@fastify/http-proxy'
import Fastify from 'fastify'
import { Agent } from 'undici'
import { validateConfig } from '../../src/config/load-config.js'

const upstream = process.argv[2]
if (upstream === undefined) throw new Error('usage: bare-proxy.ts <upstream-origin>')

const settings = validateConfig({ colors: { blue: { targets: [upstream] } } }, {}, 'bare proxy').config.upstream
const agent = new Agent({
  connections: settings.connections,
  keepAliveTimeout: settings.keepAliveTimeoutMs,
  headersTimeout: settings.responseTimeoutMs,
  bodyTimeout: settings.bodyTimeoutMs,
  connect: { timeout: settings.connectTimeoutMs, rejectUnauthorized: settings.rejectUnauthorized }
})
const app = Fastify({ logger: false })
await app.register(httpProxy, { upstream, undici: agent })
await app.listen({ host: '127.0.0.1', port: 0 })
const address = app.server.address()
process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}` })}\n`)
process.on('SIGTERM', () => { void app.close().then(() => agent.close()).then(() => process.exit(0)) })
