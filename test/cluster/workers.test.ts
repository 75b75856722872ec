/**
 * `workers: 2` end to end: the real CLI (a primary and two node:cluster workers), real
 * upstreams, real sockets. Which worker served a request is read from the kernel: the
 * upstream records the client port of the proxy's connection, and /proc says which worker
 * process holds that socket. Fresh connections (one request each) spread over the workers
 * (the primary hands connections out round robin).
 */
import { readdir, readFile, readlink, writeFile } from 'node:fs/promises'
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { gate, listenLoopback, until, untilValue } from '../helpers/harness.js'
import { freePort, spawnCli, waitForReady, type CliProcess } from '../helpers/process.js'
import { promtool } from '../helpers/prometheus.js'
import { adminCall, fresh, type Answer } from '../helpers/services.js'

t.setTimeout(10 * 60_000)

/** An upstream that answers its color and records, per request, the proxy's client port. */
interface PortUpstream {
  readonly color: string
  readonly url: string
  /** The remote (proxy-side) port of each request's connection, in order. */
  readonly ports: number[]
  /** Requests being held (when started with a gate). */
  held: number
}

async function startPortUpstream (t: Test, color: string, hold?: Promise<unknown>): Promise<PortUpstream> {
  const up: PortUpstream = { color, url: '', ports: [], held: 0 }
  const server: Server = createServer((req, res) => {
    up.ports.push(req.socket.remotePort ?? 0)
    req.resume()
    const answer = (): void => { res.setHeader('content-type', 'text/plain'); res.end(color) }
    if (hold === undefined) { answer(); return }
    up.held++
    void hold.then(() => { up.held--; answer() })
  })
  const { port, close } = await listenLoopback(server)
  t.teardown(close)
  return Object.assign(up, { url: `http://127.0.0.1:${port}` })
}

/** The local TCP ports of the sockets process `pid` holds (from /proc: its fds' inodes in /proc/net/tcp). */
async function socketPorts (pid: number): Promise<Set<number>> {
  const inodes = new Set<string>()
  for (const fd of await readdir(`/proc/${pid}/fd`).catch(() => [])) {
    const link = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '')
    const m = /^socket:\[(\d+)\]$/.exec(link)
    if (m?.[1] !== undefined) inodes.add(m[1])
  }
  const ports = new Set<number>()
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    const text = await readFile(table, 'utf8').catch(() => '')
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/)
      if (f.length > 9 && inodes.has(f[9] as string)) ports.add(parseInt((f[1] as string).split(':')[1] as string, 16))
    }
  }
  return ports
}

/** Which of `pids` holds the connection whose local port is `port` (undefined: none, e.g. closed). */
async function ownerOf (pids: readonly number[], port: number): Promise<number | undefined> {
  for (const pid of pids) if ((await socketPorts(pid)).has(port)) return pid
  return undefined
}

interface Served {
  readonly cli: CliProcess
  readonly proxyUrl: string
  readonly adminUrl: string
  /** Pids of the workers that said "worker ready", in order (replacements too). */
  workerPids (): number[]
}

async function serveWorkers (t: Test, upstreams: readonly PortUpstream[], extra = '', moreTargets: Readonly<Record<string, readonly string[]>> = {}): Promise<Served> {
  const dir = t.testdir({})
  const proxyPort = await freePort()
  const adminPort = await freePort()
  const colors = upstreams.map((u) => `  ${u.color}: { targets: ${JSON.stringify([u.url, ...(moreTargets[u.color] ?? [])])} }`).join('\n')
  const config = join(dir, 'switchyard.yaml')
  await writeFile(config, `
listen: { host: 127.0.0.1, port: ${proxyPort} }
admin: { listen: { host: 127.0.0.1, port: ${adminPort} } }
colors:
${colors}
initial: { weights: { ${upstreams.map((u, i) => `${u.color}: ${i === 0 ? 100 : 0}`).join(', ')} } }
store: { kind: file, path: "${join(dir, 'state.json')}" }
log: { level: info }
workers: 2
shutdown: { graceSeconds: 60 }
${extra}`)
  const cli = spawnCli(t, ['serve', '--config', config])
  const adminUrl = `http://127.0.0.1:${adminPort}`
  await waitForReady(cli, adminUrl)
  const workerPids = (): number[] => cli.stdout().split('\n').filter((l) => l.includes('"msg":"worker ready"')).map((l) => (JSON.parse(l) as { pid: number }).pid)
  await until('two workers ready', () => workerPids().length === 2, { detail: () => cli.stdout() })
  return { cli, proxyUrl: `http://127.0.0.1:${proxyPort}`, adminUrl, workerPids }
}

