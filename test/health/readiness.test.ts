import t from 'tap'
import { targetReadiness, type TargetHealthView } from '../../src/health/readiness.js'

const D = 'routing by version 3 from the file store'
const tg = (id: string, health: TargetHealthView['health']): TargetHealthView => ({ id, health })

t.test('readiness does not claim ready on the strength of targets that never answered', async (t) => {
  const cases: ReadonlyArray<readonly [name: string, weighted: Parameters<typeof targetReadiness>[0], active: boolean, ready: boolean, status: string, detail: RegExp]> = [
    ['a weighted target answered', [{ color: 'blue', targets: [tg('b1', 'healthy'), tg('b2', 'unknown')] }], false, true, 'ready', /^routing by version 3 from the file store$/],
    ['a canary not answered yet: ready, named', [{ color: 'blue', targets: [tg('b1', 'healthy')] }, { color: 'green', targets: [tg('g1', 'unknown')] }], false, true, 'ready', /no target known healthy yet for green \(g1 unknown\)/],
    ['none answered, no active check: 200 unverified', [{ color: 'blue', targets: [tg('b1', 'unknown'), tg('b2', 'ejected')] }], false, true, 'unverified', /blue \(b1 unknown, b2 ejected\).*no active health check is configured/],
    ['none answered, first checks pending: 503 starting', [{ color: 'blue', targets: [tg('b1', 'unknown'), tg('b2', 'unhealthy')] }], true, false, 'starting', /waiting for the first active health checks/],
    ['every weighted target down by the checks: 200 degraded (fail static)', [{ color: 'blue', targets: [tg('b1', 'unhealthy'), tg('b2', 'ejected')] }], true, true, 'degraded', /no target is healthy for blue/],
    ['a weighted color with no targets', [{ color: 'blue', targets: [] }], false, true, 'unverified', /blue \(no targets\)/]
  ]
  for (const [name, weighted, active, ready, status, detail] of cases) {
    const r = targetReadiness(weighted, active, D)
    t.strictSame([r.ready, r.status], [ready, status], name)
    t.match(r.detail, detail, `${name}: detail`)
  }
})
