/**
 * The validated configuration's types, all derived from the one schema in config-schema.ts
 * (after defaults and `${ENV}` substitution, every defaulted field is present).
 */
import type { Static } from 'typebox'
import type { adminTokenSchema, Config, DeepReadonly, discoverySchema, listenSchema, storeSchema } from './config-schema.js'

export type { Config } from './config-schema.js'

/** A host and port to listen on, optionally with TLS. */
export type Listen = Config['listen']

/** An admin bearer token: a name (recorded as changedBy) and a role. */
export type AdminToken = DeepReadonly<Static<typeof adminTokenSchema>>

/** Where the routing state lives. */
export type StoreConfig = DeepReadonly<Static<typeof storeSchema>>

/** Each value of `listen` and `admin.listen`. */
export type ListenConfig = DeepReadonly<Static<typeof listenSchema>>

/** One upstream instance of a color: a stable id (default host:port) and its origin. */
export interface TargetConfig {
  readonly id: string
  readonly url: string
}

/** A color's DNS discovery settings (`colors.<name>.discovery`), defaults filled in. */
export type DiscoveryConfig = DeepReadonly<Static<typeof discoverySchema>>
