import t from 'tap'
import { BUCKETS, err, ok, REASONS } from '../../src/routing/types.js'

t.test('the bucket space is basis points', async (t) => {
  // Weights are percentages with two decimals: 100.00 % must be exactly BUCKETS buckets.
  t.equal(BUCKETS, 100 * 100)
})

t.test('reasons keep their order', async (t) => {
  // decide.ts addresses pre-built decisions by these positions, and metric children are bound in this order.
  t.strictSame(REASONS, ['override', 'sticky', 'weight', 'drain', 'fallback'])
})

t.test('results are plain values', async (t) => {
  t.strictSame(ok(42), { ok: true, value: 42 })
  t.strictSame(err({ code: 'WEIGHTS_SUM', message: 'no' }), { ok: false, error: { code: 'WEIGHTS_SUM', message: 'no' } })
})