function json (a: Answer): Record<string, unknown> {
  return typeof a.json === 'object' && a.json !== null ? a.json as Record<string, unknown> : {}
}

/** The sum of a metric's samples in a /metrics text whose labels match `filter`. */
function metricSum (text: string, name: string, filter = ''): number {
  let sum = 0
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue
    if (!line.includes(filter)) continue
    sum += Number(line.slice(line.lastIndexOf(' ') + 1))
  }
  return sum
}

/** Sends `n` requests on fresh connections, `concurrency` at a time; the answers in order. */
async function sendFresh (url: string, n: number, headers: Record<string, string> = {}, concurrency = 4): Promise<Array<{ status: number, body: string, headers: IncomingHttpHeaders }>> {
  const out: Array<{ status: number, body: string, headers: IncomingHttpHeaders }> = []
  for (let i = 0; i < n; i += concurrency) {
    out.push(...await Promise.all(Array.from({ length: Math.min(concurrency, n - i) }, async () => await fresh(url, headers))))
  }
  return out
}

t.test('the weight split and stickiness hold across workers: a cookie minted by one is honoured by the other', async (t) => {
  const blue = await startPortUpstream(t, 'blue')
  const green = await startPortUpstream(t, 'green')
  const sy = await serveWorkers(t, [blue, green])
  const pids = sy.workerPids()
  t.equal((await adminCall(sy.adminUrl, 'PUT', '/weights?wait=10000', { weights: { blue: 50, green: 50 } })).status, 200)

  const N = 200
  const answers = await sendFresh(sy.proxyUrl + '/', N)
  t.equal(answers.filter((a) => a.status === 200).length, N, 'every request answered 200')
  const greenShare = answers.filter((a) => a.body === 'green').length / N
  t.ok(Math.abs(greenShare - 0.5) <= 0.1, `green share ${(greenShare * 100).toFixed(1)}% is 50% ± 10 across both workers`)
  // Both workers served: each holds upstream connections that carried requests.
  const owners = new Set<number>()
  for (const port of new Set([...blue.ports, ...green.ports])) {
    const pid = await ownerOf(pids, port)
    if (pid !== undefined) owners.add(pid)
  }
  t.strictSame([...owners].sort(), [...pids].sort(), 'both workers served fresh clients')

  // One client's cookie, then its requests on fresh connections land on both workers.
  const first = answers.find((a) => a.body === 'green')
  const cookie = (first?.headers['set-cookie'] ?? []).map((c) => c.split(';', 1)[0]).find((c) => c?.startsWith('swy=') === true) as string
  t.ok(cookie, 'the first answer minted a sticky cookie')
  const before = green.ports.length
  const sticky = await sendFresh(sy.proxyUrl + '/', 40, { cookie })
  t.strictSame([...new Set(sticky.map((a) => a.body))], ['green'], 'every request with the cookie went to its color')
  t.equal(sticky.filter((a) => a.headers['set-cookie'] !== undefined).length, 0, 'no worker replaced the cookie (each verified the other\'s signature)')
  const stickyOwners = new Set<number>()
  for (const port of new Set(green.ports.slice(before))) {
    const pid = await ownerOf(pids, port)
    if (pid !== undefined) stickyOwners.add(pid)
  }
  t.equal(stickyOwners.size, 2, 'the cookie\'s requests were served by both workers')
})

