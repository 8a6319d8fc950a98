import type { MappingResult } from '../core/mapped-record.ts'
import type { ReadableRecord } from '../core/source-record.ts'
import type { RootConfig } from '../config/schema.ts'
import { createAuth0Mapping } from '../../mappings/auth0.ts'
import { createSqlMapping } from '../../mappings/sql.ts'
import { createKafkaMapping } from '../../connectors/kafka/mapping.ts'

export type MapFunction = (record: ReadableRecord) => MappingResult

/** How to build the same mapping again in a worker thread. */
export interface MappingSpec {
  readonly config: RootConfig
  readonly options: { readonly baseDir?: string }
}

const specs = new WeakMap<MapFunction, MappingSpec>()

/** The mapping for the configured source type. */
export function createMapping(config: RootConfig, options: { readonly baseDir?: string } = {}): MapFunction {
  // A publishing run's records are imported by replicas, whose own sink.upsert decides: they are
  // mapped as for an upsert (an emptied column as null, the enabled state stated), which an insert
  // ignores and an update needs.
  const upsert = config.sink.upsert || config.publish !== undefined
  const built = build(config, upsert, options)
  const map = upsert ? withEnabledState(built) : built
  specs.set(map, { config, options })
  return map
}

/** The config a mapping made by `createMapping` came from; undefined for any other function. */
export function mappingSpecOf(map: MapFunction): MappingSpec | undefined {
  return specs.get(map)
}

function build(config: RootConfig, upsert: boolean, options: { readonly baseDir?: string }): MapFunction {
  switch (config.source.type) {
    case 'auth0':
      return createAuth0Mapping(config.mapping)
    case 'sql':
      // A relative `source.module` resolves against baseDir (the config file's directory).
      return createSqlMapping(config.source, config.mapping, { clearEmpty: upsert, ...(options.baseDir !== undefined ? { baseDir: options.baseDir } : {}) })
    case 'kafka':
      return createKafkaMapping(config.source, config.mapping, { upsert })
  }
}

/**
 * With upsert every import may be an update, and Authgear keeps a user's disabled state when
 * `disabled` is absent: a user unblocked (unlocked, undeleted) in the source would stay disabled.
 * So under upsert a record that is not disabled says `disabled: false` explicitly. Authgear's
 * warnings for the no-op cases (`disabled = false has no effect in insert.`, `normal -> normal`)
 * are expected and dropped by the sink.
 */
function withEnabledState(map: MapFunction): MapFunction {
  return (record) => {
    const result = map(record)
    if (result.ok && result.value.action !== 'delete' && result.value.record.disabled === undefined) {
      return { ok: true, value: { ...result.value, record: { ...result.value.record, disabled: false } } }
    }
    return result
  }
}
