import { setTimeout as sleep } from 'node:timers/promises'
import { describe, expect, it, vi } from 'vitest'
import type { Message } from 'node-rdkafka'
import type { ConsumerHandlers } from '../../../../connectors/kafka/consumer.ts'
import type { PartitionOffset } from '../../../../connectors/kafka/position.ts'
import { context } from '../auth0/helpers.ts'

/** The consumer group as the source sees it: rebalances and fetched messages are played by the test. */
const group = vi.hoisted(() => ({
  handlers: undefined as ConsumerHandlers | undefined,
  fetched: [] as Message[][],
  committed: [] as PartitionOffset[][],
}))

vi.mock('../../../../connectors/kafka/consumer.ts', () => ({
  GroupConsumer: class {
    connected = false
    constructor(_settings: unknown, handlers: ConsumerHandlers) {
      group.handlers = handlers
    }
    async connect() {
      this.connected = true
      group.handlers!.onAssign([{ topic: 'users', partition: 0 }], () => undefined)
    }
    async consume() {
      const next = group.fetched.shift()
      if (next) return next
      await sleep(5)
      return []
    }
    commit(offsets: PartitionOffset[]) {
      group.committed.push(offsets)
    }
    commitSync(offsets: PartitionOffset[]) {
      group.committed.push(offsets)
    }
    async disconnect() {
      this.connected = false
    }
  },
}))

const { createKafkaSource } = await import('../../../../connectors/kafka/source.ts')
const { kafkaSourceConfigSchema } = await import('../../../../connectors/kafka/config.ts')

const message = (offset: number, email: string): Message => ({ topic: 'users', partition: 0, offset, value: Buffer.from(JSON.stringify({ email })), size: 0, timestamp: 0 }) as Message

describe('a revoked partition', () => {
  it('is handed on only once the batches already read from it have settled, and their offsets are committed', async () => {
    const source = createKafkaSource(kafkaSourceConfigSchema.parse({ type: 'kafka', brokers: 'b:9092', topics: 'users', group_id: 'g', format: 'json', commit_interval_ms: 60_000 }), { mode: 'sync' })
    const abort = new AbortController()
    const batches = source.read(undefined, context(abort.signal))[Symbol.asyncIterator]()
    group.fetched.push([message(10, 'x@example.com')])
    const first = await batches.next()
    expect(first.value?.records).toHaveLength(1)

    let handedOn = false
    group.handlers!.onRevoke([{ topic: 'users', partition: 0 }], () => (handedOn = true))
    // A message fetched while the revoke waits is not handed out: the next owner reads it.
    group.fetched.push([message(11, 'x@example.com')])
    const during = batches.next()
    await sleep(50)
    expect(handedOn).toBe(false)

    source.onBatchSettled!(first.value!.position)
    await sleep(20)
    expect(handedOn).toBe(true)
    expect(group.committed).toEqual([[{ topic: 'users', partition: 0, offset: 11 }]])
    abort.abort()
    expect((await during).done).toBe(true)
    await source.close()
  })
})
