import { describe, expect, it } from 'vitest'
import type { MappedRecord } from '../../../src/core/mapped-record.ts'
import { SharedLogins } from '../../../src/cli/shared-logins.ts'

function mapped(identifier: MappedRecord['identifier'], record: Record<string, string | null>, lockKeys?: string[]): MappedRecord {
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

  it('under upsert, frees the login ID an update replaces or sets to null, as Authgear does: a later user takes it up, by identifier or as a second login ID', () => {
    const logins = new SharedLogins(true)
    logins.add(mapped('email', { email: 'cat@example.com', preferred_username: 'catty' }), 'users.ndjson:1')
    logins.add(mapped('email', { email: 'cat@example.com', preferred_username: 'catnip' }), 'users.ndjson:2')
    // catty is no one's now: a username-only user of that name is a new user, not Cat.
    logins.add(mapped('preferred_username', { preferred_username: 'catty' }), 'users.ndjson:3')
    expect(logins.merged).toBe(0)
    logins.add(mapped('email', { email: 'ann@example.com', phone_number: '+14155550101' }), 'users.ndjson:4')
    logins.add(mapped('email', { email: 'ann@example.com', phone_number: null }), 'users.ndjson:5')
    logins.add(mapped('email', { email: 'bea@example.com', phone_number: '+14155550101' }), 'users.ndjson:6')
    // catnip is still Cat's.
    logins.add(mapped('email', { email: 'dan@example.com', preferred_username: 'catnip' }), 'users.ndjson:7')
    expect(logins.refused).toBe(1)
    expect(logins.examples.refused).toEqual(['users.ndjson:7'])
    // Without upsert the later version is skipped: catty stays Cat's.
    const insertOnly = new SharedLogins(false)
    insertOnly.add(mapped('email', { email: 'cat@example.com', preferred_username: 'catty' }), 'users.ndjson:1')
    insertOnly.add(mapped('email', { email: 'cat@example.com', preferred_username: 'catnip' }), 'users.ndjson:2')
    insertOnly.add(mapped('preferred_username', { preferred_username: 'catty' }), 'users.ndjson:3')
    expect(insertOnly.merged).toBe(1)
  })

  it('compares emails as Authgear\'s duplicate check does: the domain in punycode, a full-width letter not mapped', () => {
    const logins = new SharedLogins(false)
    logins.add(mapped('email', { email: 'x@example.com', phone_number: '+14155550101' }), 'users.ndjson:1')
    logins.add(mapped('phone_number', { phone_number: '+14155550102', email: 'y@bücher.de' }), 'users.ndjson:2')
    logins.add(mapped('phone_number', { phone_number: '+14155550103', email: 'y@xn--bcher-kva.de' }), 'users.ndjson:3')
    expect(logins.examples.refused).toEqual(['users.ndjson:3'])
    logins.add(mapped('phone_number', { phone_number: '+14155550104', email: 'x@ｅxample.com' }), 'users.ndjson:4')
    expect(logins.refused).toBe(1)
    // As identifiers: looked up by the stored value (nothing found), then refused as a duplicate.
    logins.add(mapped('email', { email: 'z@exämple.com' }), 'users.ndjson:5')
    logins.add(mapped('email', { email: 'z@xn--exmple-cua.com' }), 'users.ndjson:6')
    expect(logins.examples.refused).toEqual(['users.ndjson:3', 'users.ndjson:6'])
    expect(logins.repeatedUsers).toBe(0)
    // Freed by an upsert replacing it, or a delete: its other spelling may be taken up.
    const freeing = new SharedLogins(true)
    freeing.add(mapped('phone_number', { phone_number: '+14155550105', email: 'w@bücher.de' }), 'r:1')
    freeing.add(mapped('phone_number', { phone_number: '+14155550105', email: 'w2@example.com' }), 'r:2')
    freeing.add(mapped('phone_number', { phone_number: '+14155550106', email: 'w@xn--bcher-kva.de' }), 'r:3')
    freeing.add(mapped('email', { email: 'v@bücher.de' }), 'r:4')
    freeing.remove({ ...mapped('email', { email: 'v@bücher.de' }), action: 'delete' })
    freeing.add(mapped('email', { email: 'v@xn--bcher-kva.de' }), 'r:6')
    expect(freeing.refused).toBe(0)
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
