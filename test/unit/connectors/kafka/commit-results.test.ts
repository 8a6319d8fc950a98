import { describe, expect, it, vi } from 'vitest'
import { Metrics } from '../../../../src/observability/metrics.ts'
import { context } from '../auth0/helpers.ts'
import { group, message } from './fake-group-consumer.ts'

vi.mock('../../../../connectors/kafka/consumer.ts', () => import('./fake-group-consumer.ts'))

const { createKafkaSource } = await import('../../../../connectors/kafka/source.ts')
const { kafkaSourceConfigSchema } = await import('../../../../connectors/kafka/config.ts')

describe("the broker's answer to an offset commit", () => {
  it('counts a commit as ok or error only when the broker answered, and commits a failed one again', async () => {
    const metrics = new Metrics({ defaultMetrics: false })
    const source = createKafkaSource(kafkaSourceConfigSchema.parse({ type: 'kafka', brokers: 'b:9092', topics: 'users', group_id: 'g', format: 'json', commit_interval_ms: 60_000 }), { mode: 'sync', metrics })
    const abort = new AbortController()
    const batches = source.read(undefined, context(abort.signal))[Symbol.asyncIterator]()
    group.committed.length = 0
    group.fetched.push([message(10, { email: 'x@example.com' })])
    const first = await batches.next()
    source.onBatchSettled!(first.value!.position)
    const counts = async () => (await metrics.registry.getSingleMetricAsString('gearbridge_kafka_offset_commits_total')).split('\n').filter((line) => !line.startsWith('#') && line !== '').join('; ')

    await source.commitNow!()
    expect(group.committed).toEqual([[{ topic: 'users', partition: 0, offset: 11 }]])
    // Asked, not yet answered: nothing counted as committed.
    expect(await counts()).not.toMatch(/result="ok"} [1-9]/)

    group.handlers!.onCommitted(new Error('Broker: Not coordinator'), [{ topic: 'users', partition: 0, offset: 11 }])
    expect(await counts()).toMatch(/result="error"} 1/)
    await source.commitNow!()
    expect(group.committed).toEqual([[{ topic: 'users', partition: 0, offset: 11 }], [{ topic: 'users', partition: 0, offset: 11 }]])

    group.handlers!.onCommitted(undefined, [{ topic: 'users', partition: 0, offset: 11 }])
    expect(await counts()).toMatch(/result="ok"} 1/)
    await source.commitNow!()
    expect(group.committed).toHaveLength(2)
    abort.abort()
    await batches.next()
    await source.close()
  })
})
