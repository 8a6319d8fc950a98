import { setTimeout as sleep } from 'node:timers/promises'
import { describe, expect, it, vi } from 'vitest'
import { context } from '../auth0/helpers.ts'
import { group, message } from './fake-group-consumer.ts'

vi.mock('../../../../connectors/kafka/consumer.ts', () => import('./fake-group-consumer.ts'))

const { createKafkaSource } = await import('../../../../connectors/kafka/source.ts')
const { kafkaSourceConfigSchema } = await import('../../../../connectors/kafka/config.ts')

describe('a revoked partition', () => {
  it('is handed on only once the batches already read from it have settled, and their offsets are committed', async () => {
    const source = createKafkaSource(kafkaSourceConfigSchema.parse({ type: 'kafka', brokers: 'b:9092', topics: 'users', group_id: 'g', format: 'json', commit_interval_ms: 60_000 }), { mode: 'sync' })
    const abort = new AbortController()
    const batches = source.read(undefined, context(abort.signal))[Symbol.asyncIterator]()
    group.fetched.push([message(10, { email: 'x@example.com' })])
    const first = await batches.next()
    expect(first.value?.records).toHaveLength(1)

    let handedOn = false
    group.handlers!.onRevoke([{ topic: 'users', partition: 0 }], () => (handedOn = true))
    // A message fetched while the revoke waits is not handed out: the next owner reads it.
    group.fetched.push([message(11, { email: 'x@example.com' })])
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

  it('passes a delete the broker confirmed committed before the partition moved, and says when one is read again that a record took a login ID from', async () => {
    group.committed.length = 0
    const source = createKafkaSource(kafkaSourceConfigSchema.parse({ type: 'kafka', brokers: 'b:9092', topics: 'users', group_id: 'g', format: 'json', commit_interval_ms: 60_000 }), { mode: 'sync' })
    const abort = new AbortController()
    const ctx = context(abort.signal)
    const warnings = () => ctx.lines.filter((line) => line.level === 'warn').map((line) => [line.msg, line.obj])
    const taker = { kind: 'data' as const, key: 'users/1/3', origin: 'users 1 3', data: {} }
    const batches = source.read(undefined, ctx)[Symbol.asyncIterator]()
    // The delete at 20 settles; the revoke commits past it, and the broker confirms that.
    group.fetched.push([message(20, { email: 'x@example.com' })])
    const first = await batches.next()
    source.onBatchSettled!(first.value!.position)
    group.handlers!.onRevoke([{ topic: 'users', partition: 0 }], () => undefined)
    await sleep(20)
    expect(group.committed.at(-1)).toEqual([{ topic: 'users', partition: 0, offset: 21 }])
    group.handlers!.onCommitted(undefined, [{ topic: 'users', partition: 0, offset: 21 }])
    // Never read again by anyone: durable, whoever has the partition now, and nothing to say.
    expect(source.isDurable!('users/0/20')).toBe(true)
    group.handlers!.onAssign([{ topic: 'users', partition: 0 }], () => undefined)
    expect(source.isDurable!('users/0/20')).toBe(true)
    expect(await source.commitSettled!([taker], false, ['users/0/20'])).toBe(false)
    expect(warnings()).toEqual([])

    // The delete at 30 is read, then read again after its partition came back before it was
    // committed (a revoke whose wait ran out): this generation has not settled it.
    group.fetched.push([message(30, { email: 'y@example.com' })])
    const second = await batches.next()
    source.onBatchSettled!(second.value!.position)
    group.handlers!.onRevoke([{ topic: 'users', partition: 0 }], () => undefined)
    await sleep(20)
    group.handlers!.onAssign([{ topic: 'users', partition: 0 }], () => undefined)
    group.fetched.push([message(30, { email: 'y@example.com' })])
    await batches.next()
    const before = group.committed.length
    expect(await source.commitSettled!([taker], false, ['users/0/30'])).toBe(false)
    expect(group.committed.length).toBe(before)
    expect(source.isDurable!('users/0/30')).toBe(false)
    expect(warnings()).toEqual([[expect.stringContaining('A delete could not be committed before a record taking up its login ID was sent'), { deletes: ['users/0/30'] }]])
    abort.abort()
    await batches.next()
    await source.close()
  })
})
