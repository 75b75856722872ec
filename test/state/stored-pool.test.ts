import t from 'tap'
import { initialState } from '../../src/routing/routing-state.js'
import { checkStoredState, readState } from '../../src/state/stored-state.js'

const base = initialState(['blue', 'green'], { blue: 10_000, green: 0 }, { changedBy: 't', reason: 'r', at: '2026-12-01T00:00:00.000Z' }, {
  blue: [{ id: 'b1', url: 'http://10.0.0.1:3000' }], green: [{ id: 'g1', url: 'https://g.internal:443' }]
})

t.test('a stored pool is checked, and every problem is named', async (t) => {
  t.same(checkStoredState(base), [], 'a valid pool')
  t.same(checkStoredState({ ...base, pool: {} }), [], 'an empty pool (every color: the config\'s)')
  const bad = {
    ...base,
    pool: {
      blue: [{ id: 'b1', url: 'http://10.0.0.1:3000' }, { id: 'b1', url: 'http://10.0.0.2:3000' }],
      green: [{ id: '', url: 'ftp://x' }],
      red: []
    }
  }
  const problems = checkStoredState(bad)
  t.match(problems, [/pool\.green\.0 must be \{ id, url \}/, /pool name unknown color "red"/, /pool\.blue has target id "b1" twice/].map((r) => r), 'each problem')
  t.equal(problems.length, 3, problems.join('; '))
  t.same(checkStoredState({ ...base, pool: { blue: 'x' } }), ['pool.blue must be a list of at most 256 targets'])
  t.same(checkStoredState({ ...base, previous: { version: 1, weights: base.weights, switchPolicy: base.switchPolicy, pool: { blue: [{ id: 'x' }] } }, version: 2 }), ['previous.pool.blue.0 must be { id, url } with an id of 1..256 characters and an http(s) origin URL'], 'in the settings too')
  t.throws(() => readState(JSON.stringify(bad), 'redis state'), { code: 'SWY_ERR_STORE_CORRUPT' })
})
