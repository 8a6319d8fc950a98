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
})
