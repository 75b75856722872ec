/**
 * Misbehaving clients shared by the in-flight, pipelining and drain tests: each resolves
 * once the client is done misbehaving (never on a timer).
 */
import { allBytes, chunked, head, RawClient, samples, scrape, targets, until, type Recorder } from './helpers.js'

export const LIMIT = 65_536
export const CONFIG = { upstream: { connections: 4 }, proxy: { bodyLimit: LIMIT, requestTimeoutMs: 1000, headersTimeoutMs: 500 }, health: { passive: { consecutiveFailures: 3 } } }

/** Polls in-flight (targets and gauge) until stopped; remembers the lowest values seen. */
export function sampler (adminUrl: string): { stop: () => Promise<{ minTarget: number, minGauge: number, samples: number }> } {
  const state = { running: true }
  let minTarget = 0
  let minGauge = 0
  let n = 0
  const loop = (async () => {
    while (state.running) {
      for (const x of await targets(adminUrl)) minTarget = Math.min(minTarget, x.inFlight)
      for (const v of samples(await scrape(adminUrl), 'switchyard_in_flight_requests').values()) minGauge = Math.min(minGauge, v)
      n++
    }
  })()
  return { stop: async () => { state.running = false; await loop; return { minTarget, minGauge, samples: n } } }
}

export async function abandoned (port: number, blue: Recorder, path: string): Promise<void> {
  const c = new RawClient(port)
  await c.connected
  c.write(head(`POST ${path}`, ['Host: app.example', 'Content-Type: application/octet-stream', 'Content-Length: 40000']))
  c.write(allBytes(10_000))
  await until(`the upstream receiving part of ${path}`, () => blue.received.some((r) => r.url === path && r.body.length > 0))
  c.destroy()
}

export async function malformed (port: number, blue: Recorder, path: string): Promise<void> {
  const c = new RawClient(port)
  await c.connected
  c.write(head(`POST ${path}`, ['Host: app.example', 'Content-Type: application/octet-stream', 'Transfer-Encoding: chunked']))
  c.write('4\r\nabcd\r\n')
  await until(`the upstream receiving the first chunk of ${path}`, () => blue.received.some((r) => r.url === path && r.body.length > 0))
  c.write('2\r\nabcdefgh\r\n0\r\n\r\n')
  await c.waitFor(`an answer or a close for ${path}`, () => c.responses.length > 0 || c.closed)
  c.destroy()
}

export async function stalled (port: number, path: string): Promise<void> {
  const c = new RawClient(port)
  await c.connected
  c.write(head(`PUT ${path}`, ['Host: app.example', 'Content-Length: 500']))
  c.write('only a little')
  await c.waitFor(`408 or a close for the stalled ${path}`, () => c.responses.length > 0 || c.closed)
  c.destroy()
}

export async function overLimit (port: number, path: string): Promise<void> {
  const c = new RawClient(port)
  await c.connected
  c.write(head(`POST ${path}`, ['Host: app.example', 'Transfer-Encoding: chunked']))
  c.write(chunked(allBytes(LIMIT * 2), 8192))
  await c.waitFor(`413 or a close for ${path}`, () => c.responses.length > 0 || c.closed)
  c.destroy()
}

export async function leaves (port: number, blue: Recorder, path: string): Promise<void> {
  const c = new RawClient(port)
  await c.connected
  c.write(head(`GET ${path}`, ['Host: app.example']))
  await until(`the upstream holding ${path}`, () => blue.received.some((r) => r.url === path))
  c.destroy()
}

export async function pipelinedMix (port: number, tag: string): Promise<void> {
  const c = new RawClient(port)
  await c.connected
  c.write(head(`GET /pipe/${tag}/1`, ['Host: app.example']) + head(`POST /pipe/${tag}/2`, ['Host: app.example', 'Content-Length: 5']) + 'hello' +
    head(`POST /pipe/${tag}/3`, ['Host: app.example', 'Transfer-Encoding: chunked']) + 'zz\r\n\r\n' + head(`GET /pipe/${tag}/4`, ['Host: app.example']))
  await c.waitClosed(`the pipelined bundle ${tag} ending with a close after its bad request`)
}
