import type { MappingResult } from '../core/mapped-record.ts'
import type { ReadableRecord } from '../core/source-record.ts'
import type { RootConfig } from '../config/schema.ts'
import { createAuth0Mapping } from '../../mappings/auth0.ts'

/** The mapping for the configured source type. */
export function createMapping(config: RootConfig): (record: ReadableRecord) => MappingResult {
  switch (config.source.type) {
    case 'auth0':
      return createAuth0Mapping(config.mapping)
  }
}
