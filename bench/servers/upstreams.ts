/**
 * Benchmark upstreams: two plain node:http servers (blue and green) in one process of their
 * own, so they never share the event loop of the proxy under test. Each answers every
 * request with a small text body (its color) and an `x-upstream-color` header. Prints
 * `{"blue":"http://…","green":"http://…"}` once listening; exits on SIGTERM.
 */
import { createServer, type Server } from 'node:http'

function upstream (color: string): Server {
  const body = Buffer.from(`${color}\n`)
  return createServer((req, res) => {
    // Drain any request body so the connection stays reusable.
    req.resume()
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length, 'x-upstream-color': color })
    res.end(body)
  })
}

async function listen (server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  return `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`
}

const servers = [upstream('blue'), upstream('green')]
const [blue, green] = await Promise.all(servers.map(listen))
process.stdout.write(`${JSON.stringify({ blue, green })}\n`)
process.on('SIGTERM', () => {
  for (const s of servers) { s.closeAllConnections(); s.close() }
  process.exit(0)
})
