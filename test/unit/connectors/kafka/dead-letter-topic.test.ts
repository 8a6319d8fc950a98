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
      if (message.value.length > maxMessageBytes) throw new Error('Broker: Message size too large')
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
})