t.test('a flip with ?wait answers 200 only once both workers apply it; /instances and /metrics are the instance\'s', async (t) => {
  const blue = await startPortUpstream(t, 'blue')
  const green = await startPortUpstream(t, 'green')
  const sy = await serveWorkers(t, [blue, green])
  const [a, b] = sy.workerPids() as [number, number]

  // A worker that cannot apply (stopped) holds the instance back: 202, the instance lagging.
  process.kill(b, 'SIGSTOP')
  t.teardown(() => { try { process.kill(b, 'SIGCONT') } catch { /* gone */ } })
  const lagging = await adminCall(sy.adminUrl, 'POST', '/flip?wait=1500', { to: 'green' })
  t.equal(lagging.status, 202, 'not applied by every worker: 202')
  t.match(json(lagging).propagation, { version: 2, converged: false, lagging: [{ appliedVersion: 1, self: true }] })
  t.match(json(await adminCall(sy.adminUrl, 'GET', '/instances')), { version: 2, instances: [{ appliedVersion: 1, self: true }] }, 'GET /instances: this instance still at version 1')
  process.kill(b, 'SIGCONT')
  await until('the instance to report version 2 once the stopped worker applied it', async () =>
    (json(await adminCall(sy.adminUrl, 'GET', '/instances')).instances as Array<{ appliedVersion: number }>)[0]?.appliedVersion === 2)

  // With both running, the ?wait answer comes after both applied: every worker routes blue next.
  const back = await adminCall(sy.adminUrl, 'POST', '/flip?wait=10000', { to: 'blue' })
  t.equal(back.status, 200, back.body)
  t.match(json(back).propagation, { version: 3, converged: true })
  const answers = await sendFresh(sy.proxyUrl + '/', 20)
  t.strictSame([...new Set(answers.map((x) => x.body))], ['blue'], 'right after the 200, every worker routes by the flip')
  const owners = new Set<number>()
  for (const port of new Set(blue.ports)) {
    const pid = await ownerOf([a, b], port)
    if (pid !== undefined) owners.add(pid)
  }
  t.equal(owners.size, 2, 'both workers served after the flip')

  // /metrics counts every request once, whichever worker served it.
  const more = await sendFresh(sy.proxyUrl + '/', 80)
  const sent = answers.length + more.length
  t.equal(more.filter((x) => x.status === 200).length, 80)
  const text = await untilValue('/metrics to count every request sent', async () => {
    const m = (await adminCall(sy.adminUrl, 'GET', '/metrics')).body
    return metricSum(m, 'switchyard_requests_total') >= sent ? m : undefined
  })
  t.equal(metricSum(text, 'switchyard_requests_total'), sent, `switchyard_requests_total sums to the ${sent} requests sent`)
  t.equal(metricSum(text, 'switchyard_requests_total', 'color="blue"'), sent, 'all of them blue')
  t.equal(metricSum(text, 'switchyard_request_duration_seconds_count'), sent, 'the duration histogram counted each once')
  t.equal(metricSum(text, 'switchyard_request_duration_seconds_bucket', 'le="+Inf"'), sent, 'its +Inf buckets too')
  t.equal(metricSum(text, 'switchyard_in_flight_requests'), 0, 'nothing in flight')
  t.equal(metricSum(text, 'switchyard_workers'), 2, 'two workers listening')
  t.equal(metricSum(text, 'switchyard_state_version'), 3)
  const lint = await promtool(['check', 'metrics'], { stdin: text })
  t.equal(lint.stdout + lint.stderr, '', 'promtool check metrics reports nothing on the instance\'s scrape')
  t.equal(lint.code, 0)
})

t.test('a worker killed under load is replaced; only what was in flight on it fails', async (t) => {
  const blue = await startPortUpstream(t, 'blue')
  const sy = await serveWorkers(t, [blue])
  const [victim, survivor] = sy.workerPids() as [number, number]

  // CLIENTS loops, each one request at a time on a fresh connection: at most CLIENTS in flight.
  const CLIENTS = 6
  let ok = 0
  let failed = 0
  let stop = false
  const loops = Array.from({ length: CLIENTS }, async () => {
    while (!stop) {
      try {
        const a = await fresh(sy.proxyUrl + '/', {}, 10_000)
        if (a.status === 200) ok++
        else failed++
      } catch { failed++ }
    }
  })
  try {
    await until('load through both workers', () => ok >= 100)
    const metricsBefore = metricSum((await adminCall(sy.adminUrl, 'GET', '/metrics')).body, 'switchyard_requests_total')
    process.kill(victim, 'SIGKILL')
    const replacement = await untilValue('a new worker to replace the killed one', () => sy.workerPids().find((p) => p !== victim && p !== survivor))
    const okAtReplacement = ok
    await until('load served after the replacement', () => ok >= okAtReplacement + 100)
    stop = true
    await Promise.all(loops)
    t.ok(failed <= CLIENTS, `${failed} failed requests: at most the ${CLIENTS} that can be in flight at once`)
    t.ok(sy.cli.stdout().includes('"msg":"worker died: starting another"'), 'the death is logged')
    t.not(replacement, victim)
    const text = (await adminCall(sy.adminUrl, 'GET', '/metrics')).body
    t.ok(metricSum(text, 'switchyard_requests_total') >= metricsBefore, 'the request counters did not go back when a worker died')
    t.equal(metricSum(text, 'switchyard_worker_restarts_total'), 1)
    t.equal(metricSum(text, 'switchyard_workers'), 2)
    // The replacement serves: fresh connections reach it.
    const before = blue.ports.length
    await sendFresh(sy.proxyUrl + '/', 20)
    const owners = new Set<number>()
    for (const port of new Set(blue.ports.slice(before))) {
      const pid = await ownerOf([survivor, replacement], port)
      if (pid !== undefined) owners.add(pid)
    }
    t.ok(owners.has(replacement), 'the replacement worker serves requests')
  } finally {
    stop = true
    await Promise.all(loops)
  }
})

