/**
 * Bodies byte for byte (issue 9 item 6, DATAPATH-SPEC §6): no body parsing on the data
 * path. Every content type and charset, valid or not, with Content-Length or chunked,
 * reaches the upstream with identical bytes, identical length and the original
 * content-type header.
 */
import t from 'tap'
import { startTestSwitchyard, testConfig } from '../helpers/services.js'
import { allBytes, chunked, head, portOf, rawRequest, startRecorder } from './helpers.js'

const latin1 = Buffer.from('café naïve façade — ÿ ß µ ± ½ « »', 'latin1')
const cp1252 = Buffer.from([0x80, 0x82, 0x85, 0x91, 0x92, 0x93, 0x94, 0x96, 0x97, 0x99, 0x9c, 0x9f, 0x41, 0xe9])
const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('héllo wörld ☃', 'utf16le')])
const badUtf8 = Buffer.from([0x68, 0x69, 0xc3, 0x28, 0xa0, 0xa1, 0xe2, 0x28, 0xa1, 0xf0, 0x28, 0x8c, 0xbc, 0xff, 0xfe, 0x00, 0x0d, 0x0a])
const boundary = '----swyBoundary7MA4YWxkTrZu0gW'
const multipart = Buffer.concat([
  Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="field"\r\n\r\nvalue é\r\n--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`, 'latin1'),
  allBytes(4096),
  Buffer.from(`\r\n--${boundary}--\r\n`, 'latin1')
])

/** Content type (raw header value, or undefined for none) and body. */
const cases: ReadonlyArray<readonly [string, string | undefined, Buffer]> = [
  ['text/plain in latin1', 'text/plain; charset=ISO-8859-1', latin1],
  ['text/plain in windows-1252 (C1 bytes)', 'text/plain;charset="windows-1252"', cp1252],
  ['text/plain in UTF-16LE with a BOM', 'text/plain; charset=utf-16le', utf16],
  ['text/plain without charset, invalid UTF-8, NUL and CRLF', 'text/plain', badUtf8],
  ['JSON with duplicate keys, big numbers and odd spacing', 'application/json; charset=utf-8', Buffer.from('{ "a" : 1, "a": 12345678901234567890123456789, "b":1.0e+2,\n"c" :"\\u00e9é" }  ', 'utf8')],
  ['invalid JSON', 'application/json', Buffer.from('{"a": [1, 2,, }', 'utf8')],
  ['JSON in latin1 (not UTF-8)', 'application/json; charset=iso-8859-1', Buffer.from('{"name":"Zoë"}', 'latin1')],
  ['a vendor JSON type', 'application/vnd.api+json', Buffer.from('{"data":{"type":"x","id":"1"}}', 'utf8')],
  ['multipart with a binary part', `multipart/form-data; boundary=${boundary}`, multipart],
  ['octet-stream, every byte value', 'application/octet-stream', allBytes(300_000)],
  ['form-urlencoded with repeats and a bad escape', 'application/x-www-form-urlencoded', Buffer.from('a=1&a=2&b=%ZZ&c=%E9&d', 'latin1')],
  ['no content type, binary', undefined, allBytes(70_000)],
  ['an unknown type', 'application/x-swy-odd; v="1"', Buffer.from([0, 1, 2, 3, 0xff, 0xfe, 0x0d, 0x0a, 0x0d, 0x0a])]
]

t.test('every content type and charset reaches the upstream byte for byte, with its content-type, with Content-Length or chunked', async (t) => {
  const blue = await startRecorder(t, 'blue')
  const sy = await startTestSwitchyard(t, testConfig([blue]))
  const port = portOf(sy.proxyUrl)
  let n = 0
  for (const [name, type, body] of cases) {
    for (const method of ['POST', 'PUT', 'PATCH']) {
      for (const framing of ['length', 'chunked'] as const) {
        const path = `/b/${n++}`
        const headers = ['Host: app.example', ...(type === undefined ? [] : [`Content-Type: ${type}`])]
        const bytes = framing === 'length'
          ? Buffer.concat([Buffer.from(head(`${method} ${path}`, [...headers, `Content-Length: ${body.length}`]), 'latin1'), body])
          : Buffer.concat([Buffer.from(head(`${method} ${path}`, [...headers, 'Transfer-Encoding: chunked']), 'latin1'), chunked(body, 777)])
        const label = `${name}, ${method}, ${framing}`
        const r = await rawRequest(port, bytes, label)
        t.equal(r.status, 200, `${label}: 200 (got ${r.statusLine} ${r.body.toString().slice(0, 200)})`)
        const got = blue.received.find((x) => x.url === path)
        if (got === undefined) { t.fail(`${label}: never reached the upstream`); continue }
        t.ok(got.complete, `${label}: complete`)
        t.equal(got.body.length, body.length, `${label}: same length`)
        t.ok(got.body.equals(body), `${label}: same bytes (first difference at ${firstDiff(got.body, body)})`)
        const types: string[] = []
        for (let i = 0; i < got.rawHeaders.length; i += 2) if ((got.rawHeaders[i] as string).toLowerCase() === 'content-type') types.push(got.rawHeaders[i + 1] as string)
        t.same(types, type === undefined ? [] : [type], `${label}: the original content-type, charset included (got ${JSON.stringify(types)})`)
        if (framing === 'length') t.equal(got.headers['content-length'], String(body.length), `${label}: the original content-length`)
      }
    }
  }
  const empty = await rawRequest(port, head('POST /empty', ['Host: app.example', 'Content-Type: text/plain; charset=latin1', 'Content-Length: 0']), 'an empty body')
  t.equal(empty.status, 200)
  const got = blue.received.find((x) => x.url === '/empty')
  t.equal(got?.body.length, 0, 'an empty body stays empty')
  t.equal(got?.headers['content-type'], 'text/plain; charset=latin1')
})

function firstDiff (a: Buffer, b: Buffer): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i
  return a.length === b.length ? -1 : n
}
