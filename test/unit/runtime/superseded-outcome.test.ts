import { describe, expect, it } from 'vitest'
import type { MappedRecord, PasswordLane } from '../../../src/core/mapped-record.ts'
import { Checkpointer } from '../../../src/runtime/checkpointer.ts'
import { supersededOutcome } from '../../../src/runtime/superseded-outcome.ts'
import { createWorkItem, type WorkItem } from '../../../src/runtime/work-item.ts'

function version(origin: string, lane: PasswordLane, algorithm: string): WorkItem {
  const mapped: MappedRecord = { identifier: 'email', identifierValue: 'dup@example.com', record: { email: 'dup@example.com' }, passwordAlgorithm: algorithm, passwordLane: lane, warnings: [] }
  return createWorkItem({ kind: 'data', key: origin, origin, data: {} }, mapped, new Checkpointer<number>().track(1, 1))
}

describe('supersededOutcome', () => {
  it('warns that a password was not sent when the version that replaced it carries none (a database and a social user of one email)', () => {
    const database = version('users.ndjson:1', 'imported', 'bcrypt')
    const social = version('users.ndjson:2', 'none', 'none')
    expect(supersededOutcome(database, social)).toEqual({
      kind: 'superseded',
      message: 'a later version of this user in the same import job replaced it',
      attempts: 0,
      warnings: ['its bcrypt password was not sent: the later version that replaced it (users.ndjson:2) carries none, so the user has no password unless a version after that one carries it'],
    })
  })

  it('says nothing more when the later version carries a password too, or the earlier carried none', () => {
    expect(supersededOutcome(version('a:1', 'imported', 'bcrypt'), version('a:2', 'imported', 'bcrypt')).warnings).toBeUndefined()
    expect(supersededOutcome(version('a:1', 'none', 'none'), version('a:2', 'none', 'none')).warnings).toBeUndefined()
    expect(supersededOutcome(version('a:1', 'reset', 'argon2'), version('a:2', 'none', 'none')).warnings).toBeUndefined()
  })
})
