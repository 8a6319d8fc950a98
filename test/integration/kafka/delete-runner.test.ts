import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { DeleteLimits } from '../../../connectors/authgear/delete-limits.ts'
import { DeleteRunner } from '../../../connectors/authgear/delete-runner.ts'
import { metricHooks } from '../../../connectors/authgear/admin-client-factory.ts'
import { AdminGraphqlClient } from '../../../connectors/authgear/graphql-client.ts'
import { userNodeId } from '../../../connectors/authgear/graphql-node-id.ts'
import type { Outcome } from '../../../src/core/outcome.ts'
import { Metrics } from '../../../src/observability/metrics.ts'
import { createWorkItem, type WorkItem } from '../../../src/runtime/work-item.ts'
import { kafkaSourceConfigSchema } from '../../../connectors/kafka/config.ts'
import { createKafkaMapping } from '../../../connectors/kafka/mapping.ts'
import { decodeMessage } from '../../../connectors/kafka/message-decoder.ts'
import { mappingConfigSchema } from '../../../mappings/config.ts'
import type { ReadableRecord } from '../../../src/core/source-record.ts'

interface TestUser {
  id: string
  email: string
  isDisabled: boolean
  temporarilyDisabledUntil?: string | null
  disableReason?: string
  name?: string
  given_name?: string
}

/**
 * A small GraphQL server answering the three operations as Authgear does (node ids, errors[] with
 * extensions, account status transitions). A mutation named in `loseReply` is applied, then its
 * connection is dropped before the reply, once: a reply lost after the server committed.
 */
function graphqlServer(users: Map<string, TestUser>, loseReply = new Set<string>()) {
  const calls: string[] = []
  const server: Server = createServer((req, res) => {
    let body = ''
    req.on('data', (c) => (body += c))
    req.on('end', () => {
      const { query, variables } = JSON.parse(body) as { query: string; variables: Record<string, any> }
      const reply = (data: unknown) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(data))
      if (req.headers.authorization !== 'Bearer t') return res.writeHead(403).end('Forbidden\n')
      const byNode = (node: string) => [...users.values()].find((u) => userNodeId(u.id) === node)
      if (query.includes('getUsersByStandardAttribute')) {
        calls.push('lookup')
        const value = String(variables['value']).toLowerCase()
        if (value === 'fail@example.com') return reply({ data: null, errors: [{ message: 'unexpected error', extensions: { errorName: 'InternalError', reason: 'UnexpectedError' } }] })
        return reply({ data: { getUsersByStandardAttribute: [...users.values()].filter((u) => u.email === value).map((u) => ({ id: userNodeId(u.id), isDisabled: u.isDisabled, temporarilyDisabledUntil: u.temporarilyDisabledUntil ?? null, disableReason: u.isDisabled ? (u.disableReason ?? null) : null, standardAttributes: { email: u.email, ...(u.name !== undefined ? { name: u.name } : {}), ...(u.given_name !== undefined ? { given_name: u.given_name } : {}) } })) } })
      }
      const input = variables['input'] as { userID: string; isDisabled?: boolean }
      const user = byNode(input.userID)
      const operation = query.includes('setDisabledStatus') ? 'disable' : 'delete'
      calls.push(operation)
      if (!user) return reply({ data: null, errors: [{ message: 'user not found', extensions: { errorName: 'NotFound', reason: 'UserNotFound' } }] })
      if (operation === 'disable') {
        if (user.isDisabled && !user.temporarilyDisabledUntil && input.isDisabled) {
          return reply({ data: null, errors: [{ message: 'invalid account status transition: disabled -> disabled', extensions: { errorName: 'Invalid', reason: 'InvalidAccountStatusTransition' } }] })
        }
        user.isDisabled = input.isDisabled === true
        user.temporarilyDisabledUntil = null
        user.disableReason = (input as { reason?: string }).reason
      } else users.delete(user.id)
      if (loseReply.delete(operation)) return req.socket.destroy()
      if (operation === 'disable') return reply({ data: { setDisabledStatus: { user: { id: input.userID, isDisabled: user.isDisabled } } } })
      return reply({ data: { deleteUser: { deletedUserID: input.userID } } })
    })
  })
  return { server, calls }
}

