import { describe, expect, it } from 'vitest'
import { createKafkaMapping } from '../../../../connectors/kafka/mapping.ts'
import { kafkaSourceConfigSchema } from '../../../../connectors/kafka/config.ts'
import { decodeMessage } from '../../../../connectors/kafka/message-decoder.ts'
import { mappingConfigSchema } from '../../../../mappings/config.ts'
import type { ReadableRecord } from '../../../../src/core/source-record.ts'

const source = kafkaSourceConfigSchema.parse({ type: 'kafka', brokers: 'b:9092', topics: 'db.public.users', group_id: 'g', format: 'debezium', record_mapping: 'sql', columns: { email: 'email', username: 'username', name: 'name' } })
const map = createKafkaMapping(source, mappingConfigSchema.parse({}))
let offset = 0
function message(value: unknown) {
  return decodeMessage({ topic: 'db.public.users', partition: 0, offset: offset++, value: value === null ? null : Buffer.from(JSON.stringify(value)) }, 'debezium')
}
const row = (id: number, email: string, username?: string) => ({ id, email, ...(username ? { username } : {}), name: `N${id}` })

describe('Debezium change events', () => {
  it('refuses a new row taking a login ID of a row deleted while its user is kept (deletes.policy ignore or disable), not the same row back, and not under delete', () => {
    const keyed = (key: number, value: unknown, headers?: Record<string, Buffer>[]) => decodeMessage({ topic: 'db.public.users', partition: 0, offset: offset++, key: Buffer.from(JSON.stringify({ id: key })), value: Buffer.from(JSON.stringify(value)), ...(headers ? { headers } : {}) }, 'debezium') as ReadableRecord
    for (const policy of ['disable', 'ignore'] as const) {
      const kept = createKafkaMapping(kafkaSourceConfigSchema.parse({ ...source, deletes: { policy } }), mappingConfigSchema.parse({}))
      expect(kept(keyed(1, { op: 'c', before: null, after: row(1, 'ann@example.com', 'ann') })).ok).toBe(true)
      expect(kept(keyed(1, { op: 'd', before: row(1, 'ann@example.com', 'ann'), after: null })).ok).toBe(true)
      // Another person registering the email again: matched to Ann's kept user by it, it would take it over.
      const byEmail = kept(keyed(2, { op: 'c', before: null, after: row(2, 'ann@example.com', 'zed') }))
      expect(byEmail).toMatchObject({ ok: false, rejection: { code: 'login_id_held', message: expect.stringContaining(`email ann@example.com was the row keyed {"id":1}'s, deleted in the source, whose user Authgear keeps if it was imported (deletes.policy: ${policy})`) } })
      // Produced again once that user is dealt with, it goes through.
      expect(kept(keyed(2, { op: 'c', before: null, after: row(2, 'ann@example.com', 'zed') })).ok).toBe(true)
      // Another of its login IDs held by the kept user: Authgear refuses the record itself (InvariantViolated).
      expect(kept(keyed(3, { op: 'c', before: null, after: row(3, 'zoe@example.com', 'ann') })).ok).toBe(true)
      // The row restored (its primary key back) has its user again.
      kept(keyed(7, { op: 'd', before: row(7, 'gil@example.com'), after: null }))
      expect(kept(keyed(7, { op: 'c', before: null, after: row(7, 'gil@example.com') })).ok).toBe(true)
      expect(kept(keyed(8, { op: 'c', before: null, after: row(8, 'gil@example.com') })).ok).toBe(true)
      // A primary-key change (UPDATE … SET id), which Debezium sends as a delete and a create marked with the other key, is the same row.
      const oldKey = Buffer.from(JSON.stringify({ id: 9 }))
      const newKey = Buffer.from(JSON.stringify({ id: 900 }))
      kept(keyed(9, { op: 'd', before: row(9, 'hal@example.com'), after: null }, [{ '__debezium.newkey': newKey }]))
      expect(kept(keyed(900, { op: 'c', before: null, after: row(900, 'hal@example.com') }, [{ '__debezium.oldkey': oldKey }])).ok).toBe(true)
      // Its user lives on under the new key: nothing is held for the old one any more.
      expect(kept(keyed(901, { op: 'c', before: null, after: row(901, 'hal@example.com') })).ok).toBe(true)
      // Marked on the create alone, it is the same row too.
      kept(keyed(10, { op: 'd', before: row(10, 'ida@example.com'), after: null }))
      expect(kept(keyed(1000, { op: 'c', before: null, after: row(1000, 'ida@example.com') }, [{ '__debezium.oldkey': Buffer.from(JSON.stringify({ id: 10 })) }])).ok).toBe(true)
    }
    const deleting = createKafkaMapping(kafkaSourceConfigSchema.parse({ ...source, deletes: { policy: 'delete' } }), mappingConfigSchema.parse({}))
    deleting(keyed(5, { op: 'd', before: row(5, 'bo@example.com'), after: null }))
    expect(deleting(keyed(6, { op: 'c', before: null, after: row(6, 'bo@example.com') })).ok).toBe(true)
  })

  it('under deletes.policy delete, names the delete a later record takes a login ID from (committed past before that record is sent), once', () => {
    const deleting = createKafkaMapping(kafkaSourceConfigSchema.parse({ ...source, deletes: { policy: 'delete' } }), mappingConfigSchema.parse({}))
    const at = (partition: number, value: unknown) => {
      const record = decodeMessage({ topic: 'db.public.users', partition, offset: offset++, value: Buffer.from(JSON.stringify(value)) }, 'debezium') as ReadableRecord
      return { key: record.key, result: deleting(record) }
    }
    const gone = at(0, { op: 'd', before: row(1, 'ann@example.com', 'ann'), after: null })
    expect(gone.result).toMatchObject({ ok: true, value: { action: 'delete' } })
    // By its email (its identifier) and by its username, in another partition: each names the delete.
    const byEmail = at(1, { op: 'c', before: null, after: row(2, 'ann@example.com', 'bea') })
    expect(byEmail.result).toMatchObject({ ok: true, value: { afterDeletes: [gone.key] } })
    const byUsername = at(1, { op: 'c', before: null, after: row(3, 'cat@example.com', 'ann') })
    expect(byUsername.result).toMatchObject({ ok: true, value: { afterDeletes: [gone.key] } })
    // Their later versions, and rows taking nothing up, wait for nothing.
    const later = at(1, { op: 'u', before: row(2, 'ann@example.com', 'bea'), after: { ...row(2, 'ann@example.com', 'bea'), name: 'renamed' } })
    expect(later.result.ok && later.result.value.afterDeletes).toBeUndefined()
    const other = at(0, { op: 'c', before: null, after: row(4, 'dan@example.com') })
    expect(other.result.ok && other.result.value.afterDeletes).toBeUndefined()
    // A row the mapping refuses names nothing, and leaves the login ID for the next one.
    deleting(decodeMessage({ topic: 'db.public.users', partition: 0, offset: offset++, value: Buffer.from(JSON.stringify({ op: 'd', before: row(5, 'eve@example.com'), after: null })) }, 'debezium') as ReadableRecord)
    expect(at(1, { op: 'c', before: null, after: { id: 6, email: 'eve at example', username: 'eve@example.com', name: 'x' } }).result.ok).toBe(false)
    expect(at(1, { op: 'c', before: null, after: row(7, 'eve@example.com') }).result).toMatchObject({ ok: true, value: { afterDeletes: [expect.stringMatching(/^db\.public\.users\/0\/\d+$/)] } })
    // Not under the policies that keep the user: there the delete deletes nothing.
    const disabling = createKafkaMapping(kafkaSourceConfigSchema.parse({ ...source, deletes: { policy: 'disable' } }), mappingConfigSchema.parse({}))
    disabling(decodeMessage({ topic: 'db.public.users', partition: 0, offset: offset++, value: Buffer.from(JSON.stringify({ op: 'd', before: row(8, 'fay@example.com', 'fay'), after: null })) }, 'debezium') as ReadableRecord)
    const taken = disabling(decodeMessage({ topic: 'db.public.users', partition: 0, offset: offset++, value: Buffer.from(JSON.stringify({ op: 'c', before: null, after: row(9, 'gus@example.com', 'fay') })) }, 'debezium') as ReadableRecord)
    expect(taken.ok && taken.value.afterDeletes).toBeUndefined()
  })

  it('under deletes.policy delete or disable, leaves the user of a delete to another row whose latest record read has its identifier (read first from another partition, or a second row of one account)', () => {
    const at = (mapping: ReturnType<typeof createKafkaMapping>, partition: number, key: number | undefined, value: unknown) =>
      mapping(decodeMessage({ topic: 'db.public.users', partition, offset: offset++, ...(key !== undefined ? { key: Buffer.from(JSON.stringify({ id: key })) } : {}), value: Buffer.from(JSON.stringify(value)) }, 'debezium') as ReadableRecord)
    for (const policy of ['delete', 'disable'] as const) {
      const mapping = createKafkaMapping(kafkaSourceConfigSchema.parse({ ...source, deletes: { policy } }), mappingConfigSchema.parse({}))
      at(mapping, 0, 1, { op: 'r', before: null, after: row(1, 'ann@example.com') })
      // Row 2 registers Ann's email again; its create (partition 1) is read before row 1's delete (partition 0).
      at(mapping, 1, 2, { op: 'c', before: null, after: row(2, 'ann@example.com') })
      expect(at(mapping, 0, 1, { op: 'd', before: row(1, 'ann@example.com'), after: null })).toMatchObject({ ok: true, value: { action: 'delete', sharedWith: { row: '{"id":2}', record: expect.stringMatching(/^db\.public\.users\/1\/\d+$/), last: true } } })
      // Row 2 deleted too: nobody else has the email, the user goes.
      const gone = at(mapping, 1, 2, { op: 'd', before: row(2, 'ann@example.com'), after: null })
      expect(gone).toMatchObject({ ok: true, value: { action: 'delete' } })
      expect(gone.ok && gone.value.sharedWith).toBeUndefined()
      // A row that moved on to another login ID (its email changed, matched by its username) no longer holds the old email.
      at(mapping, 0, 3, { op: 'c', before: null, after: row(3, 'cy@example.com', 'cy') })
      at(mapping, 0, 3, { op: 'u', before: row(3, 'cy@example.com', 'cy'), after: row(3, 'cy.new@example.com', 'cy') })
      at(mapping, 1, 4, { op: 'c', before: null, after: row(4, 'cy@example.com') })
      const moved = at(mapping, 1, 4, { op: 'd', before: row(4, 'cy@example.com'), after: null })
      expect(moved.ok && moved.value.sharedWith).toBeUndefined()
      // Two rows of one account: the first delete leaves the user to the other row, the second deletes it.
      at(mapping, 0, 5, { op: 'c', before: null, after: row(5, 'dup@example.com') })
      at(mapping, 1, 6, { op: 'c', before: null, after: row(6, 'dup@example.com') })
      expect(at(mapping, 0, 5, { op: 'd', before: row(5, 'dup@example.com'), after: null })).toMatchObject({ ok: true, value: { sharedWith: { row: '{"id":6}' } } })
      const last = at(mapping, 1, 6, { op: 'd', before: row(6, 'dup@example.com'), after: null })
      expect(last.ok && last.value.sharedWith).toBeUndefined()
      // The deleted row changed after the other row's record was read: that change is on the user (last: false).
      at(mapping, 1, 10, { op: 'c', before: null, after: row(10, 'lee@example.com') })
      at(mapping, 0, 9, { op: 'u', before: row(9, 'lee@example.com'), after: { ...row(9, 'lee@example.com'), name: 'later' } })
      expect(at(mapping, 0, 9, { op: 'd', before: row(9, 'lee@example.com'), after: null })).toMatchObject({ ok: true, value: { sharedWith: { row: '{"id":10}', last: false } } })
      // A primary-key change deletes nothing, whichever of its two events is read first.
      const oldKey = Buffer.from(JSON.stringify({ id: 11 }))
      const keyChange = mapping(decodeMessage({ topic: 'db.public.users', partition: 0, offset: offset++, key: oldKey, value: Buffer.from(JSON.stringify({ op: 'd', before: row(11, 'max@example.com'), after: null })), headers: [{ '__debezium.newkey': Buffer.from(JSON.stringify({ id: 110 })) }] }, 'debezium') as ReadableRecord)
      expect(keyChange).toMatchObject({ ok: true, value: { action: 'delete', keyChangedTo: '{"id":110}' } })
      // Messages without a key (a table without a primary key) name no row.
      at(mapping, 0, undefined, { op: 'c', before: null, after: row(7, 'kay@example.com') })
      const keyless = at(mapping, 1, undefined, { op: 'd', before: row(8, 'kay@example.com'), after: null })
      expect(keyless.ok && keyless.value.sharedWith).toBeUndefined()
    }
    // Under disable, a new row with the deleted row's email is refused even when the delete may have
    // left the user to another row (only the report says whether it did): the message says how to tell.
    const disabledAfterShare = () => {
      const disabling = createKafkaMapping(kafkaSourceConfigSchema.parse({ ...source, deletes: { policy: 'disable' } }), mappingConfigSchema.parse({}))
      at(disabling, 0, 1, { op: 'r', before: null, after: row(1, 'ann@example.com', 'ann') })
      at(disabling, 1, 2, { op: 'c', before: null, after: row(2, 'ann@example.com', 'zed') })
      expect(at(disabling, 0, 1, { op: 'd', before: row(1, 'ann@example.com', 'ann'), after: null })).toMatchObject({ ok: true, value: { sharedWith: { row: '{"id":2}' } } })
      return disabling
    }
    expect(at(disabledAfterShare(), 1, 2, { op: 'r', before: null, after: row(2, 'ann@example.com', 'zed') })).toMatchObject({ ok: false, rejection: { code: 'login_id_held', message: expect.stringContaining('this row was read before that delete and holds that user if its import was applied (the delete then left the user to it: delete_shared in the report), so if the report says so, just produce this row\'s change again') } })
    expect(at(disabledAfterShare(), 1, 3, { op: 'c', before: null, after: row(3, 'ann@example.com', 'kim') })).toMatchObject({ ok: false, rejection: { code: 'login_id_held', message: expect.stringContaining('the row keyed {"id":2}, read before that delete, had it too and holds that user if its import was applied') } })
    // Under ignore the delete acts on no user.
    const ignoring = createKafkaMapping(kafkaSourceConfigSchema.parse({ ...source, deletes: { policy: 'ignore' } }), mappingConfigSchema.parse({}))
    at(ignoring, 1, 2, { op: 'c', before: null, after: row(2, 'ann@example.com') })
    const ignored = at(ignoring, 0, 1, { op: 'd', before: row(1, 'ann@example.com'), after: null })
    expect(ignored.ok && ignored.value.sharedWith).toBeUndefined()
  })

  it('under deletes.policy delete or disable, follows a primary-key change that also changes the identifier as an update would', () => {
    const event = (mapping: ReturnType<typeof createKafkaMapping>, partition: number, key: number, value: unknown, header?: Record<string, Buffer>) =>
      mapping(decodeMessage({ topic: 'db.public.users', partition, offset: offset++, key: Buffer.from(JSON.stringify({ id: key })), value: Buffer.from(JSON.stringify(value)), ...(header ? { headers: [header] } : {}) }, 'debezium') as ReadableRecord)
    const keyChange = (mapping: ReturnType<typeof createKafkaMapping>, from: number, to: number, before: object, after: object, createFirst = false) => {
      const remove = () => event(mapping, 0, from, { op: 'd', before, after: null }, { '__debezium.newkey': Buffer.from(JSON.stringify({ id: to })) })
      const create = () => event(mapping, 1, to, { op: 'c', before: null, after }, { '__debezium.oldkey': Buffer.from(JSON.stringify({ id: from })) })
      if (createFirst) {
        const created = create()
        return { removed: remove(), created }
      }
      const removed = remove()
      return { removed, created: create() }
    }
    for (const policy of ['delete', 'disable'] as const) {
      const mapping = createKafkaMapping(kafkaSourceConfigSchema.parse({ ...source, deletes: { policy } }), mappingConfigSchema.parse({}))
      // The same email: nothing deleted, the create updates the same user.
      const same = keyChange(mapping, 1, 10, row(1, 'ann@example.com', 'ann'), row(10, 'ann@example.com', 'ann'))
      expect(same.removed).toMatchObject({ ok: true, value: { action: 'delete', keyChangedTo: '{"id":10}' } })
      expect(same.created).toMatchObject({ ok: true, value: { identifier: 'email', identifierValue: 'ann@example.com' } })
      // A new email and the same username: matched by the username, as an update's change is.
      const byUsername = keyChange(mapping, 2, 20, row(2, 'bo@example.com', 'bobby'), row(20, 'bo.new@example.com', 'bobby'))
      expect(byUsername.removed).toMatchObject({ ok: true, value: { keyChangedTo: '{"id":20}' } })
      expect(byUsername.created).toMatchObject({ ok: true, value: { identifier: 'preferred_username', identifierValue: 'bobby', earlierLogins: { email: 'bo@example.com' } } })
      // A new email and nothing else to match by: sent only if a user holds it by then, never a second user.
      const alone = keyChange(mapping, 3, 30, row(3, 'cy@example.com'), row(30, 'cy.new@example.com'))
      expect(alone.created).toMatchObject({ ok: true, value: { identifierValue: 'cy.new@example.com', changedFrom: { identifierValue: 'cy@example.com' } } })
      // The create read first with a new email got a user of its own: the old one is deleted as usual.
      const first = keyChange(mapping, 4, 40, row(4, 'di@example.com'), row(40, 'di.new@example.com'), true)
      expect(first.created).toMatchObject({ ok: true, value: { identifierValue: 'di.new@example.com' } })
      expect(first.removed.ok && first.removed.value.keyChangedTo).toBeUndefined()
      const firstSame = keyChange(mapping, 5, 50, row(5, 'ed@example.com'), row(50, 'ed@example.com'), true)
      expect(firstSame.removed).toMatchObject({ ok: true, value: { keyChangedTo: '{"id":50}' } })
      // Another row of the same account read before: the key change passes over it, no conflict.
      event(mapping, 1, 7, { op: 'c', before: null, after: row(7, 'gil@example.com') })
      event(mapping, 0, 8, { op: 'c', before: null, after: row(8, 'gil@example.com') })
      const beside = keyChange(mapping, 8, 80, row(8, 'gil@example.com'), row(80, 'gil@example.com'))
      expect(beside.removed.ok && beside.removed.value.keyChangedTo).toBe('{"id":80}')
      expect(beside.removed.ok && beside.removed.value.sharedWith).toBeUndefined()
      // The key changed after an email change was dead-lettered: judged against the email Authgear holds, under the new key too.
      event(mapping, 0, 6, { op: 'u', before: row(6, 'fi@example.com'), after: row(6, 'fi.new@example.com') })
      const afterRefused = keyChange(mapping, 6, 60, row(6, 'fi.new@example.com'), row(60, 'fi.new@example.com'))
      expect(afterRefused.removed).toMatchObject({ ok: true, value: { keyChangedTo: '{"id":60}', identifierValue: 'fi@example.com' } })
      expect(afterRefused.created).toMatchObject({ ok: true, value: { identifierValue: 'fi.new@example.com', changedFrom: { identifierValue: 'fi@example.com' } } })
      expect(event(mapping, 1, 60, { op: 'u', before: row(60, 'fi.new@example.com'), after: { ...row(60, 'fi.new@example.com'), name: 'later' } })).toMatchObject({ ok: true, value: { changedFrom: { identifierValue: 'fi@example.com' } } })
    }
  })

  it('under deletes.policy delete or disable, a row whose primary key changed still holds its user for other rows\' deletes, through each key it moves to', () => {
    const event = (mapping: ReturnType<typeof createKafkaMapping>, partition: number, key: number, value: unknown, header?: Record<string, Buffer>) => {
      const record = decodeMessage({ topic: 'db.public.users', partition, offset: offset++, key: Buffer.from(JSON.stringify({ id: key })), value: Buffer.from(JSON.stringify(value)), ...(header ? { headers: [header] } : {}) }, 'debezium') as ReadableRecord
      return { key: record.key, result: mapping(record) }
    }
    const newKey = (id: number) => ({ '__debezium.newkey': Buffer.from(JSON.stringify({ id })) })
    const oldKey = (id: number) => ({ '__debezium.oldkey': Buffer.from(JSON.stringify({ id })) })
    for (const policy of ['delete', 'disable'] as const) {
      const mapping = createKafkaMapping(kafkaSourceConfigSchema.parse({ ...source, deletes: { policy } }), mappingConfigSchema.parse({}))
      // Row 1 is deleted and row 2 created with its email, read first (applied to row 1's user);
      // then row 2's key changes to 3, whose create lags; then row 1's delete is read.
      event(mapping, 0, 1, { op: 'c', before: null, after: row(1, 'ann@example.com') })
      const recreated = event(mapping, 1, 2, { op: 'c', before: null, after: row(2, 'ann@example.com') })
      expect(event(mapping, 1, 2, { op: 'd', before: row(2, 'ann@example.com'), after: null }, newKey(3)).result).toMatchObject({ ok: true, value: { keyChangedTo: '{"id":3}' } })
      // Before, the key change dropped row 2 and row 1's delete found nobody holding the email: it deleted the user.
      expect(event(mapping, 0, 1, { op: 'd', before: row(1, 'ann@example.com'), after: null }).result).toMatchObject({ ok: true, value: { action: 'delete', sharedWith: { row: '{"id":3}', record: recreated.key, last: true } } })
      // Its create, read at last: imported under delete; under disable refused once, as any new row
      // with a deleted row's email is, with a message saying how to tell from the report.
      const created = event(mapping, 2, 3, { op: 'c', before: null, after: row(3, 'ann@example.com') }, oldKey(2))
      if (policy === 'delete') expect(created.result).toMatchObject({ ok: true, value: { identifierValue: 'ann@example.com' } })
      else expect(created.result).toMatchObject({ ok: false, rejection: { code: 'login_id_held', message: expect.stringContaining('delete_shared in the report') } })

      // Row 10's key changes to 11, then to 12 (both creates read); then a change of row 10 read
      // late (applied over the user) and its delete marked with the first new key.
      for (const createsFirst of [false, true]) {
        const base = createsFirst ? 100 : 10
        const email = `bo${base}@example.com`
        event(mapping, 0, base, { op: 'c', before: null, after: row(base, email) })
        if (createsFirst) {
          event(mapping, 1, base + 1, { op: 'c', before: null, after: row(base + 1, email) }, oldKey(base))
          event(mapping, 2, base + 2, { op: 'c', before: null, after: row(base + 2, email) }, oldKey(base + 1))
          event(mapping, 1, base + 1, { op: 'd', before: row(base + 1, email), after: null }, newKey(base + 2))
        } else {
          event(mapping, 1, base + 1, { op: 'c', before: null, after: row(base + 1, email) }, oldKey(base))
          event(mapping, 1, base + 1, { op: 'd', before: row(base + 1, email), after: null }, newKey(base + 2))
          event(mapping, 2, base + 2, { op: 'c', before: null, after: row(base + 2, email) }, oldKey(base + 1))
        }
        event(mapping, 0, base, { op: 'u', before: row(base, email), after: { ...row(base, email), name: 'late' } })
        // The user holds row 10's late change: said (delete_conflict naming row 12), not passed over.
        expect(event(mapping, 0, base, { op: 'd', before: { ...row(base, email), name: 'late' }, after: null }, newKey(base + 1)).result).toMatchObject({ ok: true, value: { keyChangedTo: `{"id":${base + 1}}`, sharedWith: { row: `{"id":${base + 2}}`, last: false } } })
      }
    }
  })

  it('under deletes.policy delete or disable, follows a row through its keys only by the creates marked with its old key (no phantom holder, no earlier row of a reused key)', () => {
    const event = (mapping: ReturnType<typeof createKafkaMapping>, partition: number, key: number, value: unknown, header?: Record<string, Buffer>) =>
      mapping(decodeMessage({ topic: 'db.public.users', partition, offset: offset++, key: Buffer.from(JSON.stringify({ id: key })), value: Buffer.from(JSON.stringify(value)), ...(header ? { headers: [header] } : {}) }, 'debezium') as ReadableRecord)
    const newKey = (id: number) => ({ '__debezium.newkey': Buffer.from(JSON.stringify({ id })) })
    const oldKey = (id: number) => ({ '__debezium.oldkey': Buffer.from(JSON.stringify({ id })) })
    const sharedWith = (result: ReturnType<ReturnType<typeof createKafkaMapping>>) => (result.ok ? result.value.sharedWith : 'refused')
    for (const policy of ['delete', 'disable'] as const) {
      const mapping = createKafkaMapping(kafkaSourceConfigSchema.parse({ ...source, deletes: { policy } }), mappingConfigSchema.parse({}))
      // Keys 1 → 2 → 3, key 1's partition read last: its late key change carries nothing to key 2,
      // whose create was read (the row has moved on), so row 3's delete finds nobody else.
      event(mapping, 0, 1, { op: 'c', before: null, after: row(1, 'ann@example.com') })
      event(mapping, 1, 2, { op: 'c', before: null, after: row(2, 'ann@example.com') }, oldKey(1))
      event(mapping, 1, 2, { op: 'd', before: row(2, 'ann@example.com'), after: null }, newKey(3))
      event(mapping, 2, 3, { op: 'c', before: null, after: row(3, 'ann@example.com') }, oldKey(2))
      expect(event(mapping, 0, 1, { op: 'd', before: row(1, 'ann@example.com'), after: null }, newKey(2))).toMatchObject({ ok: true, value: { keyChangedTo: '{"id":2}' } })
      expect(sharedWith(event(mapping, 2, 3, { op: 'd', before: row(3, 'ann@example.com'), after: null }))).toBeUndefined()
      // Keys 10 → 20 → 10 (changed back), key 10's partition read last: its final delete is its own.
      event(mapping, 1, 20, { op: 'c', before: null, after: row(20, 'bo@example.com') }, oldKey(10))
      event(mapping, 1, 20, { op: 'd', before: row(20, 'bo@example.com'), after: null }, newKey(10))
      event(mapping, 0, 10, { op: 'c', before: null, after: row(10, 'bo@example.com') })
      event(mapping, 0, 10, { op: 'd', before: row(10, 'bo@example.com'), after: null }, newKey(20))
      event(mapping, 0, 10, { op: 'c', before: null, after: row(10, 'bo@example.com') }, oldKey(20))
      expect(sharedWith(event(mapping, 0, 10, { op: 'd', before: row(10, 'bo@example.com'), after: null }))).toBeUndefined()
      // DELETE id=31, then UPDATE SET id=31 WHERE id=30, key 31's partition lagging: row 30's key
      // change is not taken for row 31's email (before, it deleted row 30's user as a plain delete).
      event(mapping, 1, 31, { op: 'c', before: null, after: row(31, 'bob@example.com') })
      event(mapping, 0, 30, { op: 'c', before: null, after: row(30, 'cat@example.com') })
      expect(event(mapping, 0, 30, { op: 'd', before: row(30, 'cat@example.com'), after: null }, newKey(31))).toMatchObject({ ok: true, value: { keyChangedTo: '{"id":31}' } })
      // Keys 40 → 41, then row 41 deleted, key 40's partition read last: the delete is the row's
      // own (before, key 40's create was taken for another row: delete_conflict naming it).
      event(mapping, 0, 40, { op: 'c', before: null, after: row(40, 'cy@example.com') })
      event(mapping, 1, 41, { op: 'c', before: null, after: row(41, 'cy@example.com') }, oldKey(40))
      expect(sharedWith(event(mapping, 1, 41, { op: 'd', before: row(41, 'cy@example.com'), after: null }))).toBeUndefined()
      expect(event(mapping, 0, 40, { op: 'd', before: row(40, 'cy@example.com'), after: null }, newKey(41))).toMatchObject({ ok: true, value: { keyChangedTo: '{"id":41}' } })
      // UPDATE SET id=51 WHERE id=50, then a new row inserted as 50 with the same email (a second
      // row of one account): row 51's delete leaves the user to it, key 50 no longer being row 51's.
      event(mapping, 0, 50, { op: 'c', before: null, after: row(50, 'dot@example.com') })
      event(mapping, 0, 50, { op: 'd', before: row(50, 'dot@example.com'), after: null }, newKey(51))
      event(mapping, 1, 51, { op: 'c', before: null, after: row(51, 'dot@example.com') }, oldKey(50))
      event(mapping, 0, 50, { op: 'c', before: null, after: row(50, 'dot@example.com') })
      expect(sharedWith(event(mapping, 1, 51, { op: 'd', before: row(51, 'dot@example.com'), after: null }))).toMatchObject({ row: '{"id":50}', last: true })
      // Keys 60 → 61 (that change and row 61's next change read by another process), then a late
      // change under key 60 and its key change: found through row 62's create, marked with key 61.
      const fresh = createKafkaMapping(kafkaSourceConfigSchema.parse({ ...source, deletes: { policy } }), mappingConfigSchema.parse({}))
      event(fresh, 2, 62, { op: 'c', before: null, after: row(62, 'eli@example.com') }, oldKey(61))
      event(fresh, 0, 60, { op: 'u', before: row(60, 'eli@example.com'), after: { ...row(60, 'eli@example.com'), name: 'late' } })
      expect(event(fresh, 0, 60, { op: 'd', before: { ...row(60, 'eli@example.com'), name: 'late' }, after: null }, newKey(61))).toMatchObject({ ok: true, value: { keyChangedTo: '{"id":61}', sharedWith: { row: '{"id":62}', last: false } } })
    }
  })

  it('a delete carries the names of rows deleted before with its identifier (two rows of one account: the user may hold the other\'s)', () => {
    const at = (mapping: ReturnType<typeof createKafkaMapping>, partition: number, key: number, value: unknown) =>
      mapping(decodeMessage({ topic: 'db.public.users', partition, offset: offset++, key: Buffer.from(JSON.stringify({ id: key })), value: Buffer.from(JSON.stringify(value)) }, 'debezium') as ReadableRecord)
    const deleting = createKafkaMapping(kafkaSourceConfigSchema.parse({ ...source, deletes: { policy: 'delete' } }), mappingConfigSchema.parse({}))
    at(deleting, 1, 7, { op: 'c', before: null, after: row(7, 'pair@example.com') })
    at(deleting, 0, 5, { op: 'c', before: null, after: row(5, 'pair@example.com') })
    const first = at(deleting, 0, 5, { op: 'd', before: row(5, 'pair@example.com'), after: null })
    expect(first.ok && first.value.deletedProfiles).toBeUndefined()
    expect(at(deleting, 1, 7, { op: 'd', before: row(7, 'pair@example.com'), after: null })).toMatchObject({ ok: true, value: { profile: { name: 'N7' }, deletedProfiles: [{ name: 'N5' }] } })
    // A row registered again with the email, read here, may carry the same names: they are forgotten.
    at(deleting, 1, 17, { op: 'c', before: null, after: row(17, 'again@example.com') })
    at(deleting, 0, 15, { op: 'c', before: null, after: row(15, 'again@example.com') })
    at(deleting, 0, 15, { op: 'd', before: row(15, 'again@example.com'), after: null })
    at(deleting, 0, 19, { op: 'c', before: null, after: { ...row(19, 'again@example.com'), name: 'N15' } })
    const afterAgain = at(deleting, 1, 17, { op: 'd', before: row(17, 'again@example.com'), after: null })
    expect(afterAgain.ok && afterAgain.value.deletedProfiles).toBeUndefined()
    // A delete no other row shared (its user deleted, or left for a reason of its own) is not remembered.
    at(deleting, 0, 25, { op: 'c', before: null, after: row(25, 'alone@example.com') })
    at(deleting, 0, 25, { op: 'd', before: row(25, 'alone@example.com'), after: null })
    const alone = at(deleting, 1, 27, { op: 'd', before: row(27, 'alone@example.com'), after: null })
    expect(alone.ok && alone.value.deletedProfiles).toBeUndefined()
  })

  it('a delete carries the deleted row\'s names (for the runner to tell its user from one another row updated), not when its image was refused or carries none', () => {
    const deleting = createKafkaMapping(kafkaSourceConfigSchema.parse({ ...source, deletes: { policy: 'delete' } }), mappingConfigSchema.parse({}))
    const del = (before: Record<string, unknown>) => deleting(message({ op: 'd', before, after: null }) as ReadableRecord)
    expect(del(row(1, 'ann@example.com'))).toMatchObject({ ok: true, value: { action: 'delete', profile: { name: 'N1' } } })
    const nameless = del({ id: 2, email: 'bo@example.com' })
    expect(nameless.ok && nameless.value.profile).toBeUndefined()
    // An image the mapping refuses (a password hash it dead-letters) is not what Authgear holds: nothing to compare.
    const strict = createKafkaMapping(kafkaSourceConfigSchema.parse({ ...source, columns: { email: 'email', name: 'name', password_hash: 'pw' }, deletes: { policy: 'delete' } }), mappingConfigSchema.parse({ passwords: { non_bcrypt: 'dead_letter' } }))
    const refused = strict(message({ op: 'd', before: { ...row(3, 'cy@example.com'), pw: 'not-a-hash-of-any-kind' }, after: null }) as ReadableRecord)
    expect(refused).toMatchObject({ ok: true, value: { imageRefused: 'password_policy' } })
    expect(refused.ok && refused.value.profile).toBeUndefined()
  })

  it('reads envelopes with and without the schema/payload wrapper; c, r, u upsert', () => {
    for (const event of [{ op: 'c', before: null, after: row(1, 'A@Example.com') }, { schema: {}, payload: { op: 'r', before: null, after: row(1, 'a@example.com') } }]) {
      const record = message(event) as ReadableRecord
      const result = map(record)
      expect(result.ok && result.value).toMatchObject({ identifier: 'email', identifierValue: 'a@example.com' })
      expect(result.ok && result.value.action).toBeUndefined()
    }
  })

  it('ignores tombstones, and turns malformed events into unreadable records naming the offset', () => {
    expect(message(null)).toBeUndefined()
    expect(message({ schema: {}, payload: null })).toBeUndefined()
    const bad = decodeMessage({ topic: 't', partition: 3, offset: 77, value: Buffer.from('{nope') }, 'debezium')
    expect(bad).toMatchObject({ kind: 'unreadable', code: 'malformed_json', key: 't/3/77' })
    expect(message({ op: 'x', after: {} })).toMatchObject({ kind: 'unreadable', code: 'debezium_envelope' })
    expect(message({ op: 't' })).toMatchObject({ kind: 'unreadable', code: 'debezium_truncate' })
  })

  it('maps d to a delete carrying only the identifier (and the login IDs it frees), and rejects a delete without a before image', () => {
    const result = map(message({ op: 'd', before: row(2, 'b@example.com'), after: null }) as ReadableRecord)
    expect(result.ok && result.value).toMatchObject({ action: 'delete', identifier: 'email', identifierValue: 'b@example.com', record: { email: 'b@example.com' } })
    expect(result.ok && result.value.freedLogins).toBeUndefined()
    // The row's other login IDs are not sent, but a later row taking one up waits for the delete.
    const withUsername = map(message({ op: 'd', before: row(3, 'c@example.com', 'Carl'), after: null }) as ReadableRecord)
    expect(withUsername.ok && withUsername.value).toMatchObject({ record: { email: 'c@example.com' }, freedLogins: [{ identifier: 'preferred_username', value: 'carl' }] })
    expect(withUsername.ok && Object.keys(withUsername.value.record)).toEqual(['email'])
    const keyOnly = map(message({ op: 'd', before: { id: 2 }, after: null }) as ReadableRecord)
    expect(keyOnly.ok).toBe(false)
    expect(!keyOnly.ok && keyOnly.rejection.code).toBe('delete_without_identifier')
  })

  it('marks an update whose password the before image had too (reported apart when the upsert leaves it unapplied)', () => {
    const withPassword = kafkaSourceConfigSchema.parse({ ...source, columns: { email: 'email', username: 'username', name: 'name', password_hash: 'pw' } })
    const mapping = createKafkaMapping(withPassword, mappingConfigSchema.parse({}))
    const hash = '$2b$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy'
    const renamed = mapping(message({ op: 'u', before: { ...row(11, 'eleven@example.com'), pw: hash }, after: { ...row(11, 'eleven@example.com'), name: 'Renamed', pw: hash } }) as ReadableRecord)
    expect(renamed.ok && renamed.value.secretsUnchanged).toBe(true)
    const rehashed = mapping(message({ op: 'u', before: { ...row(12, 'twelve@example.com'), pw: hash }, after: { ...row(12, 'twelve@example.com'), pw: hash.replace('N9qo', 'M8pn') } }) as ReadableRecord)
    expect(rehashed.ok && rehashed.value.secretsUnchanged).toBeUndefined()
  })

  it('reads a before image refused for its password (its version dead-lettered) for its login IDs alone: a delete still finds the user, an email change is still followed', () => {
    const withPassword = kafkaSourceConfigSchema.parse({ ...source, columns: { email: 'email', username: 'username', name: 'name', password_hash: 'pw' } })
    const strict = createKafkaMapping(withPassword, mappingConfigSchema.parse({ passwords: { non_bcrypt: 'dead_letter' } }))
    const broken = { ...row(5, 'five@example.com', 'five'), pw: 'not-a-hash-of-any-kind' }
    const argon = { ...row(6, 'six@example.com'), pw: '$argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG' }
    expect(strict(message({ op: 'c', before: null, after: broken }) as ReadableRecord).ok).toBe(false)
    for (const before of [broken, argon]) {
      const deleted = strict(message({ op: 'd', before, after: null }) as ReadableRecord)
      expect(deleted.ok && deleted.value).toMatchObject({ action: 'delete', identifier: 'email', identifierValue: before.email, record: { email: before.email }, imageRefused: 'password_policy' })
    }
    // An image the mapping takes is what Authgear was given: no mark.
    const plain = strict(message({ op: 'd', before: { ...row(9, 'nine@example.com'), pw: null }, after: null }) as ReadableRecord)
    expect(plain.ok && plain.value.imageRefused).toBeUndefined()
    const fixed = { ...broken, email: 'five.new@example.com', pw: '$2b$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy' }
    const moved = strict(message({ op: 'u', before: broken, after: fixed }) as ReadableRecord)
    expect(moved.ok && moved.value).toMatchObject({ identifier: 'preferred_username', identifierValue: 'five', earlierLogins: { email: 'five@example.com', preferred_username: 'five' } })
    // A before image with no login ID to read says what it lacks, and the hint fits only a key-only image.
    const keyOnly = strict(message({ op: 'd', before: { id: 7, pw: null }, after: null }) as ReadableRecord)
    expect(!keyOnly.ok && keyOnly.rejection.message).toMatch(/no_identifier.*REPLICA IDENTITY FULL/)
    const badEmail = strict(message({ op: 'd', before: { id: 8, email: 'not an email', pw: null }, after: null }) as ReadableRecord)
    expect(!badEmail.ok && badEmail.rejection).toMatchObject({ code: 'delete_without_identifier' })
    expect(!badEmail.ok && badEmail.rejection.message).not.toMatch(/REPLICA IDENTITY/)
  })

  it('an email change is matched by the unchanged username, and reported', () => {
    const result = map(message({ op: 'u', before: row(3, 'old@example.com', 'carol'), after: row(3, 'new@example.com', 'carol') }) as ReadableRecord)
    expect(result.ok).toBe(true)
    if (!result.ok) return
    expect(result.value).toMatchObject({ identifier: 'preferred_username', identifierValue: 'carol', record: { email: 'new@example.com', preferred_username: 'carol' } })
    expect(result.value.lockKeys).toEqual(['old@example.com', 'new@example.com'])
    expect(result.value.warnings.some((w) => w.startsWith('identifier_changed'))).toBe(true)
    // The sink checks that the user holding the username has these (see checkChanges).
    expect(result.value.earlierLogins).toEqual({ email: 'old@example.com', preferred_username: 'carol' })
  })

  it('an email change without another stable login ID is dead-lettered as identifier_changed, never dropped', () => {
    const result = map(message({ op: 'u', before: row(4, 'old@example.com'), after: row(4, 'new@example.com') }) as ReadableRecord)
    expect(result.ok).toBe(false)
    expect(!result.ok && result.rejection).toMatchObject({ code: 'identifier_changed', field: 'email' })
    expect(!result.ok && result.rejection.message).toContain('old@example.com to new@example.com')
  })

  it('the later changes of a row whose email change was dead-lettered are judged against the email Authgear still holds, never imported as a second user', () => {
    const keyed = (value: unknown) => map(decodeMessage({ topic: 'db.public.users', partition: 0, offset: offset++, key: Buffer.from(JSON.stringify({ id: 44 })), value: Buffer.from(JSON.stringify(value)) }, 'debezium') as ReadableRecord)
    expect(keyed({ op: 'u', before: row(44, 'old44@example.com'), after: row(44, 'new44@example.com') })).toMatchObject({ ok: false, rejection: { code: 'identifier_changed' } })
    // Both images carry the new email now: still a change from what Authgear holds, sent only if a
    // user holds the new email by then (the sink looks: `changedFrom`).
    const later = keyed({ op: 'u', before: row(44, 'new44@example.com'), after: { ...row(44, 'new44@example.com'), name: 'renamed' } })
    expect(later).toMatchObject({ ok: true, value: { identifierValue: 'new44@example.com', changedFrom: { identifier: 'email', identifierValue: 'old44@example.com' }, earlierLogins: { email: 'old44@example.com' } } })
    expect(keyed({ op: 'u', before: row(44, 'new44@example.com'), after: { ...row(44, 'new44@example.com'), name: 'again' } })).toMatchObject({ ok: true, value: { changedFrom: { identifierValue: 'old44@example.com' } } })
    // A change back to the old email is an ordinary update, and so are the changes after it.
    expect(keyed({ op: 'u', before: row(44, 'new44@example.com'), after: row(44, 'old44@example.com') })).toMatchObject({ ok: true, value: { identifierValue: 'old44@example.com' } })
    const plain = keyed({ op: 'u', before: row(44, 'old44@example.com'), after: { ...row(44, 'old44@example.com'), name: 'again' } })
    expect(plain.ok && plain.value.changedFrom).toBeUndefined()
    // Deleted while its change is dead-lettered: the delete finds the user by the email Authgear holds.
    keyed({ op: 'u', before: row(44, 'old44@example.com'), after: row(44, 'new44@example.com') })
    const removal = keyed({ op: 'd', before: row(44, 'new44@example.com'), after: null })
    expect(removal).toMatchObject({ ok: true, value: { action: 'delete', identifierValue: 'old44@example.com', imageRefused: 'identifier_changed', alsoAs: { identifier: 'email', identifierValue: 'new44@example.com' } } })
    // Under deletes.policy delete, a row created after it with either email waits for it.
    const deleting = createKafkaMapping(kafkaSourceConfigSchema.parse({ ...source, deletes: { policy: 'delete' } }), mappingConfigSchema.parse({}))
    const at = (id: number, value: unknown) => deleting(decodeMessage({ topic: 'db.public.users', partition: id === 45 ? 1 : 0, offset: offset++, key: Buffer.from(JSON.stringify({ id })), value: Buffer.from(JSON.stringify(value)) }, 'debezium') as ReadableRecord)
    at(44, { op: 'c', before: null, after: row(44, 'u0@example.com') })
    at(44, { op: 'u', before: row(44, 'u0@example.com'), after: row(44, 'new@example.com') })
    at(44, { op: 'd', before: row(44, 'new@example.com'), after: null })
    expect(at(45, { op: 'c', before: null, after: row(45, 'new@example.com') })).toMatchObject({ ok: true, value: { afterDeletes: [expect.stringMatching(/^db\.public\.users\/0\//)] } })
  })

  it('a username-only user who gains an email is still matched by the unchanged username', () => {
    const before = { id: 5, email: null, username: 'dora', name: 'N5' }
    const result = map(message({ op: 'u', before, after: { ...before, email: 'dora@example.com' } }) as ReadableRecord)
    expect(result.ok).toBe(true)
    if (!result.ok) return
    expect(result.value).toMatchObject({ identifier: 'preferred_username', identifierValue: 'dora', record: { email: 'dora@example.com', preferred_username: 'dora' } })
    expect(result.value.warnings).toContain('identifier_changed: the identifier changed from preferred_username dora to email dora@example.com; matched by preferred_username instead, which updates the email login ID of the same user')
  })

  it('an update that drops the email is matched by the username the row already had, without a warning', () => {
    const result = map(message({ op: 'u', before: row(6, 'erin@example.com', 'erin'), after: { id: 6, email: null, username: 'erin', name: 'N6' } }) as ReadableRecord)
    expect(result.ok && result.value).toMatchObject({ identifier: 'preferred_username', identifierValue: 'erin', warnings: [] })
  })

  it('an update without a before image is imported with a warning that a changed login ID cannot be detected', () => {
    const result = map(message({ op: 'u', before: null, after: row(7, 'new@example.com') }) as ReadableRecord)
    expect(result.ok && result.value).toMatchObject({ identifier: 'email', identifierValue: 'new@example.com' })
    expect(result.ok && result.value.warnings.join()).toContain('set REPLICA IDENTITY FULL')
  })

  it('a partial before image (replica identity on username): matched by the username it shows, or imported as an ordinary update', () => {
    // The email may be new or unchanged: matching by the unchanged username finds the user either way.
    const gained = map(message({ op: 'u', before: { username: 'dora' }, after: { id: 8, email: 'dora@example.com', username: 'dora', name: 'Renamed' } }) as ReadableRecord)
    expect(gained.ok && gained.value).toMatchObject({ identifier: 'preferred_username', identifierValue: 'dora', record: { email: 'dora@example.com' } })
    // The image leaves the email out, so the user found cannot be checked against it.
    expect(gained.ok && gained.value.earlierLogins).toBeUndefined()
    // Nothing in the image is unchanged: not told apart from an ordinary update (no dead letter).
    const renamed = map(message({ op: 'u', before: { username: 'dora' }, after: { id: 8, email: 'dora@example.com', username: 'dora2', name: 'N8' } }) as ReadableRecord)
    expect(renamed.ok && renamed.value).toMatchObject({ identifier: 'email', identifierValue: 'dora@example.com' })
  })
})
