import { oneOrMany } from '../../src/config/one-or-many.ts'
import { z } from 'zod'

/**
 * The root `publish:` block: instead of importing, a run maps its records and publishes them to a
 * Kafka topic keyed by normalized identifier, for `gearbridge sync` replicas (`format: mapped`) to
 * import in parallel.
 */
export const publishConfigSchema = z
  .strictObject({
    brokers: oneOrMany('a host:port (or several, comma-separated)')
      .transform((value) => (typeof value === 'string' ? value.split(',').map((b) => b.trim()) : value))
      .describe('Bootstrap brokers as host:port, a list or a comma-separated string.'),
    topic: z
      .string()
      .min(1)
      .describe(
        'Topic the mapped records are published to. Key = `<identifier>:<normalized value>` (e.g. `email:ana@example.com`), so every version of one user lands on one partition, in order. Create it with enough partitions for the replicas that will import it: a partition is read by one replica at a time.',
      ),
    batch_records: z.int().min(1).max(100_000).default(1000).describe('Records produced together before their delivery reports are awaited; one checkpoint step.'),
    max_in_flight: z.int().min(1).max(64).default(4).describe('Batches produced and not yet acknowledged at once.'),
    linger_ms: z.int().min(0).max(10_000).default(20).describe('librdkafka `linger.ms`: how long the producer waits to fill a request.'),
    librdkafka: z
      .record(z.string(), z.union([z.string(), z.number(), z.boolean()]))
      .default({})
      .describe('Extra librdkafka producer settings (security.protocol, sasl.*, ssl.*, compression.type, …). They override gearbridge\'s; keep `enable.idempotence` on, it is what keeps retries from reordering a user\'s versions. Topic-level properties (`message.timeout.ms`, `acks`, `partitioner`, `compression.level`, …) are applied as the producer\'s topic configuration.'),
  })
  .describe(
    'Publish mapped records to Kafka instead of importing them (scale-out). With this block, `gearbridge backfill` (file or SQL source) maps each record, checks it against Authgear\'s record schema and produces it; the outcome is `published` once the broker acknowledged it, and the checkpoint moves only over acknowledged records. Authgear is not contacted: the `sink:` block is still required but unused (records are mapped as for `sink.upsert: true`, an emptied column as `null`; the replicas\' `sink.upsert` decides). Replicas then run `gearbridge sync` with `source: {type: kafka, format: mapped}`.',
  )

export type PublishConfig = z.output<typeof publishConfigSchema>
