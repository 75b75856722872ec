import t from 'tap'
import { initialState, rollback, setTargetMode, setWeights } from '../../src/routing/routing-state.js'
import { reconcileColors } from '../../src/state/reconcile-colors.js'
import { checkStoredState, readState } from '../../src/state/stored-state.js'

const meta = (reason: string): { changedBy: string, reason: string, at: string } => ({ changedBy: 'tester', reason, at: '2026-12-01T10:00:00.000Z' })

const start = initialState(['blue', 'green'], { blue: 10000, green: 0 }, meta('init'))
const canary = setWeights(start, { blue: 9000, green: 1000 }, meta('canary'))
const drained = setTargetMode(canary, 'blue', 'b1', 'draining', meta('patch b1'))

t.test('a state with rollbackTo is stored and read back as it is, and a rollback of the read state still undoes the canary', async (t) => {
  t.strictSame(checkStoredState(JSON.parse(JSON.stringify(drained))), [], 'valid')
  const read = readState(JSON.stringify(drained), 'test')
  t.strictSame(read.rollbackTo, drained.rollbackTo)
  const back = rollback(read, meta('undo'))
  t.strictSame(back.ok ? back.value.weights : null, start.weights)
  const nothing = setTargetMode(start, 'blue', 'b1', 'disabled', meta('x'))
  t.strictSame(checkStoredState(JSON.parse(JSON.stringify(nothing))), [], 'rollbackTo null (nothing to roll back) is valid too')
})

t.test('a damaged rollbackTo is reported like a damaged previous', async (t) => {
  const bad = { ...JSON.parse(JSON.stringify(drained)), rollbackTo: { version: 1, weights: { blue: 10000, green: 5 }, switchPolicy: { mode: 'immediate', drainSeconds: 0 } } }
  t.match(checkStoredState(bad), [/rollbackTo\.weights must sum to 10000/])
  t.match(checkStoredState({ ...bad, rollbackTo: 'yes' }), [/rollbackTo must be an object or null/])
})

t.test('colors reconciled at start: nothing to roll back to, rollbackTo included', async (t) => {
  const r = reconcileColors(drained, ['blue', 'green', 'red'], new Date('2026-12-01T11:00:00.000Z'))
  t.ok(r.ok)
  if (!r.ok) return
  t.equal(r.value.previous, null)
  t.notOk('rollbackTo' in r.value, 'the rollback target of other colors is dropped')
  t.equal(rollback(r.value, meta('undo')).ok, false)
})
