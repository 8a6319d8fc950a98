import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { readNdjson } from '../../support/write-config.ts'
import { committedOffsets, eventually, eventuallyWith, kafka, ownBroker, startSync, uniqueName, workspace, type Workspace } from './kafka-harness.ts'

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

const one: Row = { id: 1, email: 'a@replay.example', username: 'ann', name: 'one' }
const oneB = { ...one, email: 'b@replay.example', name: 'two' }
const oneC = { ...oneB, username: 'ann2', name: 'three' }
const two: Row = { id: 2, email: 'c@replay.example', username: 'bob', name: 'one' }
const twoD = { ...two, email: 'd@replay.example' }

/**
 * Produces `events` to one partition, runs a sync until every event has its outcome, kills it
 * before its timer commits anything, and runs it again until the last event has been read again.
 */
async function killedOnceApplied(events: ReturnType<typeof event>[]) {
  const k = await kafka()
  ws = await workspace()
  const topic = uniqueName('legacy.public.users')
  await k.createTopic(topic, 1)
  await k.produce(topic, events)
  const group = uniqueName('g')
  // Offsets are committed on a timer only after a minute: the kill below lands before it.
  const config = await ws.config({ type: 'kafka', brokers: k.brokers, topics: topic, group_id: group, format: 'debezium', record_mapping: 'sql', columns: { email: 'email', username: 'username', name: 'name' }, commit_interval_ms: 60_000, batch_records: 20 })
  const reportPath = join(ws.dir, 'state', 'test.report.ndjson')
  const first = startSync(config)
  await eventuallyWith([first], async () => (await readNdjson(reportPath)).length >= events.length, 60_000, 'every outcome written')
  first.child.kill('SIGKILL')
  expect((await first.done).signal).toBe('SIGKILL')
  const usersBefore = ws.target.emulator.store.count()
  const committedAtKill = (await committedOffsets(k, group, topic, 1))?.[0] ?? -1
  // Committed to the end already (a change commits past itself once applied): nothing to read again.
  if (committedAtKill < events.length) {
    const written = (await readNdjson(reportPath)).length
    const again = startSync(config)
    const last = `${topic}/0/${events.length - 1}`
    await eventuallyWith([again], async () => (await readNdjson(reportPath)).slice(written).some((line) => line['source_key'] === last), 60_000, 'the last event read again')
    again.child.kill('SIGTERM')
    expect((await again.done).code).toBe(0)
    expect((await committedOffsets(k, group, topic, 1))?.[0]).toBe(events.length)
  }
  return { usersBefore, committedAtKill, store: ws.target.emulator.store, report: await readNdjson(reportPath) }
}

describe('a Debezium sync killed after it applied a login ID change, before its timer committed offsets', () => {
  it('does not send the versions before the change again: one user per row, and no valid change dead-lettered', async () => {
    const { usersBefore, committedAtKill, store, report } = await killedOnceApplied([event('c', null, one), event('u', one, oneB), event('u', oneB, oneC), event('c', null, two), event('u', two, twoD)])
    expect(usersBefore).toBe(2)
    // Committed before and past each change, without waiting for the timer.
    expect(committedAtKill).toBe(5)
    expect(store.count()).toBe(2)
    expect(store.findByLoginId('email', 'b@replay.example')?.username?.value).toBe('ann2')
    expect(store.findByLoginId('email', 'd@replay.example')?.username?.value).toBe('bob')
    for (const old of ['a@replay.example', 'c@replay.example']) expect(store.findByLoginId('email', old), old).toBeUndefined()
    expect(report.filter((line) => line['outcome'] === 'failed' || line['outcome'] === 'rejected')).toEqual([])
  })

  it('does not send the change again after a later plain update gave up the login ID it was matched by', async () => {
    // The username the change is matched by is replaced by an update that keeps the email: a plain
    // update, after which the change, read again, would find no user by that username.
    const { committedAtKill, store, report } = await killedOnceApplied([event('c', null, one), event('u', one, oneB), event('u', oneB, oneC)])
    // Past the change, not past the plain update after it: that one is read again.
    expect(committedAtKill).toBe(2)
    expect(store.count()).toBe(1)
    expect(store.findByLoginId('email', 'b@replay.example')?.username?.value).toBe('ann2')
    expect(report.filter((line) => line['outcome'] === 'failed' || line['outcome'] === 'rejected')).toEqual([])
  })

  it('stopped by the quota after a change, says what the offsets committed around it keep from being sent again', async () => {
    const k = await kafka()
    ws = await workspace()
    ws.target.emulator.quota.setLimits('user_import', [{ quota: 4, period: 'day' }])
    const topic = uniqueName('legacy.public.users')
    await k.createTopic(topic, 1)
    const rows: Row[] = [1, 2, 3].map((id) => ({ id, email: `a${id}@quota.example`, username: `u${id}`, name: 'v1' }))
    // Three users and a change use the quota up; the plain update after the change is refused.
    const events = [...rows.map((row) => event('c', null, row)), event('u', rows[0]!, { ...rows[0]!, email: 'b1@quota.example' }), event('u', rows[1]!, { ...rows[1]!, name: 'v2' })]
    await k.produce(topic, events)
    const group = uniqueName('g')
    const config = await ws.config({ type: 'kafka', brokers: k.brokers, topics: topic, group_id: group, format: 'debezium', record_mapping: 'sql', columns: { email: 'email', username: 'username', name: 'name' }, commit_interval_ms: 60_000, batch_records: 20 })
    const result = await startSync(config).done
    expect(result.code).toBe(75)
    // Committed past the change: only the refused update is read again, which the summary must not deny.
    expect((await committedOffsets(k, group, topic, 1))?.[0]).toBe(4)
    expect(result.stderr).not.toMatch(/nothing was checkpointed/i)
  })

  it('does not hold each change up while the broker is away: one wait for the offsets, then none until a commit succeeds', async () => {
    const broker = await ownBroker()
    let running = true
    try {
      ws = await workspace()
      const topic = uniqueName('legacy.public.users')
      await broker.createTopic(topic, 1)
      // Three users, then three changes, each followed by a plain update: fetched in one read.
      const rows: Row[] = [1, 2, 3].map((id) => ({ id, email: `a${id}@away.example`, username: `u${id}`, name: 'v1' }))
      const events = rows.map((row) => event('c', null, row))
      for (const row of rows) {
        const changed = { ...row, email: `b${row.id}@away.example` }
        events.push(event('u', row, changed), event('u', changed, { ...changed, name: 'v3' }))
      }
      await broker.produce(topic, events)
      const config = await ws.config({ type: 'kafka', brokers: broker.brokers, topics: topic, group_id: uniqueName('g'), format: 'debezium', record_mapping: 'sql', columns: { email: 'email', username: 'username', name: 'name' }, commit_interval_ms: 60_000, batch_records: 100 })
      const reportPath = join(ws.dir, 'state', 'test.report.ndjson')
      const emulator = ws.target.emulator
      // The first job waits in the emulator while the broker goes away.
      emulator.faults.latency_ms = 3000
      const run = startSync(config)
      await eventually(() => emulator.jobs.jobsCreated >= 1, 60_000, 'first job')
      await broker.stop()
      running = false
      emulator.faults.latency_ms = 0
      const stopped = Date.now()
      await eventuallyWith([run], async () => (await readNdjson(reportPath)).length >= events.length, 60_000, 'every outcome')
      // Six waits of 5 s (before and after each change), or a blocking commit of a session timeout
      // each, before; one wait now.
      expect(Date.now() - stopped).toBeLessThan(20_000)
      run.child.kill('SIGTERM')
      const result = await run.done
      expect(result.stderr).toMatch(/were not confirmed committed in time/)
      expect(emulator.store.count()).toBe(3)
      for (const row of rows) expect(emulator.store.findByLoginId('email', `b${row.id}@away.example`)?.standard?.['name']).toBe('v3')
    } finally {
      if (running) await broker.stop()
    }
  }, 180_000)
})

