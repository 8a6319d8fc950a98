import { describe, expect, it, vi } from 'vitest'
import { context } from '../auth0/helpers.ts'
import { group, message } from './fake-group-consumer.ts'

vi.mock('../../../../connectors/kafka/consumer.ts', () => import('./fake-group-consumer.ts'))

const { createSource } = await import('../../../../connectors/create-source.ts')
const { kafkaSourceConfigSchema } = await import('../../../../connectors/kafka/config.ts')

describe('a Kafka source read by validate, reconcile or check', () => {
  it('reads the whole topic in a group of its own and commits nothing', async () => {
    const config = kafkaSourceConfigSchema.parse({ type: 'kafka', brokers: 'b:9092', topics: 'users', group_id: 'live-sync', format: 'json', start_from: 'latest' })
    const { source } = await createSource(config, { baseDir: '.', mode: 'backfill', readOnly: true })
    group.fetched.push([message(10, { email: 'a@example.com' })])
    for await (const batch of source.read(undefined, context())) source.onBatchSettled?.(batch.position)
    await source.close()
    expect(group.settings).toHaveLength(1)
    expect(group.settings[0]!.groupId).toMatch(/^live-sync\.gearbridge-read-[0-9a-f-]{36}$/)
    expect(group.settings[0]!.startFrom).toBe('earliest')
    expect(group.committed).toEqual([])
  })
})
