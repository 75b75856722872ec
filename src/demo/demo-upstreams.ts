/**
 * Demo upstreams: tiny HTTP (and WebSocket) servers that answer with their color, so a
 * newcomer sees blue and green answer through the proxy at once.
 */
import { createServer, type Server } from 'node:http'
import { WebSocketServer } from 'ws'

/** A running demo upstream. */
export interface DemoUpstream {
  readonly color: string
  readonly url: string
  close (): Promise<void>
}

/** Starts one demo upstream answering `<color>\n` (and echoing WebSocket messages prefixed with the color). */
export async function startDemoUpstream (color: string, port: number, host = '127.0.0.1'): Promise<DemoUpstream> {
  const server: Server = createServer((req, res) => {
    res.setHeader('content-type', 'text/plain; charset=utf-8')
    res.setHeader('x-demo-color', color)
    res.end(`${color}\n`)
    req.resume()
  })
  const wss = new WebSocketServer({ server })
  wss.on('connection', (socket) => {
    socket.on('message', (data) => { socket.send(`${color}: ${String(data)}`) })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => { server.off('error', reject); resolve() })
  })
  const address = server.address()
  const actual = typeof address === 'object' && address !== null ? address.port : port
  return {
    color,
    url: `http://${host}:${actual}`,
    close: () => new Promise((resolve) => {
      for (const c of wss.clients) c.terminate()
      wss.close()
      server.closeAllConnections()
      server.close(() => resolve())
    })
  }
}
