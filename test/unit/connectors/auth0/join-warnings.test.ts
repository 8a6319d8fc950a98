import { describe, expect, it } from 'vitest'
import { joinWarnings } from '../../../../connectors/auth0/source.ts'

describe('the password-hash join warning', () => {
  it('says what the users without a hash line get, and "none matched" only of a fair sample', () => {
    expect(joinWarnings({ id: 0, email: 0, none: 6, ambiguous: 0 })).toEqual([
      'password-hash join: 6 of 6 database users (100%) have no line in the password-hash export, so those imported get no password, which cannot be added later; check that the export is from this tenant and complete (none matched at all)',
    ])
    // One user appended to an export whose run had completed: not a sign of another tenant.
    expect(joinWarnings({ id: 0, email: 0, none: 1, ambiguous: 0 })[0]).not.toContain('none matched')
    expect(joinWarnings({ id: 4, email: 0, none: 2, ambiguous: 0 })[0]).toContain('2 of 6 database users (33.3%)')
  })
})
