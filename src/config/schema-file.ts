/**
 * config/switchyard.schema.json, the configuration's JSON Schema shipped for editors, is
 * generated from config-schema.ts. Run this module (`npm run schema`, or
 * `node --import tsx src/config/schema-file.ts`) after changing the schema;
 * test/config/config-schema.test.ts fails while the committed file differs.
 */
import { writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { configSchema } from './config-schema.js'

/** Where the generated schema lives, from the repository root. */
export const SCHEMA_FILE = 'config/switchyard.schema.json'

/** The text of config/switchyard.schema.json: the schema as JSON, `$schema`, `$id` and `title` first. */
export function configSchemaText (): string {
  const { $schema, $id, title, ...rest } = configSchema as unknown as Record<string, unknown>
  return JSON.stringify({ $schema, $id, title, ...rest }, null, 2) + '\n'
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const path = fileURLToPath(new URL(`../../${SCHEMA_FILE}`, import.meta.url))
  writeFileSync(path, configSchemaText())
  process.stdout.write(`wrote ${path}\n`)
}
