import { z } from 'zod'
import { auth0SourceConfigSchema } from './auth0/config.ts'
import { sqlSourceConfigSchema } from './sql/config.ts'
import { kafkaSourceConfigSchema } from './kafka/config.ts'

/**
 * The explicit registry of source connectors. A connector is listed here, never discovered by
 * scanning the filesystem; the root config's `source` union is built from it.
 */
export const sourceConfigSchema = z.discriminatedUnion('type', [auth0SourceConfigSchema, sqlSourceConfigSchema, kafkaSourceConfigSchema]).describe('Where users are read from; `type` picks the connector.')

export type SourceConfig = z.output<typeof sourceConfigSchema>
