import t from 'tap'
import fc from 'fast-check'
import { constantTimeEqual } from '../../src/routing/constant-time.js'
import { holds } from './fixtures/routing.js'

t.test('table', async (t) => {
  const cases: ReadonlyArray<readonly [a: string, b: string, equal: boolean]> = [
    ['', '', true],
    ['abc', 'abc', true],
    ['a', '', false],
    ['', 'a', false],
    ['abc', 'abd', false],
    ['abc', 'Abc', false],
    ['abc', 'ab', false],
    ['ab', 'abc', false],
    ['abc', 'abc\u0000', false],
    ['\u{1F600}', '\u{1F600}', true],
    ['\u{1F600}', '\u{1F601}', false],
    ['\u0100', '\u0000', false]
  ]
  for (const [a, b, equal] of cases) t.equal(constantTimeEqual(a, b), equal, `${JSON.stringify(a)} vs ${JSON.stringify(b)}`)
})

t.test('agrees with === on arbitrary strings', async (t) => {
  holds(t, 'equal strings', fc.property(fc.string({ unit: 'binary' }), (a) => constantTimeEqual(a, a.slice())))
  holds(t, 'unrelated strings', fc.property(fc.string({ unit: 'binary' }), fc.string({ unit: 'binary' }), (a, b) => constantTimeEqual(a, b) === (a === b)))
  holds(t, 'one code unit changed anywhere', fc.property(
    fc.string({ unit: 'binary', minLength: 1 }), fc.nat(), fc.integer({ min: 1, max: 0xffff }),
    (a, at, delta) => {
      const i = at % a.length
      const changed = a.slice(0, i) + String.fromCharCode((a.charCodeAt(i) + delta) & 0xffff) + a.slice(i + 1)
      return !constantTimeEqual(a, changed) && !constantTimeEqual(changed, a)
    }))
})
