import { describe, expect, it } from 'vitest'
import { DeliveryProducer } from '../../../connectors/kafka/delivery-producer.ts'
import { isMessageTooLarge } from '../../../connectors/kafka/message-too-large.ts'
import { kafka, ownBroker, uniqueName } from './kafka-harness.ts'
import { readTopic } from './read-topic.ts'

/** The Java client's partitioner hash (`Utils.murmur2`), which `murmur2_random` promises to match. */
function murmur2(data: Buffer): number {
  const m = 0x5bd1e995
  let h = 0x9747b28c ^ data.length
  const whole = data.length & ~3
  for (let i = 0; i < whole; i += 4) {
    let k = data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24)
    k = Math.imul(k, m)
    k ^= k >>> 24
    k = Math.imul(k, m)
    h = Math.imul(h, m) ^ k
  }
  const rest = data.length & 3
  if (rest === 3) h ^= data[whole + 2]! << 16
  if (rest >= 2) h ^= data[whole + 1]! << 8
  if (rest >= 1) h = Math.imul(h ^ data[whole]!, m)
  h ^= h >>> 13
  h = Math.imul(h, m)
  return (h ^ (h >>> 15)) >>> 0
}

describe('the delivery producer', () => {
  it('puts a key on the partition the Java client would (murmur2), so other producers of the topic agree', async () => {
    const k = await kafka()
    const topic = uniqueName('murmur')
    const partitions = 7
    await k.createTopic(topic, partitions)
    const producer = new DeliveryProducer({ brokers: [k.brokers], lingerMs: 5 })
    const keys = Array.from({ length: 40 }, (_, i) => `email:user${i}@example.com`)
    try {
      await producer.connect(15_000)
      await Promise.all(keys.map((key) => producer.send(topic, { key, value: Buffer.from('{}') })))
    } finally {
      await producer.close()
    }
    const messages = await readTopic(k.brokers, topic, keys.length)
    expect(messages).toHaveLength(keys.length)
    for (const message of messages) expect(message.partition, message.key).toBe((murmur2(Buffer.from(message.key)) & 0x7fffffff) % partitions)
  })

  it('sends again on its own a message the broker refused with its batch (the topic\'s max.message.bytes bounds the batch), and refuses only one too large by itself', async () => {
    const k = await kafka()
    const topic = uniqueName('small')
    await k.createTopic(topic, 1, { 'max.message.bytes': '20000' })
    const producer = new DeliveryProducer({ brokers: [k.brokers], lingerMs: 50 })
    const values = Array.from({ length: 5 }, (_, i) => Buffer.alloc(8000, 97 + i))
    let refused: unknown
    try {
      await producer.connect(15_000)
      // Sent together, they share a batch of 40 KB, which the broker refuses whole.
      await Promise.all(values.map((value, i) => producer.send(topic, { key: `k${i}`, value })))
      refused = await producer.send(topic, { key: 'big', value: Buffer.alloc(30_000, 122) }).then(() => undefined, (error: unknown) => error)
    } finally {
      await producer.close()
    }
    const messages = await readTopic(k.brokers, topic, values.length)
    expect(messages.map((m) => [m.key, m.value.length]).sort()).toEqual(values.map((v, i) => [`k${i}`, v.length]))
    expect(isMessageTooLarge(refused)).toBe(true)
  })

  it('reports a broker outage through onError, and gives up on a message after the configured message.timeout.ms', async () => {
    const broker = await ownBroker()
    let running = true
    const errors: string[] = []
    const producer = new DeliveryProducer({ brokers: [broker.brokers], lingerMs: 5, extra: { 'message.timeout.ms': 5000 }, onError: (message) => errors.push(message) })
    try {
      await broker.createTopic('outage', 1)
      await producer.connect(15_000)
      await producer.send('outage', { key: 'a', value: Buffer.from('{}') })
      await broker.stop()
      running = false
      const started = Date.now()
      const failure = await producer.send('outage', { key: 'b', value: Buffer.from('{}') }).then(
        () => 'delivered',
        (error: Error) => error.message,
      )
      expect(failure).toMatch(/Kafka did not accept a message for outage: .*timed out/)
      // librdkafka's own default is 300 s: this shows the setting reached it.
      expect(Date.now() - started).toBeLessThan(30_000)
      expect(errors.length, 'no client error reported while the broker was down').toBeGreaterThan(0)
    } finally {
      await producer.close(1000)
      if (running) await broker.stop()
    }
  }, 120_000)
})
