import { setTimeout as sleep } from 'node:timers/promises'
import { describe, expect, it, vi } from 'vitest'
import type { Message } from 'node-rdkafka'
import type { ConsumerHandlers, ConsumerSettings } from '../../../../connectors/kafka/consumer.ts'
import type { PartitionOffset } from '../../../../connectors/kafka/position.ts'
import { context } from '../auth0/helpers.ts'

/** The consumer group as the source sees it: the settings it joins with, and every commit. */
const group = vi.hoisted(() => ({ settings: [] as ConsumerSettings[], committed: [] as PartitionOffset[][], fetched: [] as Message[][] }))

vi.mock('../../../../connectors/kafka/consumer.ts', () => ({
  GroupConsumer: class {
    connected = false
    readonly #handlers: ConsumerHandlers
    constructor(settings: ConsumerSettings, handlers: ConsumerHandlers) {
      group.settings.push(settings)
      this.#handlers = handlers
    }
    async connect() {
      this.connected = true
      this.#handlers.onAssign([{ topic: 'users', partition: 0 }], () => undefined)
    }
    async consume() {
      const next = group.fetched.shift()
      if (next) return next
      this.#handlers.onEof('users', 0, 11)
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

const { createSource } = await import('../../../../connectors/create-source.ts')
const { kafkaSourceConfigSchema } = await import('../../../../connectors/kafka/config.ts')

describe('a Kafka source read by validate, reconcile or check', () => {
  it('reads the whole topic in a group of its own and commits nothing', async () => {
    const config = kafkaSourceConfigSchema.parse({ type: 'kafka', brokers: 'b:9092', topics: 'users', group_id: 'live-sync', format: 'json', start_from: 'latest' })
    const { source } = await createSource(config, { baseDir: '.', mode: 'backfill', readOnly: true })
    group.fetched.push([{ topic: 'users', partition: 0, offset: 10, value: Buffer.from('{"email":"a@example.com"}'), size: 0, timestamp: 0 } as Message])
    for await (const batch of source.read(undefined, context())) source.onBatchSettled?.(batch.position)
    await source.close()
    expect(group.settings).toHaveLength(1)
    expect(group.settings[0]!.groupId).toMatch(/^live-sync\.gearbridge-read-[0-9a-f-]{36}$/)
    expect(group.settings[0]!.startFrom).toBe('earliest')
    expect(group.committed).toEqual([])
  })
})
