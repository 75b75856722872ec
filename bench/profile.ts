/**
 * CPU profile of switchyard under load (`npm run bench:profile`): runs the bare-proxy
 * baseline, then `switchyard serve` with fresh clients and with a valid cookie, each under
 * `node --cpu-prof` in its own pinned process, drives PROFILE_SECONDS of load (after a warm-up),
 * stops it with SIGTERM so the profile is written, and prints the top self-time functions,
 * grouped by where they live: our src/, fastify, @fastify/reply-from and http-proxy, undici,
 * prom-client, node internals, GC. Profiles land in bench/results/*.cpuprofile (gitignored;
 * open them in Chrome DevTools or speedscope).
 */
import { mkdir, readdir, readFile, rm } from 'node:fs/promises'
import { join, relative } from 'node:path'
import { ROOT } from '../test/helpers/harness.js'
import { cpuPlan, Cleanups, stop } from './lib/children.js'
import { pickLoadGen, runLoad } from './lib/load.js'
import { envNumber } from './lib/options.js'
import { fmt, round } from './lib/stats.js'

/** Percent of weight on green (PROFILE_GREEN, default 10): 0 sends fresh clients to blue only, as the baseline and a one-cookie client go. */
const PROFILE_GREEN = envNumber('PROFILE_GREEN', 10, 10)
import { fetchStickyCookie, startBareProxy, startSwitchyardChild, startUpstreams } from './lib/switchyard.js'

interface CallFrame { readonly functionName: string, readonly url: string, readonly lineNumber: number, readonly columnNumber: number }
interface ProfileNode { readonly id: number, readonly callFrame: CallFrame }
interface CpuProfile { readonly nodes: readonly ProfileNode[], readonly startTime: number, readonly samples: readonly number[], readonly timeDeltas: readonly number[] }

/** One function's self time. */
export interface SelfTime { readonly fn: string, readonly where: string, readonly group: string, readonly ms: number, readonly percent: number }

