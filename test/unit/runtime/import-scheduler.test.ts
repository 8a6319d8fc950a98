import { describe, expect, it } from 'vitest'
import type { IdentifierType, MappedRecord } from '../../../src/core/mapped-record.ts'
import { requestBody } from '../../../src/runtime/batcher.ts'
import { Checkpointer } from '../../../src/runtime/checkpointer.ts'
import { ImportScheduler } from '../../../src/runtime/import-scheduler.ts'
import { createWorkItem, type WorkItem } from '../../../src/runtime/work-item.ts'

function item(email: string, extra: Record<string, unknown> = {}, identifier: IdentifierType = 'email', lockKeys?: string[]): WorkItem {
  const mapped: MappedRecord = { identifier, identifierValue: email, record: { email, ...extra } as MappedRecord['record'], passwordAlgorithm: 'none', passwordLane: 'none', warnings: [], ...(lockKeys ? { lockKeys } : {}) }
  const ticket = new Checkpointer<number>().track(1, 1)
  return createWorkItem({ kind: 'data', key: email, origin: `t:${email}`, data: {} }, mapped, ticket)
}

/** A source delete of the user with this email (a Debezium `d` event), and the other login IDs its row held. */
function removal(email: string, freedLogins?: MappedRecord['freedLogins']): WorkItem {
  const mapped: MappedRecord = { identifier: 'email', identifierValue: email, record: { email } as MappedRecord['record'], passwordAlgorithm: 'none', passwordLane: 'none', warnings: [], action: 'delete', ...(freedLogins ? { freedLogins } : {}) }
  return createWorkItem({ kind: 'data', key: email, origin: `t:${email}`, data: {} }, mapped, new Checkpointer<number>().track(1, 1))
}

/** A record taking up login IDs of the source deletes keyed `deletes` (`MappedRecord.afterDeletes`). */
function takingFrom(email: string, deletes: string[]): WorkItem {
  const plain = item(email)
  return createWorkItem(plain.source, { ...plain.mapped, record: plain.mapped.record, afterDeletes: deletes }, new Checkpointer<number>().track(1, 1))
}

/**
 * Adds `records` to a scheduler whose jobs finish a few ticks after they start, flushes it, and
 * returns its jobs and its `aroundApart` calls (the commits a Kafka source makes around records
 * sent apart) in order, each record shown by `named`.
 */
async function commitsAround(records: readonly WorkItem[], options: { named?: (item: WorkItem) => string; durable?: (key: string) => boolean } = {}): Promise<string[]> {
  const named = options.named ?? ((i: WorkItem) => i.mapped.identifierValue)
  const calls: string[] = []
  const jobs: (() => void)[] = []
  const scheduler = new ImportScheduler({
    policy: { maxRecords: 10, maxBytes: 10_000, lingerMs: 60_000 },
    upsert: true,
    maxInFlight: 4,
    onSuperseded: () => undefined,
    run: (_identifier, items) => new Promise<void>((resolve) => jobs.push(() => { calls.push(`job ${items.map(named).join(',')}`); resolve() })),
    aroundApart: async (items, done) => {
      calls.push(`${done ? 'after' : 'before'} ${items.map(named).join(',')}`)
    },
    ...(options.durable ? { durable: options.durable } : {}),
  })
  const added = (async () => {
    for (const record of records) await scheduler.add(record)
  })()
  const flushed = added.then(() => scheduler.flush())
  for (let round = 0; round < 8; round++) {
    for (let i = 0; i < 3; i++) await tick()
    for (const done of jobs.splice(0)) done()
  }
  await flushed
  return calls
}

interface Job { identifier: IdentifierType; items: WorkItem[]; done: () => void }

function harness(policy = { maxRecords: 3, maxBytes: 10_000, lingerMs: 20 }, maxInFlight = 2, upsert = false) {
  const jobs: Job[] = []
  const superseded: WorkItem[] = []
  const supersededBy: (WorkItem | undefined)[] = []
  let running = 0
  let peak = 0
  const scheduler = new ImportScheduler({
    policy,
    upsert,
    maxInFlight,
    onSuperseded: (i, by) => {
      superseded.push(i)
      supersededBy.push(by)
    },
    run: (identifier, items) =>
      new Promise<void>((resolve) => {
        running++
        peak = Math.max(peak, running)
        jobs.push({ identifier, items, done: () => { running--; resolve() } })
      }),
  })
  return { scheduler, jobs, superseded, supersededBy, peak: () => peak }
}

const tick = () => new Promise((r) => setTimeout(r, 0))

