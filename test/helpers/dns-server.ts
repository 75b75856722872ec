/**
 * A real DNS server for the discovery tests: UDP on 127.0.0.1, port 0, answering A and AAAA
 * queries from a zone the test changes at will, or failing as the test says (SERVFAIL, no
 * answer at all, an empty answer). Closed in teardown.
 *
 * The wire format is written here (RFC 1035 §4: a 12-byte header, the question echoed, one
 * answer per address pointing back at the question's name) rather than with the dns-packet
 * package: the server answers two record types and never parses an answer, which is ~40
 * lines, and a package would mean a real node_modules in place of the shared one.
 */
import { createSocket, type RemoteInfo } from 'node:dgram'
import { isIPv4, isIPv6 } from 'node:net'
import type { Teardown } from './harness.js'

/** A name's records. */
export interface ZoneEntry {
  readonly a?: readonly string[]
  readonly aaaa?: readonly string[]
  /** Seconds, for every record (default 1). */
  readonly ttl?: number
}

/** How the server behaves: answer from the zone, answer SERVFAIL, never answer, or answer with no record. */
export type DnsBehaviour = 'answer' | 'servfail' | 'silent' | 'empty'

/** One query the server received. */
export interface Query {
  readonly name: string
  readonly type: 'A' | 'AAAA' | 'other'
}

const TYPE_A = 1
const TYPE_AAAA = 28
const RCODE_SERVFAIL = 2
const RCODE_NXDOMAIN = 3

/** A running test DNS server. */
export interface TestDns {
  /** `127.0.0.1:<port>`, what `discovery.resolver` takes. */
  readonly resolver: string
  /** Names (lower case, no trailing dot) and their records; a name not here is NXDOMAIN. */
  readonly zone: Map<string, ZoneEntry>
  behaviour: DnsBehaviour
  /** Every query received, in order. */
  readonly queries: Query[]
  close (): Promise<void>
}

/** The 16 bytes of an IPv6 address (`::` expanded). */
function v6Bytes (address: string): Buffer {
  const [head = '', tail] = address.split('::')
  const left = head === '' ? [] : head.split(':')
  const right = tail === undefined || tail === '' ? [] : tail.split(':')
  const groups = tail === undefined ? left : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right]
  const out = Buffer.alloc(16)
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2))
  return out
}

function rdata (type: number, address: string): Buffer {
  return type === TYPE_A ? Buffer.from(address.split('.').map(Number)) : v6Bytes(address)
}

/** The answer to one query packet, or undefined when it is not one (then nothing is sent). */
function answer (query: Buffer, server: TestDns): Buffer | undefined {
  if (query.length < 12 || query.readUInt16BE(4) !== 1) return undefined
  const labels: string[] = []
  let at = 12
  while (at < query.length && query[at] !== 0) {
    const len = query[at] as number
    labels.push(query.toString('latin1', at + 1, at + 1 + len))
    at += 1 + len
  }
  const end = at + 5 // the root label, then QTYPE and QCLASS
  if (end > query.length) return undefined
  const type = query.readUInt16BE(at + 1)
  const name = labels.join('.').toLowerCase()
  server.queries.push({ name, type: type === TYPE_A ? 'A' : type === TYPE_AAAA ? 'AAAA' : 'other' })
  if (server.behaviour === 'silent') return undefined
  const entry = server.zone.get(name)
  let rcode = 0
  let addresses: readonly string[] = []
  if (server.behaviour === 'servfail') rcode = RCODE_SERVFAIL
  else if (entry === undefined) rcode = RCODE_NXDOMAIN
  else if (server.behaviour === 'answer') addresses = (type === TYPE_A ? entry.a : type === TYPE_AAAA ? entry.aaaa : undefined) ?? []
  const records = addresses.filter((a) => type === TYPE_A ? isIPv4(a) : isIPv6(a)).map((a) => {
    const data = rdata(type, a)
    const rr = Buffer.alloc(12)
    rr.writeUInt16BE(0xc00c, 0) // a pointer to the question's name
    rr.writeUInt16BE(type, 2)
    rr.writeUInt16BE(1, 4) // class IN
    rr.writeUInt32BE(entry?.ttl ?? 1, 6)
    rr.writeUInt16BE(data.length, 10)
    return Buffer.concat([rr, data])
  })
  const header = Buffer.alloc(12)
  query.copy(header, 0, 0, 2) // the id
  // QR, the query's opcode and RD, RA, the rcode.
  header.writeUInt16BE(0x8000 | (query.readUInt16BE(2) & 0x7900) | 0x0080 | rcode, 2)
  header.writeUInt16BE(1, 4)
  header.writeUInt16BE(records.length, 6)
  return Buffer.concat([header, query.subarray(12, end), ...records])
}

/** Starts a DNS server on 127.0.0.1 (UDP, port 0) answering from `zone`. */
export async function startDnsServer (t: Teardown, zone: Record<string, ZoneEntry> = {}): Promise<TestDns> {
  const socket = createSocket('udp4')
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject)
    socket.bind(0, '127.0.0.1', () => { socket.off('error', reject); resolve() })
  })
  let closed = false
  const server: TestDns = {
    resolver: `127.0.0.1:${socket.address().port}`,
    zone: new Map(Object.entries(zone)),
    behaviour: 'answer',
    queries: [],
    async close () {
      if (closed) return
      closed = true
      await new Promise<void>((resolve) => socket.close(() => resolve()))
    }
  }
  socket.on('message', (msg: Buffer, from: RemoteInfo) => {
    const reply = answer(msg, server)
    if (reply !== undefined && !closed) socket.send(reply, from.port, from.address)
  })
  t.teardown(() => server.close())
  return server
}
