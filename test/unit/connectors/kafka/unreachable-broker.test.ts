import { describe, expect, it } from 'vitest'
import { DeliveryProducer } from '../../../../connectors/kafka/delivery-producer.ts'

describe('an unreachable Kafka cluster', () => {
  it('is named in the error, so the operator knows which brokers setting to check', async () => {
    // Port 1 on loopback: nothing listens there, so the connection is refused at once.
    const producer = new DeliveryProducer({ brokers: ['127.0.0.1:1'], lingerMs: 5, extra: {} })
    await expect(producer.connect(1500)).rejects.toMatchObject({ message: expect.stringContaining('cannot connect to Kafka at 127.0.0.1:1') })
  })
})
