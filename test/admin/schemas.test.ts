import { Ajv } from 'ajv'
import t from 'tap'
import { ADMIN_ROUTE_SCHEMAS, flipBody, putWeightsBody, rollbackBody, targetParams } from '../../src/admin/schemas.js'

/** Every object schema inside a schema (nested properties, items, unions). */
function objects (schema: unknown, out: Array<Record<string, unknown>> = []): Array<Record<string, unknown>> {
  if (typeof schema !== 'object' || schema === null) return out
  const s = schema as Record<string, unknown>
  if (s.type === 'object' || (Array.isArray(s.type) && s.type.includes('object'))) out.push(s)
  for (const v of Object.values(s)) {
    if (Array.isArray(v)) for (const x of v) objects(x, out)
    else objects(v, out)
  }
  return out
}

t.test('the admin schemas are plain, strict JSON Schemas (what an OpenAPI document is built from)', async (t) => {
  const ajv = new Ajv({ strict: true, allowUnionTypes: true })
  for (const [route, parts] of Object.entries(ADMIN_ROUTE_SCHEMAS)) {
    for (const [part, schema] of Object.entries(parts)) {
      t.strictSame(JSON.parse(JSON.stringify(schema)), { ...schema }, `${route} ${part}: survives JSON`)
      t.doesNotThrow(() => ajv.compile(schema), `${route} ${part}: compiles in strict mode`)
      for (const o of objects(schema)) {
        if (o.properties !== undefined) t.equal(o.additionalProperties, false, `${route} ${part}: no unknown fields`)
      }
    }
  }
})

t.test('the schemas accept and refuse what the API documents', async (t) => {
  const ajv = new Ajv({ allowUnionTypes: true })
  const weights = ajv.compile(putWeightsBody)
  t.ok(weights({ weights: { blue: 90, green: 10 }, switchPolicy: { mode: 'drain', seconds: 60 }, reason: 'canary' }))
  t.notOk(weights({ weights: {} }), 'at least one color')
  t.notOk(weights({ weights: { blue: '90' } }), 'numbers, not strings')
  t.notOk(weights({ weights: { blue: 100 }, switchPolicy: { mode: 'later' } }), 'a known policy mode')
  const flip = ajv.compile(flipBody)
  t.ok(flip({ to: 'green', force: true }))
  t.notOk(flip({ to: '' }), 'a color name')
  const rollback = ajv.compile(rollbackBody)
  t.ok(rollback(null), 'no body')
  t.ok(rollback({ reason: 'x' }))
  t.notOk(rollback({ reason: 'x'.repeat(501) }), 'a reason of at most 500 characters')
  const params = ajv.compile(targetParams)
  t.ok(params({ color: 'blue', target: '127.0.0.1:3001', action: 'drain' }))
  t.notOk(params({ color: 'blue', target: 'a', action: 'explode' }))
})
