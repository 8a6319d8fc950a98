import { ConfigError } from '../src/core/errors.ts'
import { randomUUID } from 'node:crypto'
import type { Source } from '../src/core/source.ts'
import type { SourceConfig } from './index.ts'
import { createAuth0Source } from './auth0/source.ts'
import { auth0PositionSchema } from './auth0/position.ts'
import type { KafkaMetrics } from './kafka/consumer-lag.ts'

/** A source instance plus the parser that validates a persisted position on resume. */
export interface SourceHandle {
  readonly source: Source<unknown>
  readonly parsePosition: (value: unknown) => unknown
}

/** How the source is read: to its current end (`backfill`), or forever, polling for changes (`sync`). */
export interface SourceOptions {
  /** Directory relative paths resolve against: the config file's. */
  readonly baseDir: string
  readonly mode: 'backfill' | 'sync'
  /** `backfill --since`: only records changed at or after this time, where the source can tell. */
  readonly since?: Date
  /** Makes dead-letter and report lines durable; sources that commit upstream on their own (Kafka) call it first. */
  readonly flushOutcomes?: () => Promise<void>
  /** Metrics for sources that export their own (Kafka consumer lag, group membership). */
  readonly metrics?: KafkaMetrics
  /**
   * Reads the whole source and moves nothing upstream (`validate`, `reconcile`, `check`): a Kafka
   * source then reads from the earliest offset in a consumer group of its own and commits nothing,
   * so the running sync replicas keep their partitions and offsets.
   */
  readonly readOnly?: boolean
}

/**
 * Creates the configured source. The SQL and Kafka connectors are loaded only for their own
 * sources: their drivers (kysely, pg, mysql2, node-rdkafka with librdkafka) add ~26 MB to the
 * resident size of every process that loads them.
 */
export async function createSource(config: SourceConfig, options: SourceOptions): Promise<SourceHandle> {
  // Refused rather than ignored: a run that reads everything when asked for recent changes, or
  // ends when asked to keep syncing, would do something else than the command says.
  if (options.since !== undefined && config.type !== 'sql') {
    throw new ConfigError(`backfill --since is for SQL sources: it reads the rows whose updated_at is at or after the time, and a ${config.type} source has no such column`, [`source.type: ${config.type} cannot read by --since; run backfill without it`])
  }
  if (options.mode === 'sync' && config.type === 'auth0') {
    throw new ConfigError('sync is for a Kafka topic or a SQL table with updated_at: an Auth0 export file is read once, with backfill', ['source.type: auth0 cannot be synced; run backfill'])
  }
  switch (config.type) {
    case 'auth0':
      return { source: createAuth0Source(config, { baseDir: options.baseDir }) as Source<unknown>, parsePosition: (value) => auth0PositionSchema.parse(value) }
    case 'sql': {
      const [{ createSqlSource }, { sqlPositionSchema }] = await Promise.all([import('./sql/source.ts'), import('./sql/position.ts')])
      return {
        source: createSqlSource(config, { baseDir: options.baseDir, mode: options.mode, ...(options.since ? { since: options.since } : {}) }) as Source<unknown>,
        parsePosition: (value) => sqlPositionSchema.parse(value),
      }
    }
    case 'kafka': {
      const [{ createKafkaSource }, { kafkaPositionSchema }] = await Promise.all([import('./kafka/source.ts'), import('./kafka/position.ts')])
      const read = options.readOnly ? { ...config, group_id: `${config.group_id}.gearbridge-read-${randomUUID()}`, start_from: 'earliest' as const } : config
      return {
        source: createKafkaSource(read, { mode: options.mode, ...(options.readOnly ? { readOnly: true } : {}), ...(options.flushOutcomes ? { flushOutcomes: options.flushOutcomes } : {}), ...(options.metrics ? { metrics: options.metrics } : {}) }) as Source<unknown>,
        parsePosition: (value) => kafkaPositionSchema.parse(value),
      }
    }
  }
}
