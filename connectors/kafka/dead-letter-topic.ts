import { boundedLine, NdjsonWriter } from '../../src/runtime/ndjson-writer.ts'
import type { DeliveryProducer } from './delivery-producer.ts'
import { isMessageTooLarge } from './message-too-large.ts'
import { parseMessageKey } from './message-decoder.ts'

/**
 * The dead-letter file, also published to a Kafka topic (`source.dead_letter_topic`). Each line
 * written (already redacted by the outcome recorder) is produced as is, less its `record` when the
 * line would be too large for the producer, or the broker refuses it as too large for the topic
 * (`record_truncated: true`): key = the source key
 * (`topic/partition/offset` of the consumed message), value = the JSON line, headers `topic`,
 * `partition`, `offset` and `code`. `flush()` — which the Kafka source and the checkpoint call
 * before offsets move — resolves only once the file is fsynced and every line produced so far is
 * acknowledged by the broker. After one failed delivery every later `flush()` rejects, so no offset
 * is committed past a dead letter that did not reach the topic; a restart reads it again.
 */
export class KafkaDeadLetterWriter extends NdjsonWriter {
  readonly #producer: DeliveryProducer
  readonly #topic: string
  readonly #inFlight = new Set<Promise<void>>()
  #failure: Error | undefined
  #closing = false
  /** Dead-letter lines published to the topic and acknowledged, in this run. */
  published = 0

  readonly #maxValueBytes: number

  /** `maxMessageBytes`: the producer's `message.max.bytes` (librdkafka's default 1,000,000). */
  constructor(path: string, producer: DeliveryProducer, topic: string, maxMessageBytes = 1_000_000) {
    super(path)
    this.#producer = producer
    this.#topic = topic
    // Room for the key, the headers and the protocol's own framing.
    this.#maxValueBytes = maxMessageBytes - 4096
  }

  override async open(): Promise<void> {
    await super.open()
    await this.#producer.connect()
  }

  override write(entry: object): void {
    super.write(entry)
    const line = entry as { source_key?: unknown; code?: unknown }
    const key = typeof line.source_key === 'string' ? line.source_key : ''
    const origin = parseMessageKey(key)
    const headers: Record<string, string>[] = []
    if (origin) headers.push({ topic: origin.topic }, { partition: String(origin.partition) }, { offset: String(origin.offset) })
    if (typeof line.code === 'string') headers.push({ code: line.code })
    // A message refused as too large would stop every later commit, and a restart would meet it
    // again: the topic gets the line without its record (the file keeps it up to the 4 Mi
    // characters a dead-letter line holds with its record). The producer's own limit is known
    // before sending; a topic's smaller max.message.bytes only from the broker's refusal.
    const full = Buffer.from(boundedLine(entry))
    const truncated = (): Buffer => Buffer.from(JSON.stringify({ ...entry, record: undefined, record_truncated: true }))
    const cut = full.length > this.#maxValueBytes
    const value = cut ? truncated() : full
    const sent = this.#producer
      .send(this.#topic, { key, value, headers })
      .catch((error: unknown) => {
        // Refused on its own (the producer sends a message refused with its batch again alone).
        if (cut || !isMessageTooLarge(error) || (entry as { record?: unknown }).record === undefined) throw error
        return this.#producer.send(this.#topic, { key, value: truncated(), headers })
      })
      .then(
        () => {
          this.published++
        },
        (error: unknown) => {
          this.#failure ??= isMessageTooLarge(error) ? new Error(`Kafka refused the dead letter of ${key || 'a record'} for ${this.#topic} as too large, even without its record: raise the topic's max.message.bytes`, { cause: error }) : (error as Error)
        },
      )
    this.#inFlight.add(sent)
    void sent.finally(() => this.#inFlight.delete(sent))
  }

  override async flush(): Promise<void> {
    await super.flush()
    if (this.#closing) return
    await Promise.all([...this.#inFlight])
    if (this.#failure) throw this.#failure
  }

  override async close(): Promise<void> {
    const failure = await this.flush().then(
      () => undefined,
      (error: unknown) => error,
    )
    this.#closing = true
    await super.close()
    await this.#producer.close()
    if (failure !== undefined) throw failure
  }
}