t.test('drain ?wait counts the requests in flight on every worker, and SIGTERM drains both workers', async (t) => {
  const held = gate()
  const blue = await startPortUpstream(t, 'blue', held.opened)
  const sy = await serveWorkers(t, [blue])
  const pids = sy.workerPids()
  t.teardown(() => { held.open() })

  // Four requests held at the upstream, on fresh connections: both workers hold some.
  const pending = Array.from({ length: 4 }, async () => await fresh(sy.proxyUrl + '/'))
  await until('four requests held at the upstream', () => blue.held === 4)
  const owners = new Set<number>()
  for (const port of blue.ports) {
    const pid = await ownerOf(pids, port)
    if (pid !== undefined) owners.add(pid)
  }
  t.equal(owners.size, 2, 'both workers hold requests in flight')
  await until('GET /targets to sum both workers\' in-flight requests', async () =>
    (json(await adminCall(sy.adminUrl, 'GET', '/targets')).targets as Array<{ inFlight: number }>)[0]?.inFlight === 4)
  const id = (json(await adminCall(sy.adminUrl, 'GET', '/targets')).targets as Array<{ id: string }>)[0]?.id as string
  const draining = await adminCall(sy.adminUrl, 'POST', `/targets/blue/${id}/drain?wait=300`, {})
  t.equal(draining.status, 202, 'not drained while any worker has one in flight')
  t.match(json(draining).target, { mode: 'draining', inFlight: 4, drained: false })
  t.equal((await adminCall(sy.adminUrl, 'POST', `/targets/blue/${id}/enable`, {})).status, 200)

  sy.cli.signal('SIGTERM')
  await until('the primary to start draining', () => sy.cli.stderr().includes('SIGTERM: draining'))
  // Still draining while the upstream holds the requests: every worker is alive.
  for (const pid of pids) t.doesNotThrow(() => process.kill(pid, 0), `worker ${pid} is still draining`)
  held.open()
  const answers = await Promise.all(pending)
  t.strictSame(answers.map((a) => `${a.status} ${a.body}`), ['200 blue', '200 blue', '200 blue', '200 blue'], 'every request in flight was answered')
  t.strictSame(await sy.cli.exited, { code: 0, signal: null }, `SIGTERM exits 0 (stderr: ${sy.cli.stderr()})`)
  for (const pid of pids) t.throws(() => process.kill(pid, 0), `worker ${pid} has exited`)
})

t.test('passive health ejects a target for the whole instance: failures seen by both workers count together', async (t) => {
  const good = await startPortUpstream(t, 'blue')
  const dead = `http://127.0.0.1:${await freePort()}` // nothing listens there: every connect is refused
  const sy = await serveWorkers(t, [good], 'health: { passive: { consecutiveFailures: 4, baseEjectionMs: 600000, maxEjectionMs: 600000 } }', { blue: [dead] })
  const pids = sy.workerPids()
  const deadId = new URL(dead).host
  const targetHealth = async (): Promise<string | undefined> =>
    (json(await adminCall(sy.adminUrl, 'GET', '/targets')).targets as Array<{ id: string, health: string }>).find((x) => x.id === deadId)?.health
  const connectErrors = async (): Promise<number> =>
    metricSum((await adminCall(sy.adminUrl, 'GET', '/metrics')).body, 'switchyard_upstream_errors_total', 'kind="connect"')

  // One request at a time on fresh connections (the workers take turns); a GET that meets the
  // dead target is retried on the good one, so every client gets 200.
  let sent = 0
  while (await targetHealth() !== 'ejected') {
    t.equal((await fresh(sy.proxyUrl + '/')).status, 200)
    if (++sent > 60) break
  }
  t.equal(await targetHealth(), 'ejected', `the dead target is ejected (after ${sent} requests)`)
  const failures = await connectErrors()
  // Counted per worker, one worker alone would need 4 failures in a row: about 8 in all.
  t.ok(failures >= 4 && failures <= 5, `ejected after ${failures} refused connects over both workers (4 in a row for the instance; one more can race the ejection)`)
  const owners = new Set<number>()
  for (const port of new Set(good.ports)) {
    const pid = await ownerOf(pids, port)
    if (pid !== undefined) owners.add(pid)
  }
  t.equal(owners.size, 2, 'both workers served (and so both met the dead target)')
  // Every worker honours the ejection: no further connect to the dead target.
  const answers = await sendFresh(sy.proxyUrl + '/', 20)
  t.equal(answers.filter((a) => a.status === 200).length, 20)
  t.equal(await connectErrors(), failures, 'no worker tried the ejected target again')
})
