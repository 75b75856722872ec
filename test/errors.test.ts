import { readFile } from 'node:fs/promises'
import t from 'tap'
import { ERRORS, PROBLEM_ERRORS, SwitchyardError, errorBody } from '../src/errors.js'
import { REASON_INDEX, REASONS, type ProblemCode } from '../src/routing/types.js'

t.test('docs/errors.md lists exactly the codes of src/errors.ts, with their statuses and messages', async (t) => {
  const doc = await readFile(new URL('../docs/errors.md', import.meta.url), 'utf8')
  const rows = new Map<string, { status: number, message: string }>()
  for (const m of doc.matchAll(/^\| `(SWY_ERR_[A-Z_]+)` \| (\d{3}) \| (.+) \|$/gm)) {
    rows.set(m[1] as string, { status: Number(m[2]), message: m[3] as string })
  }
  t.same([...rows.keys()].sort(), Object.keys(ERRORS).sort(), 'same codes')
  for (const [code, def] of Object.entries(ERRORS)) {
    t.same(rows.get(code), { status: def.status, message: def.message }, code)
  }
})

t.test('codes are SWY_ERR_ and upper-case words, statuses are 4xx/5xx, messages are non-empty', async (t) => {
  for (const [code, def] of Object.entries(ERRORS)) {
    t.match(code, /^SWY_ERR_[A-Z]+(_[A-Z]+)*$/, code)
    t.ok(def.status >= 400 && def.status < 600, `${code} status`)
    t.ok(def.message.length > 0, `${code} message`)
  }
})

t.test('SwitchyardError carries code, status and body', async (t) => {
  const e = new SwitchyardError('SWY_ERR_STATE_VERSION_CONFLICT', 'stale')
  t.equal(e.code, 'SWY_ERR_STATE_VERSION_CONFLICT')
  t.equal(e.statusCode, 412)
  t.same(errorBody(e.code, e.message), { error: 'SWY_ERR_STATE_VERSION_CONFLICT', message: 'stale' })
  t.same(errorBody('SWY_ERR_AUTH_FORBIDDEN'), { error: 'SWY_ERR_AUTH_FORBIDDEN', message: ERRORS.SWY_ERR_AUTH_FORBIDDEN.message })
})

t.test('every problem of the routing core has a row, with the same name', async (t) => {
  const problems: ProblemCode[] = ['WEIGHTS_SUM', 'WEIGHTS_PRECISION', 'WEIGHTS_RANGE', 'UNKNOWN_COLOR', 'NOTHING_TO_ROLL_BACK', 'TARGET_EXISTS', 'UNKNOWN_TARGET']
  t.strictSame(Object.keys(PROBLEM_ERRORS).sort(), [...problems].sort(), 'one entry per ProblemCode')
  for (const p of problems) {
    t.equal(PROBLEM_ERRORS[p], `SWY_ERR_${p}`, p)
    t.ok(PROBLEM_ERRORS[p] in ERRORS, `${p} is in the table`)
    t.ok(ERRORS[PROBLEM_ERRORS[p]].status >= 400 && ERRORS[PROBLEM_ERRORS[p]].status < 500, `${p} is a client error`)
  }
})

t.test('REASON_INDEX is the one definition of the reasons and their order', async (t) => {
  t.strictSame(REASONS, ['override', 'sticky', 'weight', 'drain', 'fallback'])
  REASONS.forEach((r, i) => t.equal(REASON_INDEX[r], i, r))
  t.strictSame(Object.keys(REASON_INDEX).sort(), [...REASONS].sort(), 'no reason without an index')
})
