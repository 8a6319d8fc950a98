import { z } from 'zod'

/**
 * Where one batch of one partition ends. `offset` is the next offset to read (the last message's
 * offset + 1), which is what Kafka commits. `generation` counts the times this replica was given
 * the partition, so a batch read before a rebalance can never commit after it. `seq` orders batches.
 * The committed offsets live in the consumer group; this position is not used to resume.
 */
export const kafkaPositionSchema = z.strictObject({
  topic: z.string(),
  partition: z.int(),
  offset: z.int(),
  generation: z.int(),
  seq: z.int(),
})

export type KafkaPosition = z.output<typeof kafkaPositionSchema>

/** A topic, partition and offset to commit (the next offset to read). */
export interface PartitionOffset {
  readonly topic: string
  readonly partition: number
  readonly offset: number
}

export function partitionKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`
}
