import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { readNdjson } from '../../support/write-config.ts'
import { committedOffsets, eventuallyWith, kafka, startSync, uniqueName, workspace, type Workspace } from './kafka-harness.ts'

let ws: Workspace | undefined
afterEach(async () => {
  await ws?.close()
  ws = undefined
})

type Row = { id: number; email: string; username: string; name: string }

const event = (op: 'c' | 'u', before: Row | null, after: Row) => ({
  key: JSON.stringify({ id: after.id }),
  value: JSON.stringify({ before, after, op, ts_ms: 1_700_000_000_000, source: { connector: 'postgresql', db: 'legacy', table: 'users' } }),
})

describe('a Debezium sync killed after it applied a login ID change, before its offsets were committed', () => {
  it('does not send the versions before the change again: one user per row, and no valid change dead-lettered', async () => {
    const k = await kafka()
    ws = await workspace()
    const topic = uniqueName('legacy.public.users')
    await k.createTopic(topic, 1)
    const one: Row = { id: 1, email: 'a@replay.example', username: 'ann', name: 'one' }
    const oneB = { ...one, email: 'b@replay.example', name: 'two' }
    const oneC = { ...oneB, username: 'ann2', name: 'three' }
    const two: Row = { id: 2, email: 'c@replay.example', username: 'bob', name: 'one' }
    const twoD = { ...two, email: 'd@replay.example' }
    await k.produce(topic, [event('c', null, one), event('u', one, oneB), event('u', oneB, oneC), event('c', null, two), event('u', two, twoD)])
    const group = uniqueName('g')
    // Offsets are committed on a timer only after a minute: the kill below lands before it.
    const config = await ws.config({ type: 'kafka', brokers: k.brokers, topics: topic, group_id: group, format: 'debezium', record_mapping: 'sql', columns: { email: 'email', username: 'username', name: 'name' }, commit_interval_ms: 60_000, batch_records: 20 })
    const reportPath = join(ws.dir, 'state', 'test.report.ndjson')
    const first = startSync(config)
    await eventuallyWith([first], async () => (await readNdjson(reportPath)).length >= 5, 60_000, 'all five outcomes written')
    first.child.kill('SIGKILL')
    expect((await first.done).signal).toBe('SIGKILL')
    const store = ws.target.emulator.store
    expect(store.count()).toBe(2)

    const written = (await readNdjson(reportPath)).length
    const again = startSync(config)
    // The last change was not committed past, whatever else was: the restart sends it again.
    await eventuallyWith([again], async () => (await readNdjson(reportPath)).slice(written).some((line) => line['source_key'] === `${topic}/0/4`), 60_000, 'the last change read again')
    again.child.kill('SIGTERM')
    expect((await again.done).code).toBe(0)
    expect((await committedOffsets(k, group, topic, 1))?.[0]).toBe(5)

    expect(store.count()).toBe(2)
    expect(store.findByLoginId('email', 'b@replay.example')?.username?.value).toBe('ann2')
    expect(store.findByLoginId('email', 'd@replay.example')?.username?.value).toBe('bob')
    for (const old of ['a@replay.example', 'c@replay.example']) expect(store.findByLoginId('email', old), old).toBeUndefined()
    const report = await readNdjson(reportPath)
    expect(report.filter((line) => line['outcome'] === 'failed' || line['outcome'] === 'rejected')).toEqual([])
  })
})
