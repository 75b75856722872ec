/**
 * The few JSON Schema shapes TypeBox does not build as we need them, each typed from the
 * schemas it is made of, so a schema written with them still gives its type by `Static`.
 * Shared by the config schema and the admin API's schemas.
 */
import { Type, type Static, type TSchema, type TSchemaOptions, type TUnsafe } from 'typebox'

/**
 * A property the validator fills in when it is absent (Ajv `useDefaults`): optional in the
 * file (and for editors), always present in the validated type. TypeBox would type an
 * optional property `T | undefined`; this keeps `T`, which is what the value is once
 * validated. The schema itself is TypeBox's `Optional(schema)` with the default added.
 */
export function Defaulted<T extends TSchema> (schema: T, value: Static<T>): T {
  return Object.assign(Type.Optional(schema), { default: value })
}

/**
 * An object property whose own properties all have defaults (or are optional): absent, it
 * is `{}` and the validator fills that in (Ajv `useDefaults`).
 */
export function DefaultedObject<T extends TSchema> (schema: T): T {
  return Object.assign(Type.Optional(schema), { default: {} })
}

/** An object with any keys (checked by `propertyNames`, if given), each value of one schema. */
export function Dictionary<V extends TSchema> (value: V, options: TSchemaOptions = {}): TUnsafe<Record<string, Static<V>>> {
  return Type.Unsafe<Record<string, Static<V>>>({ type: 'object', ...options, additionalProperties: value })
}

/** Exactly one of the schemas (JSON Schema `oneOf`; TypeBox's Union is `anyOf`). */
export function OneOf<const S extends readonly TSchema[]> (schemas: S, options: TSchemaOptions = {}): TUnsafe<Static<S[number]>> {
  return Type.Unsafe<Static<S[number]>>({ ...options, oneOf: [...schemas] })
}

/** An object schema that also takes `null` (`type: ['object', 'null']`, as an absent JSON body is). */
export function NullableObject<T extends TSchema> (schema: T): TUnsafe<Static<T> | null> {
  return Type.Unsafe<Static<T> | null>({ ...schema, type: ['object', 'null'] })
}
