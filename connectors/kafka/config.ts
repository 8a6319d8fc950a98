import { oneOrMany } from '../../src/config/one-or-many.ts'
import { z } from 'zod'
import { sqlColumnsSchema } from '../sql/config.ts'
import { DeletePolicies } from '../authgear/delete-policy.ts'

/** What the messages of the topic hold. */
export const KafkaFormats = ['debezium', 'json', 'mapped'] as const
export type KafkaFormat = (typeof KafkaFormats)[number]

/** Which mapping turns a plain JSON message (or a Debezium row image) into an import record. */
export const KafkaRecordMappings = ['auth0', 'sql'] as const
export type KafkaRecordMapping = (typeof KafkaRecordMappings)[number]


const brokers = oneOrMany('a host:port (or several, comma-separated)')
  .transform((value) => (typeof value === 'string' ? value.split(',').map((b) => b.trim()) : value))
  .describe('Bootstrap brokers as host:port, a list or a comma-separated string.')

export const deletesConfigSchema = z
  .strictObject({
    policy: z
      .enum(DeletePolicies)
      .default('ignore')
      .describe(
        '`ignore` (default): a deleted row leaves the Authgear user as it is, reported as skipped (`delete_ignored`). `disable`: the user is disabled through the Admin API GraphQL (reversible). `delete`: the user is deleted at once (irreversible: identities are removed and the identifiers become free).',
      ),
    max_per_second: z.number().positive().max(1000).default(5).describe('Rate cap of delete/disable mutations sent to Authgear.'),
    safety_limit: z
      .int()
      .min(1)
      .default(100)
      .describe(
        'Most deletes that may arrive within `safety_window_seconds`. One more pauses deletes for the rest of the run: every further delete is dead-lettered with `delete_paused` (nothing is deleted), an error is logged and `gearbridge_deletes_paused` is 1. Restart after checking the source to resume.',
      ),
    safety_window_seconds: z.int().min(1).max(86_400).default(60).describe('The window the safety limit counts deletes over.'),
    reason: z.string().min(1).default('deleted in the source database').describe('Reason recorded with a disable or a delete.'),
    compare_names: z
      .boolean()
      .default(true)
      .describe(
        'Debezium deletes under `sink.upsert`: a user whose names (`name`, `given_name`, `family_name`, `middle_name`, `nickname`) are not the deleted row\'s, as this mapping makes them, was updated by another row since and is left, dead-lettered `delete_conflict`. Set to false when the users were imported by another mapping (a backfill with a mapping module or other columns, an Auth0 import) and not updated since, whose names this mapping does not reproduce.',
      ),
  })
  .describe('What a deleted source row does in Authgear, applied through the Admin API GraphQL endpoint.')

/** The `source:` block for `type: kafka`. */
export const kafkaSourceConfigSchema = z
  .strictObject({
    type: z.literal('kafka').describe('Consumes a Kafka topic in a consumer group: Debezium change events, plain JSON users, or mapped records published by a backfill.'),
    brokers,
    topics: oneOrMany('a topic name')
      .transform((value) => (typeof value === 'string' ? [value] : value))
      .describe('Topic or topics to consume.'),
    group_id: z.string().min(1).describe('Consumer group. Replicas with the same group share the partitions; offsets are committed in this group.'),
    format: z
      .enum(KafkaFormats)
      .default('json')
      .describe(
        '`debezium`: change events of a users table (JSON, with or without the `schema`/`payload` wrapper); `c`, `u`, `r` import the row (updating an existing user under `sink.upsert: true`), `d` follows `deletes.policy`, tombstones are ignored. `json`: one user per message (an Auth0 profile or a row). `mapped`: import records published by `gearbridge backfill` with `publish:`.',
      ),
    record_mapping: z
      .enum(KafkaRecordMappings)
      .default('auth0')
      .describe('Mapping of a `json` message or a Debezium row image: `auth0` reads Auth0 profile fields (email, username, phone_number, name, password_hash, …); `sql` reads the row by `source.columns` (below), as a SQL source does.'),
    columns: sqlColumnsSchema.prefault({}).describe('With `record_mapping: sql`: which column of the row (the Debezium row image, or the JSON message) holds each user field.'),
    start_from: z.enum(['earliest', 'latest']).default('earliest').describe('Where a group without committed offsets starts.'),
    batch_records: z.int().min(1).max(100_000).default(500).describe('Most messages fetched at once; each batch handed to the pipeline holds messages of one partition. A read lasts about 200 ms at most (a millisecond a message when more than 200 are asked for), so at a trickle batches are smaller rather than late, and a stop is not held up by a read.'),
    commit_interval_ms: z.int().min(50).max(60_000).default(1000).describe('How often settled offsets are committed (only offsets whose messages all have outcomes, in order per partition).'),
    dead_letter_topic: z
      .string()
      .min(1)
      .optional()
      .describe(
        'Also produce every dead letter to this topic: key = the source key (`topic/partition/offset`), value = the same redacted JSON line as the dead-letter file (without its `record`, marked `record_truncated: true`, when the line would exceed the `message.max.bytes` of the producer; the file keeps it whole), headers `topic`, `partition`, `offset` and `code`. Offsets move only after the broker acknowledged the dead letter; if it cannot be delivered, no offset of this replica moves again until it is restarted. The dead-letter file is still written. Uses the `librdkafka` settings of this block.',
      ),
    deletes: deletesConfigSchema.prefault({}),
    session_timeout_ms: z.int().min(1000).max(300_000).default(10_000).describe('Consumer group session timeout: how fast a crashed replica\'s partitions move to the others.'),
    librdkafka: z
      .record(z.string(), z.union([z.string(), z.number(), z.boolean()]))
      .default({})
      .describe('Extra librdkafka settings (security.protocol, sasl.*, ssl.*, …). Values here override gearbridge\'s; `enable.auto.commit` is always false. Topic-level properties (`message.timeout.ms` for the dead-letter producer, …) are applied as the topic configuration; `auto.offset.reset` always comes from `start_from`.'),
  })
  .describe('A Kafka topic consumed in a consumer group.')

export type KafkaSourceConfig = z.output<typeof kafkaSourceConfigSchema>
export type KafkaSourceConfigInput = z.input<typeof kafkaSourceConfigSchema>
export type DeletesConfig = z.output<typeof deletesConfigSchema>
