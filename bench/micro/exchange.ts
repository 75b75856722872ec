/**
 * The data path's per-request record: one Exchange (replacing seven request decorations),
 * allocated once per request and kept on `request.swy`.
 *
 *   node --import tsx bench/micro/exchange.ts   (not in index.ts: the bench suite's list of figures is fixed)
 */
import type { ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import { Exchange } from '../../src/proxy/proxy-server.js'
import { bench, check, runIfMain, type MicroResult } from '../lib/micro.js'

const response = {} as unknown as ServerResponse
const socket = {} as unknown as Socket

/** Runs the benchmark. */
export async function run (): Promise<MicroResult[]> {
  check(new Exchange(response, socket).target === null, 'a new exchange holds no target')
  return [await bench('Exchange record (new, per request)', () => {
    const ex = new Exchange(response, socket)
    ex.color = 1
    ex.reasonIndex = 2
    return ex
  })]
}

runIfMain(import.meta.url, run)