describe('ImportScheduler', () => {
  it('closes a batch at max_records and keeps identifier types apart', async () => {
    const h = harness(undefined, 4)
    for (const e of ['a', 'b', 'c', 'd']) await h.scheduler.add(item(`${e}@x.io`))
    await h.scheduler.add(item('+85212345678', {}, 'phone_number'))
    expect(h.jobs).toHaveLength(1)
    expect(h.jobs[0]!.items.map((i) => i.mapped.identifierValue)).toEqual(['a@x.io', 'b@x.io', 'c@x.io'])
    const flushed = h.scheduler.flush()
    await tick()
    expect(h.jobs.map((j) => j.identifier).sort()).toEqual(['email', 'email', 'phone_number'])
    for (const j of h.jobs) j.done()
    await flushed
  })

  it('closes a batch before the exact request body would exceed max_bytes', async () => {
    const big = 'x'.repeat(300)
    const probe = [item('a@x.io', { name: big }), item('b@x.io', { name: big })]
    const twoRecordBody = Buffer.byteLength(requestBody('email', false, probe))
    const h = harness({ maxRecords: 100, maxBytes: twoRecordBody - 1, lingerMs: 1000 })
    await h.scheduler.add(item('a@x.io', { name: big }))
    await h.scheduler.add(item('b@x.io', { name: big }))
    expect(h.jobs).toHaveLength(1)
    expect(h.jobs[0]!.items).toHaveLength(1)
    expect(Buffer.byteLength(requestBody('email', false, h.jobs[0]!.items))).toBeLessThanOrEqual(twoRecordBody - 1)
    const flushed = h.scheduler.flush()
    await tick()
    for (const j of h.jobs) j.done()
    await flushed
  })

  it('lets the last version of a user win within a batch', async () => {
    const h = harness({ maxRecords: 10, maxBytes: 10_000, lingerMs: 1000 })
    await h.scheduler.add(item('a@x.io', { name: 'v1' }))
    await h.scheduler.add(item('a@x.io', { name: 'v2' }))
    const flushed = h.scheduler.flush()
    await tick()
    expect(h.superseded.map((i) => (i.mapped.record as { name: string }).name)).toEqual(['v1'])
    expect(h.supersededBy.map((i) => (i?.mapped.record as { name: string }).name)).toEqual(['v2'])
    expect(h.jobs[0]!.items.map((i) => (i.mapped.record as { name: string }).name)).toEqual(['v2'])
    h.jobs[0]!.done()
    await flushed
  })

  it('sends a batch before a newer version of a user with other login IDs replaces the earlier one in it (under upsert): either place could pass a record read between them that hands one over', async () => {
    const h = harness({ maxRecords: 10, maxBytes: 10_000, lingerMs: 1000 }, 2, true)
    const label = (i: WorkItem) => `${i.mapped.identifierValue}${(i.mapped.record as { phone_number?: string }).phone_number ? '+phone' : ''}`
    // The taker's newer version takes the phone the giver, read between its versions, gave up.
    await h.scheduler.add(item('taker@x.io', { name: 'v1' }))
    await h.scheduler.add(item('giver@x.io'))
    await h.scheduler.add(item('taker@x.io', { name: 'v2', phone_number: '+15550000001' }))
    await h.scheduler.add(item('other@x.io'))
    const flushed = h.scheduler.flush()
    for (let round = 0; round < 4; round++) {
      await tick()
      for (const job of h.jobs.filter((j) => !(j as { finished?: boolean }).finished)) {
        ;(job as { finished?: boolean }).finished = true
        job.done()
      }
    }
    await flushed
    expect(h.jobs.map((j) => j.items.map(label))).toEqual([['taker@x.io', 'giver@x.io'], ['other@x.io'], ['taker@x.io+phone']])
    // The giver's newer version, with the same login IDs, keeps its place before the taker read between them.
    const g = harness({ maxRecords: 10, maxBytes: 10_000, lingerMs: 1000 }, 2, true)
    await g.scheduler.add(item('giver@x.io', { name: 'v1' }))
    await g.scheduler.add(item('taker@x.io', { phone_number: '+15550000001' }))
    await g.scheduler.add(item('giver@x.io', { name: 'v2' }))
    const flushedToo = g.scheduler.flush()
    await tick()
    expect(g.jobs[0]!.items.map((i) => `${i.mapped.identifierValue} ${(i.mapped.record as { name?: string }).name ?? ''}`.trim())).toEqual(['giver@x.io v2', 'taker@x.io'])
    g.jobs[0]!.done()
    await flushedToo
    // Without upsert the last version read wins in the batch, as before: sent later, Authgear would skip it.
    const i = harness({ maxRecords: 10, maxBytes: 10_000, lingerMs: 1000 })
    await i.scheduler.add(item('ann@x.io', { name: 'v1' }))
    await i.scheduler.add(item('ann@x.io', { name: 'v2', phone_number: '+15550000001' }))
    const flushedInsert = i.scheduler.flush()
    await tick()
    expect(i.jobs.map((j) => j.items.map((it) => (it.mapped.record as { name: string }).name))).toEqual([['v2']])
    i.jobs[0]!.done()
    await flushedInsert
  })

  it('never lets a source delete replace the same user\'s import in a batch: the import is sent first, the delete after it', async () => {
    // Under deletes.policy disable or ignore, a create followed by a delete must still create the
    // user (disabled, or as it was); replaced within the batch, the create was never sent.
    const h = harness({ maxRecords: 10, maxBytes: 10_000, lingerMs: 1000 }, 4)
    await h.scheduler.add(item('a@x.io', { name: 'v1' }))
    await h.scheduler.add(item('b@x.io'))
    expect(h.scheduler.offer(removal('a@x.io'))).toBe(false)
    await h.scheduler.add(removal('a@x.io'))
    await h.scheduler.add(item('c@x.io'))
    expect(h.superseded).toEqual([])
    expect(h.jobs.map((j) => j.items.map((i) => [i.mapped.identifierValue, i.mapped.action ?? 'import']))).toEqual([[['a@x.io', 'import'], ['b@x.io', 'import']]])
    const flushed = h.scheduler.flush()
    for (let i = 0; i < 5; i++) await tick()
    // The delete waits for the import's job, as any newer version of a user in flight does.
    expect(h.jobs.slice(1).map((j) => j.items.map((i) => i.mapped.identifierValue))).toEqual([['c@x.io']])
    expect(h.jobs).toHaveLength(2)
    h.jobs[0]!.done()
    h.jobs[1]!.done()
    for (let i = 0; i < 5; i++) await tick()
    expect(h.jobs.slice(2).map((j) => j.items.map((i) => [i.mapped.identifierValue, i.mapped.action]))).toEqual([[['a@x.io', 'delete']]])
    h.jobs[2]!.done()
    await flushed
  })

  it('never lets an import replace an earlier delete of the same user in a batch: the delete is sent first, the import after it', async () => {
    // Under deletes.policy delete the row created again with that email is a new user, as when the
    // two are read apart; replaced, the delete would leave the old user (and its password) to update.
    const h = harness({ maxRecords: 10, maxBytes: 10_000, lingerMs: 1000 })
    await h.scheduler.add(removal('a@x.io'))
    expect(h.scheduler.offer(item('a@x.io', { name: 'again' }))).toBe(false)
    await h.scheduler.add(item('a@x.io', { name: 'again' }))
    const flushed = h.scheduler.flush()
    for (let i = 0; i < 5; i++) await tick()
    expect(h.superseded).toEqual([])
    expect(h.jobs.map((j) => j.items.map((i) => i.mapped.action ?? 'import'))).toEqual([['delete']])
    h.jobs[0]!.done()
    for (let i = 0; i < 5; i++) await tick()
    expect(h.jobs.slice(1).map((j) => j.items.map((i) => (i.mapped.record as { name?: string }).name))).toEqual([['again']])
    h.jobs[1]!.done()
    await flushed
  })

  it('holds a record taking up a login ID a source delete frees until the delete has finished, and nothing else', async () => {
    // Authgear refuses a login ID another user still holds: a row reusing the deleted row's
    // username or phone must reach Authgear after the delete, whatever its identifier, and must
    // not share the delete's job (whose deletes and imports run side by side).
    const phone = '+14155550142'
    const h = harness({ maxRecords: 10, maxBytes: 10_000, lingerMs: 1000 }, 4)
    await h.scheduler.add(removal('a@x.io', [{ identifier: 'preferred_username', value: 'ana' }, { identifier: 'phone_number', value: phone }]))
    await h.scheduler.add(item('b@x.io', { preferred_username: 'ana' }))
    await h.scheduler.add(item(phone, { email: undefined, phone_number: phone }, 'phone_number'))
    await h.scheduler.add(item('ana2@x.io', { preferred_username: 'ana2' }))
    const flushed = h.scheduler.flush()
    for (let i = 0; i < 5; i++) await tick()
    const sent = () => h.jobs.map((j) => `${j.identifier}: ${j.items.map((x) => `${x.mapped.identifierValue}${x.mapped.action === 'delete' ? ' (delete)' : ''}`).join(', ')}`)
    expect(sent()).toEqual(['email: a@x.io (delete), ana2@x.io'])
    h.jobs[0]!.done()
    for (let i = 0; i < 5; i++) await tick()
    expect(sent().slice(1).sort()).toEqual(['email: b@x.io', `phone_number: ${phone}`])
    for (const j of h.jobs.slice(1)) j.done()
    await flushed
  })

  it('keeps a record taking up a login ID a delete frees waiting for the delete, when the deleted user\'s identifier is imported again beside it', async () => {
    const phone = '+14155550142'
    const h = harness({ maxRecords: 10, maxBytes: 10_000, lingerMs: 1000 }, 4)
    await h.scheduler.add(removal('a@x.io', [{ identifier: 'phone_number', value: phone }]))
    await h.scheduler.add(item(phone, { email: undefined, phone_number: phone }, 'phone_number'))
    await h.scheduler.add(item('a@x.io', { name: 'again' }))
    const flushed = h.scheduler.flush()
    for (let i = 0; i < 5; i++) await tick()
    const sent = () => h.jobs.map((j) => `${j.identifier}: ${j.items.map((x) => `${x.mapped.identifierValue}${x.mapped.action === 'delete' ? ' (delete)' : ''}`).join(', ')}`)
    expect(sent()).toEqual(['email: a@x.io (delete)'])
    h.jobs[0]!.done()
    for (let i = 0; i < 5; i++) await tick()
    expect(sent().slice(1).sort()).toEqual(['email: a@x.io', `phone_number: ${phone}`])
    for (const j of h.jobs.slice(1)) j.done()
    await flushed
  })

  it('holds a newer version of a user until the job with the older one completes', async () => {
    const h = harness({ maxRecords: 1, maxBytes: 10_000, lingerMs: 1000 }, 4)
    await h.scheduler.add(item('a@x.io', { name: 'v1' }))
    await h.scheduler.add(item('a@x.io', { name: 'v2' }))
    await h.scheduler.add(item('b@x.io'))
    expect(h.jobs.map((j) => j.items[0]!.mapped.identifierValue)).toEqual(['a@x.io', 'b@x.io'])
    h.jobs[0]!.done()
    const flushed = h.scheduler.flush()
    for (let i = 0; i < 5; i++) await tick()
    expect(h.jobs).toHaveLength(3)
    expect((h.jobs[2]!.items[0]!.mapped.record as { name: string }).name).toBe('v2')
    for (const j of h.jobs.slice(1)) j.done()
    await flushed
  })

  it('sends records of different users that share a login ID in source order, whatever their identifier types, holding nothing else', async () => {
    const phone = '+14155550142'
    const phoneOnly = (number: string) => item(number, { email: undefined, phone_number: number }, 'phone_number')
    const sent = (h: ReturnType<typeof harness>) => h.jobs.map((j) => `${j.identifier}: ${j.items.map((x) => x.mapped.identifierValue).join(' ')}`)
    // An email user holding the phone as a second login ID, then a phone-only user of that phone:
    // the phone record is held until the email user's job has finished (it then finds that user).
    // Another phone-only user is not held.
    const h = harness({ maxRecords: 3, maxBytes: 10_000, lingerMs: 1000 }, 4)
    await h.scheduler.add(item('a@x.io', { phone_number: phone }))
    await h.scheduler.add(item('b@x.io'))
    await h.scheduler.add(phoneOnly(phone))
    await h.scheduler.add(phoneOnly('+14155550199'))
    const flushed = h.scheduler.flush()
    for (let i = 0; i < 5; i++) await tick()
    expect(sent(h)).toEqual(['email: a@x.io b@x.io', 'phone_number: +14155550199'])
    h.jobs[1]!.done()
    for (let i = 0; i < 5; i++) await tick()
    expect(sent(h)).toHaveLength(2)
    h.jobs[0]!.done()
    for (let i = 0; i < 5; i++) await tick()
    expect(sent(h)).toEqual(['email: a@x.io b@x.io', 'phone_number: +14155550199', `phone_number: ${phone}`])
    h.jobs[2]!.done()
    await flushed

    // The other way round: the email user adding that phone waits for the phone-only user's job.
    const r = harness({ maxRecords: 3, maxBytes: 10_000, lingerMs: 1000 }, 4)
    await r.scheduler.add(phoneOnly(phone))
    await r.scheduler.add(item('a@x.io', { phone_number: phone }))
    await r.scheduler.add(item('b@x.io'))
    const drained = r.scheduler.flush()
    for (let i = 0; i < 5; i++) await tick()
    expect(sent(r)).toEqual([`phone_number: ${phone}`, 'email: b@x.io'])
    r.jobs[0]!.done()
    r.jobs[1]!.done()
    for (let i = 0; i < 5; i++) await tick()
    expect(sent(r)).toEqual([`phone_number: ${phone}`, 'email: b@x.io', 'email: a@x.io'])
    r.jobs[2]!.done()
    await drained
  })

  it('does not hold versions of one user, nor users sharing only a second login ID, apart', async () => {
    const h = harness({ maxRecords: 3, maxBytes: 10_000, lingerMs: 1000 }, 4)
    await h.scheduler.add(item('a@x.io', { preferred_username: 'ana', name: 'v1' }))
    await h.scheduler.add(item('a@x.io', { preferred_username: 'ana', name: 'v2' }))
    await h.scheduler.add(item('c@x.io', { preferred_username: 'carl' }))
    expect(h.superseded.map((x) => (x.mapped.record as { name: string }).name)).toEqual(['v1'])
    // Two users carrying one username as a second login ID are not held apart (Authgear refuses
    // the second either way); a user whose identifier is that username is.
    await h.scheduler.add(item('d@x.io', { preferred_username: 'carl' }))
    await h.scheduler.add(item('carl', { email: undefined, preferred_username: 'carl' }, 'preferred_username'))
    const flushed = h.scheduler.flush()
    for (let i = 0; i < 5; i++) await tick()
    expect(h.jobs.map((j) => j.items.map((x) => x.mapped.identifierValue))).toEqual([['a@x.io', 'c@x.io', 'd@x.io']])
    h.jobs[0]!.done()
    for (let i = 0; i < 5; i++) await tick()
    expect(h.jobs.map((j) => j.items.map((x) => x.mapped.identifierValue))).toEqual([['a@x.io', 'c@x.io', 'd@x.io'], ['carl']])
    h.jobs[1]!.done()
    await flushed
  })

  it('under upsert, sends a record taking up a login ID an earlier user\'s newer version gives up only after that version: by its identifier it would land on that user, by a second login ID it would be refused', async () => {
    const sent = (h: ReturnType<typeof harness>) => h.jobs.map((j) => `${j.identifier}: ${j.items.map((x) => x.mapped.identifierValue).join(' ')}`)
    const settle = async () => { for (let i = 0; i < 8; i++) await tick() }
    // Cat gives up the username catty; Dan, a username-only user, is catty.
    const h = harness({ maxRecords: 3, maxBytes: 10_000, lingerMs: 1000 }, 4, true)
    await h.scheduler.add(item('cat@x.io', { preferred_username: 'catty', name: 'v1' }))
    const first = h.scheduler.flush()
    await settle()
    await h.scheduler.add(item('cat@x.io', { preferred_username: 'catnip', name: 'v2' }))
    await h.scheduler.add(item('catty', { email: undefined, preferred_username: 'catty' }, 'preferred_username'))
    const flushed = h.scheduler.flush()
    await settle()
    expect(sent(h)).toEqual(['email: cat@x.io'])
    h.jobs[0]!.done()
    await settle()
    // Cat's second version is out; Dan waits for it (sent beside it, its job might run first and find Cat by catty).
    expect(sent(h)).toEqual(['email: cat@x.io', 'email: cat@x.io'])
    h.jobs[1]!.done()
    await settle()
    expect(sent(h)).toEqual(['email: cat@x.io', 'email: cat@x.io', 'preferred_username: catty'])
    h.jobs[2]!.done()
    await Promise.all([first, flushed])

    // Ann gives up a phone Bea then has as a second login ID.
    const r = harness({ maxRecords: 3, maxBytes: 10_000, lingerMs: 1000 }, 4, true)
    await r.scheduler.add(item('ann@x.io', { phone_number: '+14155550101' }))
    const again = r.scheduler.flush()
    await settle()
    await r.scheduler.add(item('ann@x.io', { phone_number: '+14155550102' }))
    await r.scheduler.add(item('bea@x.io', { phone_number: '+14155550101' }))
    await r.scheduler.add(item('eve@x.io', { phone_number: '+14155550103' }))
    const drained = r.scheduler.flush()
    await settle()
    expect(sent(r)).toEqual(['email: ann@x.io', 'email: eve@x.io'])
    r.jobs[0]!.done()
    r.jobs[1]!.done()
    await settle()
    expect(sent(r)).toEqual(['email: ann@x.io', 'email: eve@x.io', 'email: ann@x.io'])
    r.jobs[2]!.done()
    await settle()
    expect(sent(r)).toEqual(['email: ann@x.io', 'email: eve@x.io', 'email: ann@x.io', 'email: bea@x.io'])
    r.jobs[3]!.done()
    await Promise.all([again, drained])
  })

  it('under upsert, lets go of a login ID a version carried for its user once that version, added again while out (a handover\'s resend), has finished both times', async () => {
    const h = harness({ maxRecords: 10, maxBytes: 100_000, lingerMs: 1 }, 4, true)
    const settle = async () => { for (let i = 0; i < 5; i++) await new Promise((r) => setTimeout(r, 5)) }
    const second = item('a@x.io', { name: 'v2' })
    await h.scheduler.add(item('a@x.io', { phone_number: '+85298765430' }))
    await settle()
    await h.scheduler.add(second)
    await settle()
    h.jobs[0]!.done()
    await settle()
    await h.scheduler.add(second)
    await settle()
    h.jobs[1]!.done()
    await settle()
    h.jobs[2]!.done()
    await settle()
    await h.scheduler.add(item('+85298765430', { email: undefined, phone_number: '+85298765430' }, 'phone_number'))
    await settle()
    // Before, the phone stayed carried for good and the phone-only user was never sent (flush spun for ever).
    expect(h.jobs.map((j) => j.items.map((x) => x.mapped.identifierValue))).toEqual([['a@x.io'], ['a@x.io'], ['a@x.io'], ['+85298765430']])
    h.jobs[3]!.done()
    await h.scheduler.flush()
  })

  it('keeps read order among held records however they were held: a record held when read does not pass an earlier one held when batched', async () => {
    const h = harness({ maxRecords: 2, maxBytes: 10_000, lingerMs: 1000 }, 4)
    // e@x.io v1 goes out; its v2 is held when its batch is dispatched (the user is locked).
    await h.scheduler.add(item('e@x.io', { name: 'v1' }))
    await h.scheduler.add(item('f@x.io'))
    await h.scheduler.add(item('e@x.io', { name: 'v2', preferred_username: 'eve' }))
    await h.scheduler.add(item('g@x.io'))
    // A later username-only user whose username e's v2 carries is held when read, behind e's held v2.
    await h.scheduler.add(item('eve', { email: undefined, preferred_username: 'eve' }, 'preferred_username'))
    const flushed = h.scheduler.flush()
    for (let i = 0; i < 5; i++) await tick()
    expect(h.jobs.map((j) => j.items.map((x) => x.mapped.identifierValue))).toEqual([['e@x.io', 'f@x.io'], ['g@x.io']])
    h.jobs[1]!.done()
    h.jobs[0]!.done()
    for (let i = 0; i < 5; i++) await tick()
    expect(h.jobs.map((j) => j.items.map((x) => x.mapped.identifierValue))).toEqual([['e@x.io', 'f@x.io'], ['g@x.io'], ['e@x.io']])
    h.jobs[2]!.done()
    for (let i = 0; i < 5; i++) await tick()
    expect(h.jobs.map((j) => j.items.map((x) => x.mapped.identifierValue)).at(-1)).toEqual(['eve'])
    h.jobs[3]!.done()
    await flushed
  })

  it('never runs more than max_in_flight jobs; add waits for a slot', async () => {
    const h = harness({ maxRecords: 1, maxBytes: 10_000, lingerMs: 1000 }, 2)
    await h.scheduler.add(item('a@x.io'))
    await h.scheduler.add(item('b@x.io'))
    let third = false
    const pending = h.scheduler.add(item('c@x.io')).then(() => { third = true })
    await tick()
    expect(third).toBe(false)
    expect(h.jobs).toHaveLength(2)
    h.jobs[0]!.done()
    await pending
    expect(h.jobs).toHaveLength(3)
    expect(h.peak()).toBe(2)
    const flushed = h.scheduler.flush()
    for (const j of h.jobs.slice(1)) j.done()
    await flushed
  })

  it('never lets a held older version replace a newer one already batched', async () => {
    const h = harness({ maxRecords: 3, maxBytes: 10_000, lingerMs: 10_000 }, 4)
    const name = (i: WorkItem) => (i.mapped.record as { name?: string }).name
    for (const [email, version] of [['a', 'A1'], ['b', 'B1'], ['c', 'C1'], ['a', 'A2'], ['d', 'D1'], ['e', 'E1'], ['a', 'A3']] as const) {
      const next = item(`${email}@x.io`, { name: version })
      if (!h.scheduler.offer(next)) await h.scheduler.add(next)
    }
    // A1 is in flight, A2 is held behind its lock (its batch went without it), A3 waits in an open batch.
    expect(h.jobs.map((j) => j.items.map(name))).toEqual([['A1', 'B1', 'C1'], ['D1', 'E1']])
    h.jobs[0]!.done()
    for (let i = 0; i < 5; i++) await tick()
    const flushed = h.scheduler.flush()
    for (let i = 0; i < 5; i++) await tick()
    expect(h.superseded.map(name)).toEqual(['A2'])
    expect(h.supersededBy.map((i) => i && name(i))).toEqual(['A3'])
    expect(h.jobs.slice(2).flatMap((j) => j.items.map(name))).toEqual(['A3'])
    for (const j of h.jobs.slice(1)) j.done()
    await flushed
  })

  it('never sends an older held version after a newer one, even when re-adding the held fills a batch', async () => {
    const h = harness({ maxRecords: 2, maxBytes: 10_000, lingerMs: 60_000 }, 2)
    const label = (i: WorkItem) => `${i.mapped.identifierValue[0]}${(i.mapped.record as { name?: string }).name}`
    // J1 = [w1, u1]; [w2, u2] goes while J1 holds both users, so both are held; u3 waits in an open batch.
    for (const [user, version] of [['w', '1'], ['u', '1'], ['w', '2'], ['u', '2'], ['u', '3']] as const) await h.scheduler.add(item(`${user}@x.io`, { name: version }))
    expect(h.jobs.map((j) => j.items.map(label))).toEqual([['w1', 'u1']])
    h.jobs[0]!.done()
    for (let i = 0; i < 5; i++) await tick()
    const flushed = h.scheduler.flush()
    for (let round = 0; round < 5; round++) {
      for (const j of h.jobs.slice(1)) j.done()
      await tick()
    }
    await flushed
    // u3 was batched while u2 waited: u2 is the older version, so it is superseded, never sent after u3.
    expect(h.superseded.map(label)).toEqual(['u2'])
    expect(h.jobs.map((j) => j.items.map(label))).toEqual([['w1', 'u1'], ['u3', 'w2']])
  })

  it('sends a record that changes a user\'s identifier only after that user\'s held versions', async () => {
    const h = harness({ maxRecords: 2, maxBytes: 10_000, lingerMs: 60_000 }, 2)
    const label = (i: WorkItem) => `${i.mapped.identifierValue}:${(i.mapped.record as { name?: string }).name}`
    for (const [user, version] of [['a', '1'], ['u', '1'], ['b', '1'], ['u', '2']] as const) await h.scheduler.add(item(`${user}@x.io`, { name: version }))
    // J1 = [a, u1], J2 = [b]; u2 is held behind J1.
    expect(h.jobs.map((j) => j.items.map(label))).toEqual([['a@x.io:1', 'u@x.io:1'], ['b@x.io:1']])
    // The user's email changes to u2@x.io: the record is matched by phone and locks both emails.
    const alone = h.scheduler.add(item('+85212345678', { name: '3' }, 'phone_number', ['u@x.io', 'u2@x.io']))
    await tick()
    h.jobs[1]!.done()
    await tick()
    h.jobs[0]!.done()
    for (let round = 0; round < 6; round++) {
      for (let i = 0; i < 3; i++) await tick()
      for (const j of h.jobs.slice(2)) j.done()
    }
    await alone
    const flushed = h.scheduler.flush()
    for (let i = 0; i < 3; i++) await tick()
    for (const j of h.jobs.slice(3)) j.done()
    await flushed
    expect(h.jobs.map((j) => j.items.map(label))).toEqual([['a@x.io:1', 'u@x.io:1'], ['b@x.io:1'], ['u@x.io:2'], ['+85212345678:3']])
  })

  it('sends identifier changes read one after another in one job, apart from the records around them', async () => {
    const h = harness({ maxRecords: 3, maxBytes: 10_000, lingerMs: 60_000 }, 4)
    const label = (i: WorkItem) => i.mapped.identifierValue
    const change = (user: string, from: string, to: string) => item(user, { name: to }, 'preferred_username', [from, to])
    await h.scheduler.add(item('a@x.io'))
    const first = h.scheduler.add(change('ann', 'ann@old.io', 'ann@new.io'))
    await tick()
    // The change waits for everything read before it.
    expect(h.jobs.map((j) => j.items.map(label))).toEqual([['a@x.io']])
    h.jobs[0]!.done()
    await first
    // Changes of other users join it; the third fills the job, which still waits for the next
    // record (a change read next may give up a login ID one of them takes, and go first).
    await h.scheduler.add(change('bob', 'bob@old.io', 'bob@new.io'))
    await h.scheduler.add(change('cat', 'cat@old.io', 'cat@new.io'))
    await tick()
    expect(h.jobs.map((j) => j.items.map(label))).toEqual([['a@x.io']])
    // dan's change does not fit: the full batch goes, and add waits for that job to finish.
    const next = h.scheduler.add(change('dan', 'dan@old.io', 'dan@new.io'))
    await tick()
    expect(h.jobs.map((j) => j.items.map(label))).toEqual([['a@x.io'], ['ann', 'bob', 'cat']])
    h.jobs[1]!.done()
    await next
    // dan changes again: the second shares a login ID with the open batch, so that batch goes first.
    const again = h.scheduler.add(change('dan', 'dan@new.io', 'dan@newer.io'))
    await tick()
    expect(h.jobs.map((j) => j.items.map(label)).slice(2)).toEqual([['dan']])
    h.jobs[2]!.done()
    await again
    // A plain record read after the changes waits until their job has finished.
    const plain = h.scheduler.add(item('e@x.io'))
    await tick()
    expect(h.jobs.map((j) => j.items.map(label)).slice(3)).toEqual([['dan']])
    expect(h.scheduler.offer(item('f@x.io'))).toBe(false)
    h.jobs[3]!.done()
    await plain
    const flushed = h.scheduler.flush()
    await tick()
    expect(h.jobs.map((j) => j.items.map(label)).slice(4)).toEqual([['e@x.io']])
    h.jobs[4]!.done()
    await flushed
  })

  it('never lets a later record pass an identifier change that meets an earlier record of its user', async () => {
    const h = harness({ maxRecords: 10, maxBytes: 10_000, lingerMs: 5 }, 2)
    const label = (i: WorkItem) => (i.mapped.record as { name?: string }).name
    // A's update (username ua as a second login ID), then A's email change matched by ua, then a new user taking A's old email.
    await h.scheduler.add(item('a@x.io', { preferred_username: 'ua', name: 'A v2' }))
    const change = h.scheduler.add(item('ua', { email: 'b@x.io', preferred_username: 'ua', name: 'A moved' }, 'preferred_username', ['a@x.io', 'b@x.io']))
    const carol = h.scheduler.add(item('a@x.io', { name: 'Carol' }))
    for (let round = 0; round < 20 && h.jobs.length < 3; round++) {
      await new Promise((r) => setTimeout(r, 10))
      for (const j of h.jobs) j.done()
    }
    await Promise.all([change, carol])
    const flushed = h.scheduler.flush()
    for (let round = 0; round < 5; round++) {
      await tick()
      for (const j of h.jobs) j.done()
    }
    await flushed
    expect(h.superseded).toEqual([])
    expect(h.jobs.map((j) => j.items.map(label))).toEqual([['A v2'], ['A moved'], ['Carol']])
  })

  it('sends a change giving up the login ID an earlier-read change takes before it (a handover in one write), and a swap in read order', async () => {
    const label = (i: WorkItem) => i.mapped.identifierValue
    // matched by the unchanged username, the email moving from `from` to `to`
    const change = (user: string, from: string, to: string) => item(user, { email: to, preferred_username: user }, 'preferred_username', [from, to])
    const run = async (changes: WorkItem[], maxRecords = 10) => {
      const h = harness({ maxRecords, maxBytes: 10_000, lingerMs: 60_000 }, 4)
      const added = (async () => {
        for (const c of changes) await h.scheduler.add(c)
      })()
      const flushed = added.then(() => h.scheduler.flush())
      for (let round = 0; round < 8; round++) {
        for (let i = 0; i < 3; i++) await tick()
        for (const j of h.jobs) j.done()
      }
      await flushed
      return h.jobs.map((j) => j.items.map(label))
    }
    // bob (read first, lower key) takes alice@; alice gives it up for alice.new@: alice goes first.
    expect(await run([change('bob', 'bob@x.io', 'alice@x.io'), change('alice', 'alice@x.io', 'alice.new@x.io')])).toEqual([['alice'], ['bob']])
    // A swap through a third address: each takes what the other gives up; neither can go first.
    expect(await run([change('bob', 'bob@x.io', 'alice@x.io'), change('alice', 'alice@x.io', 'bob@x.io')])).toEqual([['bob'], ['alice']])
    // Changes sharing nothing stay in one job.
    expect(await run([change('bob', 'bob@x.io', 'bob2@x.io'), change('alice', 'alice@x.io', 'alice2@x.io')])).toEqual([['bob', 'alice']])
    // The taker's batch full (here at one record) still waits for the giver read right after it.
    expect(await run([change('bob', 'bob@x.io', 'alice@x.io'), change('alice', 'alice@x.io', 'alice.new@x.io')], 1)).toEqual([['alice'], ['bob']])
    expect(await run([change('zed', 'zed@x.io', 'zed2@x.io'), change('bob', 'bob@x.io', 'alice@x.io'), change('alice', 'alice@x.io', 'alice.new@x.io')], 2)).toEqual([['alice'], ['zed', 'bob']])
  })

  it('makes nothing durable past a handover\'s takers when their giver is sent ahead of them', async () => {
    // Kafka commits offsets around a batch of changes (aroundApart); the giver, read after the
    // taker, goes first: a commit past the giver would skip the taker if the run stopped then.
    const change = (user: string, from: string, to: string) => item(user, { email: to, preferred_username: user }, 'preferred_username', [from, to])
    const calls = await commitsAround([change('bob', 'bob@x.io', 'alice@x.io'), change('alice', 'alice@x.io', 'alice.new@x.io')])
    expect(calls).toEqual(['before bob,alice', 'job alice', 'before bob', 'job bob', 'after bob'])
  })

  it('sends a record taking up a deleted row\'s login ID apart, once the delete has finished, and durable around it', async () => {
    // Kafka commits past the delete before the taker is sent (aroundApart): read again after a
    // crash, the delete would find the taker's user by the login ID and delete it.
    const named = (i: WorkItem) => `${i.mapped.action ?? 'import'} ${i.mapped.identifierValue}${i.mapped.afterDeletes ? ` after ${i.mapped.afterDeletes.join(',')}` : ''}`
    const calls = await commitsAround([item('zed@x.io'), removal('ann@x.io'), takingFrom('ann@x.io', ['users/0/7']), item('cat@x.io')], { named })
    // Read again, it is only sent again: nothing to commit past it before the next.
    expect(calls).toEqual(['job import zed@x.io,delete ann@x.io', 'before import ann@x.io after users/0/7', 'job import ann@x.io after users/0/7', 'job import cat@x.io'])
  })

  it('batches a record taking up a deleted row\'s login ID as usual once the source has that delete durable', async () => {
    const calls = await commitsAround([item('zed@x.io'), takingFrom('ann@x.io', ['users/0/7']), takingFrom('bob@x.io', ['users/0/7', 'users/1/3']), item('cat@x.io')], { durable: (key) => key === 'users/0/7' })
    // Ann's delete is committed past: she joins Zed. Bob's other delete is not: he goes apart.
    expect(calls).toEqual(['job zed@x.io,ann@x.io', 'before bob@x.io', 'job bob@x.io', 'job cat@x.io'])
  })

  it('sends an open batch of identifier changes after the linger time, and batches nothing beside it', async () => {
    const h = harness({ maxRecords: 100, maxBytes: 10_000, lingerMs: 15 }, 4)
    await h.scheduler.add(item('ann', {}, 'preferred_username', ['ann@old.io', 'ann@new.io']))
    await h.scheduler.add(item('bob', {}, 'preferred_username', ['bob@old.io', 'bob@new.io']))
    expect(h.jobs).toHaveLength(0)
    await new Promise((r) => setTimeout(r, 60))
    expect(h.jobs.map((j) => j.items.map((i) => i.mapped.identifierValue))).toEqual([['ann', 'bob']])
    let added = false
    const plain = h.scheduler.add(item('c@x.io')).then(() => (added = true))
    await new Promise((r) => setTimeout(r, 30))
    expect(added).toBe(false)
    h.jobs[0]!.done()
    await plain
    const flushed = h.scheduler.flush()
    await tick()
    h.jobs[1]!.done()
    await flushed
    expect(h.jobs.map((j) => j.items.map((i) => i.mapped.identifierValue))).toEqual([['ann', 'bob'], ['c@x.io']])
  })

  it('sends a partly filled batch after the linger time', async () => {
    const h = harness({ maxRecords: 100, maxBytes: 10_000, lingerMs: 15 })
    await h.scheduler.add(item('a@x.io'))
    expect(h.jobs).toHaveLength(0)
    await new Promise((r) => setTimeout(r, 60))
    expect(h.jobs).toHaveLength(1)
    h.jobs[0]!.done()
    await h.scheduler.flush()
  })

  it('fails a job whose runner throws before returning its promise, instead of waiting for it for ever', async () => {
    const scheduler = new ImportScheduler({ policy: { maxRecords: 10, maxBytes: 10_000, lingerMs: 20 }, upsert: false, maxInFlight: 2, onSuperseded: () => undefined, run: () => { throw new Error('database is locked') } })
    await scheduler.add(item('a@x.io'))
    await scheduler.flush()
    expect(scheduler.inFlight).toBe(0)
    expect(String(scheduler.fatal)).toContain('database is locked')
  })

  it('surfaces a job\'s fatal error on the next add and stops dispatching', async () => {
    const scheduler = new ImportScheduler({
      policy: { maxRecords: 1, maxBytes: 10_000, lingerMs: 1000 },
      upsert: false,
      maxInFlight: 1,
      onSuperseded: () => undefined,
      run: () => Promise.reject(new Error('quota')),
    })
    await scheduler.add(item('a@x.io'))
    await tick()
    await expect(scheduler.add(item('b@x.io'))).rejects.toThrow('quota')
    await scheduler.drain()
    expect(scheduler.inFlight).toBe(0)
  })

  it('a stop before the source\'s end leaves an open batch of identifier changes unsent, for the next run to read again with the change that may give up its login ID', async () => {
    const h = harness({ maxRecords: 10, maxBytes: 10_000, lingerMs: 60_000 }, 2)
    await h.scheduler.add(item('plain@x.io'))
    // Row 25 takes e118's email; row 118's change giving it up is next on the page, unread at the stop.
    const change = h.scheduler.add(item('u25', { email: 'e118@x.io' }, 'preferred_username', ['e25@x.io', 'e118@x.io']))
    // The change waits for everything read before it, which goes first.
    await tick()
    expect(h.jobs.map((j) => j.items.map((i) => i.mapped.identifierValue))).toEqual([['plain@x.io']])
    h.jobs[0]!.done()
    await change
    await h.scheduler.flush({ keepChanges: true })
    expect(h.jobs).toHaveLength(1)
    // At the source's end everything read is sent.
    const end = harness({ maxRecords: 10, maxBytes: 10_000, lingerMs: 60_000 }, 2)
    await end.scheduler.add(item('u25', { email: 'e118@x.io' }, 'preferred_username', ['e25@x.io', 'e118@x.io']))
    const all = end.scheduler.flush()
    await tick()
    expect(end.jobs.map((j) => j.items.map((i) => i.mapped.identifierValue))).toEqual([['u25']])
    end.jobs[0]!.done()
    await all
  })
})