describe('a Debezium sync (deletes: delete) killed after a new row took up the email of a row it deleted', () => {
  it('does not read the delete again: the new row keeps its user', async () => {
    const k = await kafka()
    ws = await workspace()
    const topic = uniqueName('legacy.public.users')
    await k.createTopic(topic, 2)
    type Lone = { id: number; email: string; name: string }
    const change = (op: 'c' | 'd', before: Lone | null, after: Lone | null, partition: number) => ({
      key: JSON.stringify({ id: (after ?? before)!.id }),
      value: JSON.stringify({ before, after, op, ts_ms: 1_700_000_000_000, source: { connector: 'postgresql', db: 'legacy', table: 'users' } }),
      partition,
    })
    // Only an email: a delete read again finds no other login ID to tell the new row's user apart.
    const ann: Lone = { id: 1, email: 'shared@replay.example', name: 'Ann' }
    const bea: Lone = { id: 2, email: 'shared@replay.example', name: 'Bea' }
    const group = uniqueName('g')
    // Offsets are committed on a timer only after a minute: the kill below lands before it.
    const config = await ws.config({ type: 'kafka', brokers: k.brokers, topics: topic, group_id: group, format: 'debezium', record_mapping: 'sql', columns: { email: 'email', name: 'name' }, deletes: { policy: 'delete' }, commit_interval_ms: 60_000, batch_records: 20 })
    const reportPath = join(ws.dir, 'state', 'test.report.ndjson')
    const outcomes = async () => (await readNdjson(reportPath).catch(() => [])).map((line) => line['outcome'])
    const first = startSync(config)
    // Ann's row and its delete on one partition; Bea's row, made with the same email, on the other, read after them.
    await k.produce(topic, [change('c', null, ann, 0), change('d', ann, null, 0)])
    await eventuallyWith([first], async () => (await outcomes()).length >= 2, 60_000, 'Ann inserted and deleted')
    await k.produce(topic, [change('c', null, bea, 1)])
    await eventuallyWith([first], async () => (await outcomes()).length >= 3, 60_000, 'Bea inserted')
    first.child.kill('SIGKILL')
    expect((await first.done).signal).toBe('SIGKILL')
    expect(await outcomes()).toEqual(['inserted', 'deleted', 'inserted'])
    const store = ws.target.emulator.store
    const beaUser = store.findByLoginId('email', 'shared@replay.example')
    expect(beaUser?.standard?.['name']).toBe('Bea')
    // Past the delete, before Bea's row was sent; her row itself waits for the timer.
    expect((await committedOffsets(k, group, topic, 2))?.[0]).toBe(2)

    // Started again, it reads Bea's row again (the same user, updated), not the delete; a third row marks how far it got.
    const written = (await readNdjson(reportPath)).length
    const again = startSync(config)
    await k.produce(topic, [change('c', null, { id: 3, email: 'cat@replay.example', name: 'Cat' }, 0)])
    await eventuallyWith([again], async () => (await outcomes()).length >= written + 2, 60_000, 'Bea again and the third row')
    again.child.kill('SIGTERM')
    expect((await again.done).code).toBe(0)
    expect((await outcomes()).slice(written).sort()).toEqual(['inserted', 'updated'])
    expect(store.findByLoginId('email', 'shared@replay.example')?.id).toBe(beaUser?.id)
    expect(store.count()).toBe(2)
  })
})