function item(email: string): WorkItem {
  return {
    source: { kind: 'data', key: email, origin: email, data: {} },
    mapped: { identifier: 'email', identifierValue: email, record: { email } as never, passwordAlgorithm: 'none', passwordLane: 'none', warnings: [], action: 'delete' },
    utf8: Buffer.from('{}'),
    jsonStart: 0,
    bytes: 2,
    ticket: { settle: () => undefined },
    attempts: 0,
    seq: 0,
  }
}

const logger = { debug() {}, info() {}, warn() {}, error() {}, child() { return logger } }
let open: Server | undefined
afterEach(() => new Promise<void>((resolve) => (open ? open.close(() => resolve()) : resolve())))

async function setup(n: number, loseReply?: Set<string>, metrics?: Metrics) {
  const users = new Map<string, TestUser>(Array.from({ length: n }, (_, i) => [`00000000-0000-4000-8000-${String(i).padStart(12, '0')}`, { id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`, email: `u${i}@example.com`, isDisabled: false }]))
  const { server, calls } = graphqlServer(users, loseReply)
  open = server
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const client = new AdminGraphqlClient({ endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, tokens: { token: async () => 't' }, timeoutMs: 5000, retry: { maxAttempts: 2, baseMs: 1, maxMs: 5 }, ...(metrics ? { hooks: metricHooks(metrics) } : {}) })
  return { users, calls, client }
}

describe('source deletes through the Admin API GraphQL', () => {
  it('delete policy: finds the user by identifier, deletes it by global node id; unknown users are skipped', async () => {
    const { users, calls, client } = await setup(3)
    const outcomes: Outcome[] = []
    const runner = new DeleteRunner({ action: 'delete', client, limits: new DeleteLimits({ maxPerSecond: 1000, safetyLimit: 100, windowMs: 60_000 }), reason: 'gone', complete: (_i, o) => outcomes.push(o), logger })
    await runner.run([item('u0@example.com'), item('nobody@example.com')])
    expect(outcomes.map((o) => [o.kind, o.code])).toEqual([['deleted', undefined], ['skipped', 'delete_not_found']])
    expect(outcomes[0]!.userId).toBe('00000000-0000-4000-8000-000000000000')
    expect(users.size).toBe(2)
    expect(calls).toEqual(['lookup', 'delete', 'lookup'])
    // A delete read from a before image the mapping refused (its version dead-lettered): its user
    // may hold an earlier version's login IDs, so finding nobody is a dead letter, not "nothing to delete".
    const refusedImage = item('new@example.com')
    await runner.run([{ ...refusedImage, mapped: { ...refusedImage.mapped, imageRefused: 'password_policy' } }])
    expect(outcomes[2]).toMatchObject({ kind: 'failed', code: 'delete_unmatched' })
    expect(outcomes[2]!.message).toMatch(/last version was dead-lettered \(password_policy\)/)
    await client.close()
  })

  it('a delete naming a row that shares its identifier (sharedWith) leaves the user unless that row\'s import was refused or skipped, asking Authgear only whether the user is there', async () => {
    for (const action of ['delete', 'disable'] as const) {
      const { users, calls, client } = await setup(3)
      const outcomes: Outcome[] = []
      const applied = new Map([['k-applied', true], ['k-refused', false]])
      const runner = new DeleteRunner({ action, client, limits: new DeleteLimits({ maxPerSecond: 1000, safetyLimit: 10, windowMs: 60_000 }), reason: 'gone', complete: (_i, o) => outcomes.push(o), logger, applied: (key) => applied.get(key) })
      const sharing = (email: string, record: string, last = true): WorkItem => {
        const base = item(email)
        return { ...base, mapped: { ...base.mapped, sharedWith: { row: '{"id":9}', record, last } } }
      }
      const keyChange = item('u0@example.com')
      const lateOldKey = sharing('u0@example.com', 'k-applied', false)
      await runner.run([sharing('u0@example.com', 'k-applied'), sharing('u1@example.com', 'k-refused'), sharing('u2@example.com', 'k-unknown'), sharing('u0@example.com', 'k-applied', false), { ...keyChange, mapped: { ...keyChange.mapped, keyChangedTo: '{"id":90}' } }, { ...lateOldKey, mapped: { ...lateOldKey.mapped, keyChangedTo: '{"id":90}' } }])
      const done = action === 'delete' ? 'deleted' : 'disabled'
      // An outcome not known (superseded in its batch, or forgotten) counts as applied: the user is spared.
      expect(outcomes.map((o) => [o.kind, o.code])).toEqual([['skipped', 'delete_shared'], [done, undefined], ['skipped', 'delete_shared'], ['failed', 'delete_conflict'], ['skipped', 'delete_key_changed'], ['failed', 'delete_conflict']])
      expect(outcomes[0]!.message).toBe(`not ${action}d: the row keyed {"id":9}, read before this delete, has email u0@example.com too (a row created with it, on another partition, or a second row of one account), and its import was applied to the user this delete would find: the user is left to that row`)
      // A change of the deleted row applied after that row's: the user holds the deleted row's data.
      expect(outcomes[3]!.message).toMatch(/but a later change of the deleted row was applied to that user after it, so the user holds the deleted row's profile \(and login IDs\)\. Produce row \{"id":9\}'s change again/)
      expect(outcomes[4]!.message).toBe(`not ${action}d: the row's primary key changed to {"id":90} (Debezium's __debezium.newkey header): the row goes on under that key, and so does its user`)
      // A change under the old key applied after the new key's record: the user holds it.
      expect(outcomes[5]!.message).toMatch(/^not (deleted|disabled): the row's primary key changed to \{"id":90\} .*but a change read under the old key after the new key's record was applied over the user/)
      // Each delete that leaves the user looks it up (the first and third); the refused row's delete acts.
      expect(calls).toEqual(['lookup', 'lookup', action, 'lookup'])
      expect([...users.values()].filter((u) => u.email !== 'u1@example.com' && !u.isDisabled)).toHaveLength(2)
      await client.close()
    }
  })

  it('a delete that would leave the user to another row says so when that user is gone (or disabled by a delete, under disable): the report would otherwise say it was left', async () => {
    for (const action of ['delete', 'disable'] as const) {
      const { users, calls, client } = await setup(2)
      const user = (email: string) => [...users.values()].find((u) => u.email === email)!
      // Another replica, which had not read the other row, dealt with the user first.
      if (action === 'delete') users.delete(user('u0@example.com').id)
      else Object.assign(user('u0@example.com'), { isDisabled: true, disableReason: 'gone' })
      // One an administrator disabled (another reason) is left as it is: the delete is only skipped.
      Object.assign(user('u1@example.com'), { isDisabled: true, disableReason: 'fraud' })
      const outcomes: Outcome[] = []
      const runner = new DeleteRunner({ action, client, limits: new DeleteLimits({ maxPerSecond: 1000, safetyLimit: 10, windowMs: 60_000 }), reason: 'gone', complete: (_i, o) => outcomes.push(o), logger, applied: () => true })
      const sharing = (email: string): WorkItem => {
        const base = item(email)
        return { ...base, mapped: { ...base.mapped, sharedWith: { row: '{"id":9}', record: 'k', last: true } } }
      }
      await runner.run([sharing('u0@example.com'), sharing('u1@example.com')])
      expect(outcomes.map((o) => [o.kind, o.code])).toEqual([['failed', 'delete_shared_lost'], ['skipped', 'delete_shared']])
      const now = action === 'delete' ? 'no Authgear user has email u0@example.com now: it was deleted since' : 'the Authgear user with email u0@example.com is disabled now, with the reason deletes give'
      expect(outcomes[0]!.message).toContain(now)
      expect(outcomes[0]!.message).toMatch(/If row \{"id":9\} still exists in the source, produce its change again \(touch the row\) so that it has a user$/)
      // Nothing is changed either way.
      expect(calls).toEqual(['lookup', 'lookup'])
      await client.close()
    }
  })

  it('under upsert, a user whose names are not the deleted row\'s is left and dead-lettered delete_conflict; without upsert (the first version stays) names tell nothing', async () => {
    for (const upserted of [true, false]) {
      const { users, calls, client } = await setup(3)
      const user = (email: string) => [...users.values()].find((u) => u.email === email)!
      user('u0@example.com').name = 'Bea'
      user('u1@example.com').name = 'Ann'
      const outcomes: Outcome[] = []
      const runner = new DeleteRunner({ action: 'delete', client, limits: new DeleteLimits({ maxPerSecond: 1000, safetyLimit: 10, windowMs: 60_000 }), reason: 'gone', complete: (_i, o) => outcomes.push(o), logger, ...(upserted ? { upserted } : {}) })
      const named = (email: string, profile: Record<string, string>): WorkItem => {
        const base = item(email)
        return { ...base, mapped: { ...base.mapped, profile } }
      }
      // u0's user was updated by another row; u1's still has the row's name. u2's holds a name a row
      // deleted before had, but a given name too. u0 again: the user holds exactly the names of a
      // row of that email deleted before (two rows of one account).
      const earlierDeleted = (email: string, deletedProfiles: Record<string, string>[]): WorkItem => ({ ...named(email, { name: 'Ann' }), mapped: { ...named(email, { name: 'Ann' }).mapped, deletedProfiles } })
      // Those names must be all of the user's: a row that had a name only says nothing of a user with a given name too.
      user('u2@example.com').name = 'Dee'
      Object.assign(user('u2@example.com'), { given_name: 'Dee' })
      await runner.run([named('u0@example.com', { name: 'Ann' }), named('u1@example.com', { name: 'Ann' }), earlierDeleted('u2@example.com', [{ name: 'Dee' }]), earlierDeleted('u0@example.com', [{ name: 'Zed' }, { name: 'Bea' }])])
      if (upserted) {
        expect(outcomes.map((o) => [o.kind, o.code])).toEqual([['failed', 'delete_conflict'], ['deleted', undefined], ['failed', 'delete_conflict'], ['deleted', undefined]])
        expect(outcomes[0]!.message).toMatch(/Check the source and the user: if it is the deleted row's, delete it in Authgear \(this record, replayed, is refused the same way\)$/)
        expect(outcomes[0]!.message).toContain('has another name than the deleted row\'s (or none)')
        expect(outcomes[2]!.message).toContain('has another name than the deleted row\'s (or none)')
        // The message names the attribute, not the person's names.
        expect(outcomes.map((o) => o.message ?? '').join(' ')).not.toMatch(/Bea|Ann|Cy\b/)
        expect(calls).toEqual(['lookup', 'lookup', 'delete', 'lookup', 'lookup', 'delete'])
      } else expect(outcomes.map((o) => o.kind)).toEqual(['deleted', 'deleted', 'deleted', 'skipped'])
      await client.close()
    }
  })

  it('under disable, a user already disabled for good is skipped already_disabled, whatever its names (nothing to change, nothing to leave)', async () => {
    const { users, calls, client } = await setup(1)
    Object.assign([...users.values()][0]!, { isDisabled: true, name: 'Bea', disableReason: 'gone' })
    const outcomes: Outcome[] = []
    const runner = new DeleteRunner({ action: 'disable', client, limits: new DeleteLimits({ maxPerSecond: 1000, safetyLimit: 10, windowMs: 60_000 }), reason: 'gone', complete: (_i, o) => outcomes.push(o), logger, upserted: true })
    const base = item('u0@example.com')
    await runner.run([{ ...base, mapped: { ...base.mapped, profile: { name: 'Ann' } } }])
    expect(outcomes.map((o) => [o.kind, o.code])).toEqual([['skipped', 'already_disabled']])
    expect(calls).toEqual(['lookup'])
    await client.close()
  })

  it('a GraphQL error in the lookup of a delete that would leave the user fails that record alone (delete_failed), as in any lookup', async () => {
    const { users, client } = await setup(2)
    // A user with this email makes the stub answer with errors[], as Authgear does for a bad value.
    users.set('bad', { id: 'bad', email: 'fail@example.com', isDisabled: false })
    const outcomes: Outcome[] = []
    const runner = new DeleteRunner({ action: 'delete', client, limits: new DeleteLimits({ maxPerSecond: 1000, safetyLimit: 10, windowMs: 60_000 }), reason: 'gone', complete: (_i, o) => outcomes.push(o), logger, applied: () => true })
    const base = item('fail@example.com')
    await runner.run([{ ...base, mapped: { ...base.mapped, sharedWith: { row: '{"id":9}', record: 'k', last: true } } }, item('u1@example.com')])
    expect(outcomes.map((o) => [o.kind, o.code])).toEqual([['failed', 'delete_failed'], ['deleted', undefined]])
    await client.close()
  })

  it('a delete of a row whose email change was dead-lettered looks up both emails: deletes the one user found, never guesses between two', async () => {
    const { users, client } = await setup(4)
    const outcomes: Outcome[] = []
    const runner = new DeleteRunner({ action: 'delete', client, limits: new DeleteLimits({ maxPerSecond: 1000, safetyLimit: 100, windowMs: 60_000 }), reason: 'gone', complete: (_i, o) => outcomes.push(o), logger })
    const changed = (held: string, now: string): WorkItem => {
      const base = item(held)
      return { ...base, mapped: { ...base.mapped, imageRefused: 'identifier_changed', alsoAs: { identifier: 'email', identifierValue: now } } }
    }
    // Not fixed in Authgear: the user still has the old email. Fixed: it has the new one. Both taken by two users: a conflict. Neither: unmatched.
    await runner.run([changed('u0@example.com', 'gone0@example.com'), changed('left1@example.com', 'u1@example.com'), changed('u2@example.com', 'u3@example.com'), changed('none@example.com', 'nobody@example.com')])
    expect(outcomes.map((o) => [o.kind, o.code])).toEqual([['deleted', undefined], ['deleted', undefined], ['failed', 'delete_conflict'], ['failed', 'delete_unmatched']])
    expect(outcomes[2]!.message).toBe('not deleted: the row\'s email changed from u2@example.com to u3@example.com in a change dead-lettered identifier_changed, and Authgear has both, on different users; which is the row\'s is not known here. Find it in Authgear and delete it there')
    expect(outcomes[3]!.message).toContain('nobody has email nobody@example.com either')
    expect([...users.values()].map((u) => u.email).sort()).toEqual(['u2@example.com', 'u3@example.com'])
    await client.close()
  })

  it('such a delete leaves the user found by the row\'s current email to another row read with it (a row created with that email)', async () => {
    const source = kafkaSourceConfigSchema.parse({ type: 'kafka', brokers: 'b:9092', topics: 'db.public.users', group_id: 'g', format: 'debezium', record_mapping: 'sql', columns: { email: 'email', name: 'name' }, deletes: { policy: 'delete' } })
    const row = (id: number, email: string) => ({ id, email, name: `N${id}` })
    // Row 44's change u0@ -> new@ is dead-lettered; row 44 is deleted and row 45 created with new@, read first.
    const deleteOfRow44 = (): WorkItem => {
      const map = createKafkaMapping(source, mappingConfigSchema.parse({}))
      let offset = 0
      const event = (key: number, partition: number, value: unknown) => decodeMessage({ topic: 'db.public.users', partition, offset: offset++, key: Buffer.from(JSON.stringify({ id: key })), value: Buffer.from(JSON.stringify(value)) }, 'debezium') as ReadableRecord
      expect(map(event(44, 0, { op: 'c', before: null, after: row(44, 'u0@example.com') })).ok).toBe(true)
      expect(map(event(44, 0, { op: 'u', before: row(44, 'u0@example.com'), after: row(44, 'new@example.com') })).ok).toBe(false)
      expect(map(event(45, 1, { op: 'c', before: null, after: row(45, 'new@example.com') })).ok).toBe(true)
      const removal = event(44, 0, { op: 'd', before: row(44, 'new@example.com'), after: null })
      const mapped = map(removal)
      if (!mapped.ok) throw new Error(mapped.rejection.message)
      expect(mapped.value).toMatchObject({ identifierValue: 'u0@example.com', alsoAs: { identifierValue: 'new@example.com', heldBy: expect.stringMatching(/^db\.public\.users\/1\//) } })
      return createWorkItem(removal, mapped.value, { settle: () => undefined } as never)
    }
    const run = async (emails: readonly string[]) => {
      const { users, client } = await setup(emails.length)
      emails.forEach((email, i) => (users.get(`00000000-0000-4000-8000-${String(i).padStart(12, '0')}`)!.email = email))
      const outcomes: Outcome[] = []
      const runner = new DeleteRunner({ action: 'delete', client, limits: new DeleteLimits({ maxPerSecond: 1000, safetyLimit: 100, windowMs: 60_000 }), reason: 'gone', complete: (_i, o) => outcomes.push(o), logger, applied: () => true })
      await runner.run([deleteOfRow44()])
      await client.close()
      return { outcomes: outcomes.map((o) => [o.kind, o.code]), left: [...users.values()].map((u) => u.email) }
    }
    // Authgear unchanged: row 44's user (u0@) goes; row 45's own user stays.
    expect(await run(['u0@example.com', 'new@example.com'])).toEqual({ outcomes: [['deleted', undefined]], left: ['new@example.com'] })
    // The login ID was changed to new@ and row 45's create updated that user: it is row 45's now.
    expect(await run(['new@example.com'])).toEqual({ outcomes: [['failed', 'delete_unmatched']], left: ['new@example.com'] })
  })

  it('such a delete does not take the row\'s own later change for another row: after the login ID was changed in Authgear and someone took the freed email, it deletes neither user', async () => {
    const source = kafkaSourceConfigSchema.parse({ type: 'kafka', brokers: 'b:9092', topics: 'db.public.users', group_id: 'g', format: 'debezium', record_mapping: 'sql', columns: { email: 'email', name: 'name' }, deletes: { policy: 'delete' } })
    const row = (id: number, email: string, name = `N${id}`) => ({ id, email, name })
    const map = createKafkaMapping(source, mappingConfigSchema.parse({}))
    let offset = 0
    const event = (key: number, value: unknown) => decodeMessage({ topic: 'db.public.users', partition: 0, offset: offset++, key: Buffer.from(JSON.stringify({ id: key })), value: Buffer.from(JSON.stringify(value)) }, 'debezium') as ReadableRecord
    expect(map(event(44, { op: 'c', before: null, after: row(44, 'u0@example.com') })).ok).toBe(true)
    expect(map(event(44, { op: 'u', before: row(44, 'u0@example.com'), after: row(44, 'new@example.com') })).ok).toBe(false)
    // The login ID is changed to new@ in Authgear; the row's next change is sent and imported.
    expect(map(event(44, { op: 'u', before: row(44, 'new@example.com'), after: row(44, 'new@example.com', 'Renamed') }))).toMatchObject({ ok: true, value: { changedFrom: { identifierValue: 'u0@example.com' } } })
    const removal = event(44, { op: 'd', before: row(44, 'new@example.com', 'Renamed'), after: null })
    const mapped = map(removal)
    if (!mapped.ok) throw new Error(mapped.rejection.message)
    expect(mapped.value.alsoAs).toEqual({ identifier: 'email', identifierValue: 'new@example.com' })
    // Row 44's user has new@; someone else took the freed u0@.
    const { users, client } = await setup(2)
    ;['new@example.com', 'u0@example.com'].forEach((email, i) => (users.get(`00000000-0000-4000-8000-${String(i).padStart(12, '0')}`)!.email = email))
    const outcomes: Outcome[] = []
    const runner = new DeleteRunner({ action: 'delete', client, limits: new DeleteLimits({ maxPerSecond: 1000, safetyLimit: 100, windowMs: 60_000 }), reason: 'gone', complete: (_i, o) => outcomes.push(o), logger, applied: () => true })
    await runner.run([createWorkItem(removal, mapped.value, { settle: () => undefined } as never)])
    await client.close()
    expect(outcomes.map((o) => [o.kind, o.code])).toEqual([['failed', 'delete_conflict']])
    expect(users.size).toBe(2)
  })

  it('disable policy, and the safety limit: past the limit nothing more is changed and the rest is dead-lettered', async () => {
    const { users, client } = await setup(10)
    const outcomes: Outcome[] = []
    const runner = new DeleteRunner({ action: 'disable', client, limits: new DeleteLimits({ maxPerSecond: 1000, safetyLimit: 4, windowMs: 60_000 }), reason: 'gone', complete: (_i, o) => outcomes.push(o), logger })
    await runner.run(Array.from({ length: 10 }, (_, i) => item(`u${i}@example.com`)))
    expect(outcomes.filter((o) => o.kind === 'disabled')).toHaveLength(4)
    expect(outcomes.filter((o) => o.kind === 'failed' && o.code === 'delete_paused')).toHaveLength(6)
    expect([...users.values()].filter((u) => u.isDisabled)).toHaveLength(4)
    await client.close()
  })

  it('a delete or disable applied by Authgear whose reply was lost is reported done after the retry, not failed', async () => {
    for (const action of ['delete', 'disable'] as const) {
      const { users, calls, client } = await setup(1, new Set([action]))
      const outcomes: Outcome[] = []
      const runner = new DeleteRunner({ action, client, limits: new DeleteLimits({ maxPerSecond: 1000, safetyLimit: 100, windowMs: 60_000 }), reason: 'gone', complete: (_i, o) => outcomes.push(o), logger })
      await runner.run([item('u0@example.com')])
      // The retry meets the effect of the first attempt: the user gone, or already disabled.
      expect(calls).toEqual(['lookup', action, action])
      expect(outcomes).toEqual([{ kind: action === 'delete' ? 'deleted' : 'disabled', userId: '00000000-0000-4000-8000-000000000000' }])
      expect(action === 'delete' ? users.size : [...users.values()].filter((u) => u.isDisabled).length).toBe(action === 'delete' ? 0 : 1)
      await client.close()
      await new Promise<void>((resolve) => open!.close(() => resolve()))
      open = undefined
    }
  })

  it('disable policy disables for good a user who is only temporarily disabled', async () => {
    const { users, calls, client } = await setup(2)
    const [temporary, indefinite] = [...users.values()]
    Object.assign(temporary!, { isDisabled: true, temporarilyDisabledUntil: '2099-01-01T00:00:00Z' })
    Object.assign(indefinite!, { isDisabled: true })
    const outcomes: Outcome[] = []
    const runner = new DeleteRunner({ action: 'disable', client, limits: new DeleteLimits({ maxPerSecond: 1000, safetyLimit: 100, windowMs: 60_000 }), reason: 'gone', complete: (_i, o) => outcomes.push(o), logger })
    await runner.run([item('u0@example.com'), item('u1@example.com')])
    expect(outcomes.map((o) => [o.kind, o.code])).toEqual([['disabled', undefined], ['skipped', 'already_disabled']])
    expect(temporary).toMatchObject({ isDisabled: true, temporarilyDisabledUntil: null })
    expect(calls).toEqual(['lookup', 'disable', 'lookup'])
    await client.close()
  })

  it('counts GraphQL requests and retries in the Admin API metrics under the graphql route', async () => {
    const metrics = new Metrics({ defaultMetrics: false })
    const { client } = await setup(1, new Set(['delete']), metrics)
    const runner = new DeleteRunner({ action: 'delete', client, limits: new DeleteLimits({ maxPerSecond: 1000, safetyLimit: 100, windowMs: 60_000 }), reason: 'gone', complete: () => undefined, logger, metrics })
    await runner.run([item('u0@example.com')])
    const text = await metrics.registry.metrics()
    expect(text).toContain('gearbridge_http_requests_total{route="graphql",status="200"} 2')
    expect(text).toContain('gearbridge_http_requests_total{route="graphql",status="network_error"} 1')
    expect(text).toContain('gearbridge_retries_total{reason="network"} 1')
    expect(text).toContain('gearbridge_deletes_total{action="delete",result="done"} 1')
    expect(text).toMatch(/gearbridge_http_request_duration_seconds_count\{route="graphql"\} 3/)
    await client.close()
  })

  it('ignore policy (the default) changes nothing and reports delete_ignored', async () => {
    const outcomes: Outcome[] = []
    const runner = new DeleteRunner({ action: 'ignore', limits: new DeleteLimits({ maxPerSecond: 1, safetyLimit: 1, windowMs: 1000 }), reason: 'gone', complete: (_i, o) => outcomes.push(o), logger })
    await runner.run([item('a@example.com'), item('b@example.com')])
    expect(outcomes.map((o) => o.code)).toEqual(['delete_ignored', 'delete_ignored'])
  })
})
