import t from 'tap'
import { gate, until, untilValue } from './harness.js'

t.test('until resolves as soon as the condition holds (sync or async)', async (t) => {
  let n = 0
  await until('n to reach 3', () => ++n === 3, { everyMs: 1 })
  t.equal(n, 3)
  let m = 0
  await until('m to reach 2', async () => ++m === 2, { everyMs: 1 })
  t.equal(m, 2)
})

t.test('until gives up after its bound, naming what it waited for and what it last saw', async (t) => {
  let looks = 0
  await t.rejects(until('the moon', () => { looks++; return false }, { timeoutMs: 50, everyMs: 5, detail: () => `looked ${looks} times` }),
    { message: /^timed out after 50 ms waiting for the moon: looked \d+ times$/ })
  t.ok(looks >= 1, `it looked (${looks} times; how many depends on the machine, so no more is asserted)`)
  await t.rejects(until('nothing', () => false, 30), { message: 'timed out after 30 ms waiting for nothing' }, 'a number is the bound')
})

t.test('an error thrown by the condition ends the wait at once', async (t) => {
  let looks = 0
  await t.rejects(until('a dead child', () => { looks++; throw new Error('child exited') }, { timeoutMs: 60_000 }), { message: 'child exited' })
  t.equal(looks, 1)
})

t.test('untilValue resolves to the first value that is not undefined', async (t) => {
  let n = 0
  t.equal(await untilValue('a value', () => ++n < 3 ? undefined : `got ${n}`, { everyMs: 1 }), 'got 3')
  t.equal(await untilValue('zero is a value', () => 0), 0)
})

t.test('gate: held until opened', async (t) => {
  const g = gate()
  let opened = false
  void g.opened.then(() => { opened = true })
  await Promise.resolve()
  t.equal(opened, false)
  g.open()
  await g.opened
  t.equal(opened, true)
})
