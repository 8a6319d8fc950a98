import type { MappingResult } from '../../src/core/mapped-record.ts'
import type { ReadableRecord } from '../../src/core/source-record.ts'
import type { MappingConfig } from '../../mappings/config.ts'
import { createAuth0Mapping } from '../../mappings/auth0.ts'
import { createSqlMapping } from '../../mappings/sql.ts'
import type { SqlSourceConfig } from '../sql/config.ts'
import type { KafkaSourceConfig } from './config.ts'
import { createDebeziumMapping, type RowMapping } from './debezium-mapping.ts'
import { mapPublishedRecord } from './mapped-message.ts'

/** The row mapping named by `record_mapping`: Auth0 profile fields, or the SQL column mapping. */
export function createRowMapping(source: KafkaSourceConfig, mapping: MappingConfig, options: { readonly upsert?: boolean } = {}): RowMapping {
  if (source.record_mapping === 'auth0') return createAuth0Mapping(mapping)
  // The SQL mapping reads only the column mapping of its source block.
  const sql = { columns: source.columns } as unknown as SqlSourceConfig
  return createSqlMapping(sql, mapping, { clearEmpty: options.upsert === true })
}

/** The mapping of a `type: kafka` source, by message format. Synchronous; a Debezium one remembers the login IDs of deleted rows (whose users Authgear keeps, or which a later row may take up). */
export function createKafkaMapping(source: KafkaSourceConfig, mapping: MappingConfig, options: { readonly upsert?: boolean } = {}): (record: ReadableRecord) => MappingResult {
  switch (source.format) {
    case 'mapped':
      return mapPublishedRecord
    case 'json':
      return createRowMapping(source, mapping, options)
    case 'debezium':
      return createDebeziumMapping(createRowMapping(source, mapping, options), { deletes: source.deletes.policy })
  }
}
