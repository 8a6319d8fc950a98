import { describe, expect, it } from 'vitest'
import type { ImportRecord } from '../../../src/core/mapped-record.ts'
import { ProjectNeeds } from '../../../src/cli/project-needs.ts'

const record = (roles?: string[], groups?: string[], custom_attributes?: Record<string, unknown>) =>
  ({ email: 'a@example.com', ...(roles ? { roles } : {}), ...(groups ? { groups } : {}), ...(custom_attributes ? { custom_attributes } : {}) }) as ImportRecord
const cells = (lines: string[]) => lines.slice(1).map((line) => line.trim().split(/\s+/))

describe('ProjectNeeds', () => {
  it('redacts a role or group key that is a secret (roles_from pointed at the password field)', () => {
    const needs = new ProjectNeeds()
    needs.add(record([`$2b$10$${'r'.repeat(53)}`], ['staff']))
    expect(needs.lines().join('\n')).not.toContain('rrrr')
    expect(cells(needs.lines())).toEqual([['role', 'REDACTED', '1', 'record'], ['group', 'staff', '1', 'record']])
  })

  it('lists the role keys, group keys and custom attributes the records send, most records first; nothing when none is sent', () => {
    const needs = new ProjectNeeds()
    expect(needs.lines()).toEqual([])
    needs.add(record(['member'], undefined, { plan: 'gold', age: 41 }))
    needs.add(record(['admin', 'member'], ['staff'], { age: '41', gone: null }))
    needs.add(record([], []))
    const lines = needs.lines()
    expect(lines[0]).toContain('what the records need the Authgear project to define before the import')
    expect(cells(lines)).toEqual([
      ['role', 'member', '2', 'records'],
      ['role', 'admin', '1', 'record'],
      ['group', 'staff', '1', 'record'],
      ['attribute', 'age', '2', 'records', '(number', '1,', 'string', '1)'],
      ['attribute', 'plan', '1', 'record', '(string', '1)'],
    ])
  })

  it('with the embedded emulator, says why its project refuses a record (unknown keys, a value that does not fit) and marks what it lacks', () => {
    const needs = new ProjectNeeds({ roles: ['admin'], groups: ['staff'], custom_attributes: [{ name: 'age', type: 'integer' }], phone_validation: 'is_valid_number' })
    expect(needs.add(record(['admin'], ['staff'], { age: 41, extra: 'x' }))).toBeUndefined()
    expect(needs.add(record(['admin', 'ghost', 'ghost'], ['nobody']))).toEqual({ code: 'RoleUnknownKeys', message: 'unknown role keys (RoleUnknownKeys): ghost' })
    expect(needs.add(record(undefined, ['nobody']))).toEqual({ code: 'GroupUnknownKeys', message: 'unknown group keys (GroupUnknownKeys): nobody' })
    expect(needs.add(record(undefined, undefined, { age: 'forty' }))?.code).toBe('ValidationFailed')
    const marked = needs.lines().filter((line) => line.endsWith('(not in the emulated project)')).map((line) => line.trim().split(/\s+/).slice(0, 2))
    expect(marked).toEqual([['role', 'ghost'], ['group', 'nobody'], ['attribute', 'extra']])
  })

  it('counts at most maxNames names a kind, and says how many more were sent (a field of free text, say)', () => {
    const needs = new ProjectNeeds(undefined, 3)
    for (let i = 0; i < 30; i++) needs.add(record([`r${i % 5}`]))
    expect(needs.lines().at(-1)).toBe('  … and 0 more role keys, and more past the first 3 counted (12 sent; is the field free text?)')
    const many = new ProjectNeeds()
    for (let i = 0; i < 25; i++) many.add(record([`r${i}`]))
    expect(many.lines()).toHaveLength(1 + 20 + 1)
    expect(many.lines().at(-1)).toBe('  … and 5 more role keys')
  })
})
