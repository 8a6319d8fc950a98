import { describe, expect, it } from 'vitest'
import type { MappedRecord } from '../../../src/core/mapped-record.ts'
import { AppliedRecords } from '../../../src/runtime/applied-records.ts'
import type { Settleable } from '../../../src/runtime/work-item.ts'

const record = (key: string, action?: 'delete'): Settleable => ({
  source: { kind: 'data', key, origin: key, data: {} },
  mapped: { identifier: 'email', identifierValue: 'a@example.com', record: { email: 'a@example.com' }, passwordAlgorithm: 'none', passwordLane: 'none', warnings: [], ...(action ? { action } : {}) } as MappedRecord,
  ticket: { settle: () => undefined },
})

describe('AppliedRecords', () => {
  it('says whether an import was applied (inserted or updated), not for deletes, superseded versions or records it never saw', () => {
    const applied = new AppliedRecords()
    applied.note(record('t/0/1'), { kind: 'inserted', userId: 'u' })
    applied.note(record('t/0/2'), { kind: 'updated', userId: 'u' })
    applied.note(record('t/0/3'), { kind: 'skipped', userId: 'u' })
    applied.note(record('t/0/4'), { kind: 'failed', code: 'InvariantViolated' })
    applied.note(record('t/0/5'), { kind: 'superseded' })
    applied.note(record('t/0/6', 'delete'), { kind: 'deleted', userId: 'u' })
    expect(['t/0/1', 't/0/2', 't/0/3', 't/0/4', 't/0/5', 't/0/6', 't/0/7'].map((key) => applied.applied(key))).toEqual([true, true, false, false, undefined, undefined, undefined])
  })

  it('forgets the oldest past 100,000 outcomes', () => {
    const applied = new AppliedRecords()
    for (let i = 0; i <= 100_000; i++) applied.note(record(`t/0/${i}`), { kind: 'inserted', userId: 'u' })
    expect(applied.applied('t/0/0')).toBeUndefined()
    expect(applied.applied('t/0/1')).toBe(true)
    expect(applied.applied('t/0/100000')).toBe(true)
  })
})
