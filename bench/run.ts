/**
 * Benchmark entry point (`npm run bench`). Until the suite lands, it runs one micro
 * benchmark: decide() on a compiled route table with a verified sticky bucket.
 */
import { createHmac } from 'node:crypto'
import { decide } from '../src/routing/decide.js'
import { buildRouteTable } from '../src/routing/route-table.js'
import { encodeStickyCookie, MAC_LENGTH, verifyStickyCookie } from '../src/routing/sticky-cookie.js'

const table = buildRouteTable(1, ['blue', 'green'], { blue: 9000, green: 1000 }, { enabled: false })
const mac = (p: string): string => createHmac('sha256', 'bench-secret').update(p).digest('base64url').slice(0, MAC_LENGTH)
const now = 1_800_000_000
const cookie = encodeStickyCookie({ bucket: 4242, color: 'blue', issuedAt: now }, mac)

function measure (name: string, n: number, fn: (i: number) => number): void {
  let sink = 0
  for (let i = 0; i < n / 10; i++) sink += fn(i)
  const start = process.hrtime.bigint()
  for (let i = 0; i < n; i++) sink += fn(i)
  const ns = Number(process.hrtime.bigint() - start)
  process.stdout.write(`${name.padEnd(40)} ${(n / (ns / 1e9) / 1e6).toFixed(2)} M ops/s  (${(ns / n).toFixed(1)} ns/op)${sink === -1 ? '!' : ''}\n`)
}

measure('decide (sticky bucket)', 5_000_000, (i) => decide(table, undefined, i % 10_000, 0).color)
measure('verify cookie (HMAC-SHA256)', 200_000, () => verifyStickyCookie(cookie, mac, now, 86_400)?.bucket ?? -1)
