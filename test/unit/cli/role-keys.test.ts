import { describe, expect, it } from 'vitest'
import type { ImportRecord } from '../../../src/core/mapped-record.ts'
import { RoleKeys } from '../../../src/cli/role-keys.ts'

const record = (roles?: string[], groups?: string[]) => ({ email: 'a@example.com', ...(roles ? { roles } : {}), ...(groups ? { groups } : {}) }) as ImportRecord

describe('RoleKeys', () => {
  it('lists each role and group key with the records sending it, most first, and says nothing when none is sent', () => {
    const keys = new RoleKeys()
    expect(keys.lines()).toEqual([])
    keys.add(record(['member']))
    keys.add(record(['admin', 'member'], ['staff']))
    keys.add(record([], []))
    const lines = keys.lines()
    expect(lines[0]).toContain('must exist in the Authgear project before the import')
    expect(lines.slice(1).map((line) => line.trim().split(/\s+/))).toEqual([
      ['role', 'member', '2', 'records'],
      ['role', 'admin', '1', 'record'],
      ['group', 'staff', '1', 'record'],
    ])
  })

  it('with the embedded emulator, names the first key its project lacks (the record fails there) and marks it in the list', () => {
    const keys = new RoleKeys({ roles: ['admin'], groups: ['staff'] })
    expect(keys.add(record(['admin'], ['staff']))).toBeUndefined()
    expect(keys.add(record(['admin', 'ghost'], ['nobody']))).toEqual({ kind: 'role', key: 'ghost' })
    expect(keys.add(record(undefined, ['nobody']))).toEqual({ kind: 'group', key: 'nobody' })
    expect(keys.lines().filter((line) => line.endsWith('(not in the emulated project)')).map((line) => line.trim().split(/\s+/)[1])).toEqual(['ghost', 'nobody'])
  })

  it('counts at most maxKeys keys a kind, and says how many more were sent (a field of free text, say)', () => {
    const keys = new RoleKeys(undefined, 3)
    for (let i = 0; i < 30; i++) keys.add(record([`r${i % 5}`]))
    expect(keys.lines().at(-1)).toBe('  … and 0 more role keys, and more past the first 3 counted (12 sent; is the field free text?)')
    const many = new RoleKeys()
    for (let i = 0; i < 25; i++) many.add(record([`r${i}`]))
    expect(many.lines()).toHaveLength(1 + 20 + 1)
    expect(many.lines().at(-1)).toBe('  … and 5 more role keys')
  })
})
