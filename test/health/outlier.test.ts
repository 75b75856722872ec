import t from 'tap'
import fc from 'fast-check'
import { endEjection, newOutlierRecord, recordOutcome, type OutlierPolicy } from '../../src/health/outlier.js'

const policy: OutlierPolicy = { enabled: true, consecutiveFailures: 3, baseEjectionMs: 1000, maxEjectionMs: 8000 }

t.test('N consecutive failures eject; a success in between resets the count', async (t) => {
  const r = newOutlierRecord()
  t.equal(recordOutcome(r, false, 0, policy), 0)
  t.equal(recordOutcome(r, false, 1, policy), 0)
  t.equal(recordOutcome(r, true, 2, policy), 0, 'a success resets')
  t.equal(recordOutcome(r, false, 3, policy), 0)
  t.equal(recordOutcome(r, false, 4, policy), 0)
  t.equal(recordOutcome(r, false, 5, policy), 1000, 'the third failure in a row ejects for the base time')
  t.equal(r.ejectedUntil, 1005)
  t.equal(recordOutcome(r, false, 6, policy), 0, 'outcomes while ejected do not count')
})

t.test('the backoff doubles per ejection, capped, and is forgiven after a quiet max period', async (t) => {
  const r = newOutlierRecord()
  const lengths: number[] = []
  let now = 0
  for (let e = 0; e < 6; e++) {
    let ms = 0
    for (let i = 0; i < 3; i++) ms = recordOutcome(r, false, now, policy)
    lengths.push(ms)
    now = r.ejectedUntil
    endEjection(r, now)
  }
  t.same(lengths, [1000, 2000, 4000, 8000, 8000, 8000])
  now += 8001
  let ms = 0
  for (let i = 0; i < 3; i++) ms = recordOutcome(r, false, now, policy)
  t.equal(ms, 1000, 'back to base after staying in service longer than the max backoff')
})

t.test('disabled passive ejection never ejects', async () => {
  fc.assert(fc.property(fc.array(fc.boolean(), { maxLength: 200 }), (outcomes) => {
    const r = newOutlierRecord()
    return outcomes.every((ok, i) => recordOutcome(r, ok, i, { ...policy, enabled: false }) === 0) && r.ejectedUntil === 0
  }))
})

t.test('property: ejection happens exactly at the Nth consecutive failure', async () => {
  fc.assert(fc.property(fc.array(fc.boolean(), { maxLength: 300 }), (outcomes) => {
    const r = newOutlierRecord()
    let run = 0
    for (const [i, ok] of outcomes.entries()) {
      const ms = recordOutcome(r, ok, i, policy)
      run = ok ? 0 : run + 1
      if ((ms > 0) !== (run === policy.consecutiveFailures)) return false
      if (ms > 0) { endEjection(r, i); run = 0 }
    }
    return true
  }))
})
