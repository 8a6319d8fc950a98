import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { KafkaDeadLetterWriter } from '../../../../connectors/kafka/dead-letter-topic.ts'
import type { DeliveryProducer, OutgoingMessage } from '../../../../connectors/kafka/delivery-producer.ts'
import { tempDir } from '../auth0/helpers.ts'

/** A producer that acknowledges what a broker with this message size limit would take, and refuses the rest as librdkafka does. */
function limitedProducer(maxMessageBytes: number): { producer: DeliveryProducer; sent: OutgoingMessage[] } {
  const sent: OutgoingMessage[] = []
  const producer = {
    connect: async () => undefined,
    close: async () => undefined,
    send: async (_topic: string, message: OutgoingMessage) => {
      // As the delivery producer rejects a broker's refusal: node-rdkafka's error as the cause, code -1 and the broker's text.
      if (message.value.length > maxMessageBytes) throw new Error('Kafka did not accept a message: Broker: Message size too large', { cause: Object.assign(new Error('Broker: Message size too large'), { code: -1 }) })
      sent.push(message)
    },
  } as unknown as DeliveryProducer
  return { producer, sent }
}

describe('KafkaDeadLetterWriter', () => {
  it('publishes a dead letter too large for the topic without its record, keeps it whole in the file, and lets offsets move on', async () => {
    const dir = await tempDir()
    const { producer, sent } = limitedProducer(20_000)
    const writer = new KafkaDeadLetterWriter(join(dir, 'dead.ndjson'), producer, 'users.dlq', 20_000)
    await writer.open()
    const big = { source_key: 'users/0/7', code: 'schema', message: 'too big', record: { email: 'a@example.com', note: 'x'.repeat(30_000) } }
    const small = { source_key: 'users/0/8', code: 'schema', message: 'small', record: { email: 'b@example.com' } }
    writer.write(big)
    writer.write(small)
    await expect(writer.flush()).resolves.toBeUndefined()
    expect(sent.map((m) => JSON.parse(m.value.toString()) as object)).toEqual([
      { source_key: 'users/0/7', code: 'schema', message: 'too big', record_truncated: true },
      small,
    ])
    const file = (await readFile(join(dir, 'dead.ndjson'), 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as object)
    expect(file).toEqual([big, small])
    await writer.close()
  })

  it('publishes a dead letter without its record when the broker refuses it as too large for the topic (a max.message.bytes below the producer\'s), and fails naming the setting when even that is too large', async () => {
    const dir = await tempDir()
    const { producer, sent } = limitedProducer(20_000)
    // The producer's own limit is librdkafka's default: only the broker knows the topic's.
    const writer = new KafkaDeadLetterWriter(join(dir, 'dead.ndjson'), producer, 'users.dlq')
    await writer.open()
    const big = { source_key: 'users/0/7', code: 'no_identifier', message: 'no login ID', record: { name: 'N'.repeat(50_000) } }
    writer.write(big)
    await expect(writer.flush()).resolves.toBeUndefined()
    expect(sent.map((m) => JSON.parse(m.value.toString()) as object)).toEqual([{ source_key: 'users/0/7', code: 'no_identifier', message: 'no login ID', record_truncated: true }])
    writer.write({ source_key: 'users/0/9', code: 'schema', message: 'M'.repeat(30_000), record: { email: 'c@example.com' } })
    await expect(writer.flush()).rejects.toThrow(/users\/0\/9 for users\.dlq as too large, even without its record: raise the topic's max\.message\.bytes/)
    await writer.close().catch(() => undefined)
  })
})
