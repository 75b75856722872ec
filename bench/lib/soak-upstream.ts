/**
 * A soak upstream: one plain node:http server in a process of its own, so the soak can
 * SIGKILL it and start it again on the same port. Answers with its color:
 *   GET /healthz  → 200 `ok`
 *   GET /stream   → 200, chunked, `<color>\n` written STREAM_LINES times, STREAM_GAP_MS apart
 *                   (a response that is in flight for a while, to be cut by a kill)
 *   POST/PUT      → 200 `<color> <bytes received>\n` once the body has arrived
 *   anything else → 200 `<color>\n`
 * Every answer carries `x-upstream-color` and `x-upstream-id`.
 *
 *   node --import tsx bench/lib/soak-upstream.ts <color> <id> [port] [stream lines] [stream gap ms]
 * Prints `{"url":"http://127.0.0.1:<port>","port":<port>}` once listening.
 */
import { createServer } from 'node:http'

const [color = 'blue', id = `${color}-0`, portArg = '0', linesArg = '5', gapArg = '30'] = process.argv.slice(2)
const STREAM_LINES = Number(linesArg)
const STREAM_GAP_MS = Number(gapArg)
const plain = Buffer.from(`${color}\n`)
const headers = { 'content-type': 'text/plain', 'x-upstream-color': color, 'x-upstream-id': id }

const server = createServer((req, res) => {
  if (req.method === 'POST' || req.method === 'PUT') {
    let bytes = 0
    req.on('data', (d: Buffer) => { bytes += d.length })
    req.on('end', () => {
      const body = `${color} ${bytes}\n`
      res.writeHead(200, { ...headers, 'content-length': Buffer.byteLength(body) })
      res.end(body)
    })
    return
  }
  req.resume()
  if (req.url === '/healthz') {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 3 })
    res.end('ok\n')
    return
  }
  if (req.url === '/stream') {
    res.writeHead(200, headers)
    let sent = 0
    const timer = setInterval(() => {
      res.write(plain)
      if (++sent === STREAM_LINES) { clearInterval(timer); res.end() }
    }, STREAM_GAP_MS)
    res.on('close', () => clearInterval(timer))
    return
  }
  res.writeHead(200, { ...headers, 'content-length': plain.length })
  res.end(plain)
})
server.keepAliveTimeout = 10_000

server.listen(Number(portArg), '127.0.0.1', () => {
  const address = server.address()
  const port = typeof address === 'object' && address !== null ? address.port : 0
  process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${port}`, port })}\n`)
})
process.on('SIGTERM', () => { server.closeAllConnections(); server.close(); process.exit(0) })
