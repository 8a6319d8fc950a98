import { describe, expect, it } from 'vitest'
import type { MappedRecord } from '../../../src/core/mapped-record.ts'
import { SharedLogins } from '../../../src/cli/shared-logins.ts'

function mapped(identifier: MappedRecord['identifier'], record: Record<string, string>, lockKeys?: string[]): MappedRecord {
  return { identifier, identifierValue: record[identifier] as string, record: record as MappedRecord['record'], passwordAlgorithm: 'none', passwordLane: 'none', warnings: [], ...(lockKeys ? { lockKeys } : {}) }
}

describe('SharedLogins', () => {
  it('warns about a record whose identifier another user holds as a second login ID', () => {
    const logins = new SharedLogins(true)
    logins.add(mapped('email', { email: 'ana@example.com', preferred_username: 'ana' }), 'users.ndjson:1')
    logins.add(mapped('preferred_username', { preferred_username: 'ana', email: 'other@example.com' }), 'users.ndjson:2')
    expect(logins.merged).toBe(1)
    expect(logins.warnings()).toHaveLength(1)
  })

  it('says nothing of a Debezium email change sent by the unchanged username: it is meant to find that user', () => {
    const logins = new SharedLogins(true)
    logins.add(mapped('email', { email: 'ana@example.com', preferred_username: 'ana' }), 'users:0@0')
    logins.add(mapped('preferred_username', { preferred_username: 'ana', email: 'ana.new@example.com' }, ['ana@example.com', 'ana.new@example.com']), 'users:0@1')
    expect(logins.merged).toBe(0)
    expect(logins.refused).toBe(0)
    expect(logins.warnings()).toEqual([])
  })

  it('forgets a user deleted in the source: a new row may take up its login IDs, and its identifier is a new user', () => {
    const logins = new SharedLogins(false)
    logins.add(mapped('email', { email: 'ana@example.com', preferred_username: 'ana' }), 'users:0@0')
    logins.add(mapped('email', { email: 'other@example.com', preferred_username: 'ana' }), 'users:0@1')
    expect(logins.refused).toBe(1)
    logins.remove({ ...mapped('email', { email: 'ana@example.com' }), action: 'delete', freedLogins: [{ identifier: 'preferred_username', value: 'ana' }] })
    logins.add(mapped('email', { email: 'newcomer@example.com', preferred_username: 'ana' }), 'users:0@3')
    logins.add(mapped('email', { email: 'ana@example.com' }), 'users:0@4')
    expect(logins.refused).toBe(1)
    expect(logins.repeatedUsers).toBe(0)
    // The username is the newcomer's now.
    logins.add(mapped('email', { email: 'third@example.com', preferred_username: 'ana' }), 'users:0@5')
    expect(logins.refused).toBe(2)
  })

  it('forgets a deleted user whose email changed before (found, as Authgear finds it, under its first one)', () => {
    const logins = new SharedLogins(true)
    logins.add(mapped('email', { email: 'ana@example.com', preferred_username: 'ana' }), 'users:0@0')
    logins.add(mapped('preferred_username', { preferred_username: 'ana', email: 'ana.new@example.com' }, ['ana@example.com', 'ana.new@example.com']), 'users:0@1')
    logins.remove({ ...mapped('email', { email: 'ana.new@example.com' }), action: 'delete', freedLogins: [{ identifier: 'preferred_username', value: 'ana' }] })
    logins.add(mapped('email', { email: 'carl@example.com', preferred_username: 'ana' }), 'users:0@3')
    logins.add(mapped('email', { email: 'ana.new@example.com' }), 'users:0@4')
    expect(logins.refused).toBe(0)
    expect(logins.merged).toBe(0)
    expect(logins.repeatedUsers).toBe(0)
  })
})