const GROUPS: ReadonlyArray<readonly [string, RegExp]> = [
  ['switchyard', /\/src\//],
  ['reply-from', /node_modules\/@fastify\/(reply-from|http-proxy)\//],
  ['fastify', /node_modules\/(fastify|@fastify\/|find-my-way|light-my-request|avvio|fast-json-stringify|secure-json-parse|fast-querystring)/],
  ['undici', /node_modules\/undici\/|^wasm:\/\//],
  ['prom-client', /node_modules\/(prom-client|tdigest|bintrees)\//],
  ['pino', /node_modules\/(pino|sonic-boom)/],
  ['other deps', /node_modules\//],
  ['node', /^node:|^internal\//]
]

function groupOf (frame: CallFrame): string {
  if (frame.url === '') return frame.functionName.startsWith('(') ? frame.functionName : 'native'
  for (const [name, re] of GROUPS) if (re.test(frame.url)) return name
  return 'other'
}

/** Where a function is defined in a TypeScript source (tsx's output has no usable line numbers). */
async function sourceLine (file: string, fn: string): Promise<number | undefined> {
  if (!file.endsWith('.ts') || !/^[A-Za-z_$][\w$]*$/.test(fn)) return undefined
  const lines = (await readFile(join(ROOT, file), 'utf8').catch(() => '')).split('\n')
  const re = new RegExp(`(function\\s+${fn}\\b|^\\s*(async\\s+)?(get\\s+)?${fn}\\s*[(<]|\\b${fn}\\s*[:=]\\s*(async\\s*)?\\(|class\\s+${fn}\\b)`)
  const i = lines.findIndex((l) => re.test(l))
  return i < 0 ? undefined : i + 1
}

/**
 * Self time per function and per group of one .cpuprofile, counting only samples taken in
 * [from, to] (µs on the monotonic clock, as process.hrtime and V8's profiler use), idle excluded.
 */
export async function summarize (profile: CpuProfile, from = 0, to = Number.POSITIVE_INFINITY): Promise<{ total: number, groups: Array<[string, number]>, top: SelfTime[] }> {
  const byId = new Map<number, ProfileNode>()
  for (const n of profile.nodes) byId.set(n.id, n)
  const self = new Map<string, { frame: CallFrame, us: number }>()
  let total = 0
  let at = profile.startTime
  profile.samples.forEach((id, i) => {
    const node = byId.get(id)
    const dt = profile.timeDeltas[i] ?? 0
    at += dt
    if (at < from || at > to) return
    if (node === undefined || node.callFrame.functionName === '(idle)') return
    total += dt
    const f = node.callFrame
    const key = `${f.functionName}|${f.url}|${f.lineNumber}`
    const entry = self.get(key)
    if (entry === undefined) self.set(key, { frame: f, us: dt })
    else entry.us += dt
  })
  const groups = new Map<string, number>()
  const top: SelfTime[] = []
  for (const { frame, us } of self.values()) {
    const group = groupOf(frame)
    groups.set(group, (groups.get(group) ?? 0) + us)
    const file = frame.url.startsWith('file://') ? relative(ROOT, new URL(frame.url).pathname) : frame.url
    const line = group === 'switchyard' ? await sourceLine(file, frame.functionName) : frame.lineNumber + 1
    top.push({ fn: frame.functionName === '' ? '(anonymous)' : frame.functionName, where: file === '' ? '' : `${file}:${line ?? '?'}`, group, ms: round(us / 1000, 1), percent: round((100 * us) / total, 2) })
  }
  top.sort((a, b) => b.ms - a.ms)
  return { total, groups: [...groups.entries()].sort((a, b) => b[1] - a[1]), top }
}

/** What to profile: switchyard with fresh or cookie clients, or the bare-proxy baseline. */
type Mode = 'fresh' | 'cookie' | 'baseline'

async function profileOne (mode: Mode, seconds: number, dir: string): Promise<void> {
  const cleanups = new Cleanups()
  try {
    const plan = cpuPlan()
    const gen = pickLoadGen()
    const before = new Set(await readdir(dir))
    const upstreams = await startUpstreams(cleanups, plan.servers)
    const nodeArgs = ['--cpu-prof', '--cpu-prof-dir', dir]
    const server = mode === 'baseline'
      ? await startBareProxy(cleanups, upstreams.blue, plan.servers, nodeArgs)
      : await startSwitchyardChild(cleanups, { upstreams, weights: PROFILE_GREEN === 0 ? { blue: 100, green: 0 } : { blue: 100 - PROFILE_GREEN, green: PROFILE_GREEN }, cpus: plan.servers, nodeArgs }).then((sy) => ({ url: sy.proxyUrl, process: sy.process }))
    const headers = mode === 'cookie' ? { cookie: await fetchStickyCookie(server.url) } : undefined
    const spec = { url: `${server.url}/`, connections: 50, cpus: plan.load, ...(headers === undefined ? {} : { headers }) }
    // Warm-up load first; only the samples of the measured run are summarized.
    await runLoad(gen, { ...spec, seconds: Math.max(1, Math.round(seconds / 4)) })
    const from = Number(process.hrtime.bigint() / 1000n)
    const load = await runLoad(gen, { ...spec, seconds })
    const to = Number(process.hrtime.bigint() / 1000n)
    await stop(server.process)
    // Node 20 runs tsx's loader hooks in a worker thread with a profile of its own:
    // keep the main thread's (thread id 0 in CPU.<date>.<time>.<pid>.<tid>.<seq>.cpuprofile).
    const written = (await readdir(dir)).filter((f) => f.endsWith('.cpuprofile') && !before.has(f))
    const main = written.find((f) => f.split('.')[4] === '0')
    for (const f of written) if (f !== main) await rm(join(dir, f))
    if (main === undefined) throw new Error(`no main-thread profile among ${written.join(', ')} in ${dir}`)
    const file = join(dir, main)
    const s = await summarize(JSON.parse(await readFile(file, 'utf8')) as CpuProfile, from, to)
    // CPU µs per proxied request: comparable between modes (and with the baseline) even
    // when their req/s differ.
    const perReq = (us: number): string => fmt(us / Math.max(1, load.requests), 2)
    const title = mode === 'baseline' ? 'bare @fastify/http-proxy (baseline)' : `switchyard, ${mode} clients`
    const out: string[] = [`\n${title}: ${fmt(load.reqPerSec)} req/s over ${seconds} s (${gen}); ${perReq(s.total)} µs CPU per request; profile ${relative(ROOT, file)}`]
    out.push('  self time by group (µs per request): ' + s.groups.map(([g, us]) => `${g} ${perReq(us)}`).join(', '))
    out.push('  top self time:                                              % busy  µs/req')
    for (const t of s.top.slice(0, Number(process.env.PROFILE_TOP ?? 30))) out.push(`    ${t.group.padEnd(12)} ${t.fn.padEnd(32)} ${t.where.padEnd(50)} ${fmt(t.percent, 2).padStart(6)} ${perReq(t.ms * 1000).padStart(7)}`)
    if (mode !== 'baseline') {
      out.push('  our code (src/):')
      for (const t of s.top.filter((x) => x.group === 'switchyard').slice(0, 15)) out.push(`    ${t.fn.padEnd(45)} ${t.where.padEnd(50)} ${fmt(t.percent, 2).padStart(6)} ${perReq(t.ms * 1000).padStart(7)}`)
    }
    process.stdout.write(`${out.join('\n')}\n`)
  } finally {
    await cleanups.run()
  }
}

async function main (): Promise<void> {
  const seconds = envNumber('PROFILE_SECONDS', 10, 2)
  const dir = join(ROOT, 'bench/results')
  await mkdir(dir, { recursive: true })
  const modes: Mode[] = []
  for (const m of (process.env.PROFILE_MODE ?? 'baseline,fresh,cookie').split(',')) {
    if (m !== 'baseline' && m !== 'fresh' && m !== 'cookie') throw new Error(`PROFILE_MODE lists baseline, fresh, cookie; got "${m}"`)
    modes.push(m)
  }
  for (const mode of modes) await profileOne(mode, seconds, dir)
  process.stdout.write('\nsrc/ lines are where the function is defined in the .ts source; other lines are the profile\'s.\n')
}

main().catch((e: unknown) => { process.stderr.write(`${(e as Error).stack ?? String(e)}\n`); process.exitCode = 1 })
