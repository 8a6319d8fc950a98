import { describe, expect, it } from 'vitest'
import { exportKey, fromExportRecord, fromMappedRecord } from '../../../src/reconcile/comparable-user.ts'
import { compareUsers } from '../../../src/reconcile/compare-users.ts'
import { FieldGroups } from '../../../src/reconcile/config.ts'

const all = new Set(FieldGroups)
const exported = (extra: Record<string, unknown>) => ({
  sub: 'u1', email: 'a@x.com', email_verified: true, phone_number_verified: false, address: {}, created_at: '2026-01-01T00:00:00Z',
  disabled: false, is_anonymized: false, mfa: {}, biometric_count: 0, passkey_count: 0, ...extra,
})

describe('reconcile comparison', () => {
  it('matches a faithful import: roles as sets, timestamps by instant, absent equals empty', () => {
    const want = fromMappedRecord('auth0|1', 'f:1', {
      email: 'a@x.com', email_verified: true, name: 'Ann', roles: ['b', 'a'], groups: [], account_valid_from: '2026-01-01T01:00:00+01:00',
      custom_attributes: { plan: 'pro' }, password: { type: 'bcrypt', password_hash: 'x' },
    })
    const have = fromExportRecord(exported({ name: 'Ann', roles: ['a', 'b'], account_valid_from: '2026-01-01T00:00:00Z', custom_attributes: { plan: 'pro', other: 1 }, family_name: 'Lee' }))
    expect(compareUsers(want, have, all)).toEqual([])
    expect(want.password).toBe(true)
  })

  it('reports each differing field with expected and actual values', () => {
    const want = fromMappedRecord('k', 'o', { email: 'a@x.com', name: 'Ann', disabled: true, custom_attributes: { plan: 'pro' }, mfa: { totp: { secret: 'S' } } })
    const have = fromExportRecord(exported({ email_verified: false, name: 'Anne', custom_attributes: { plan: 'free' } }))
    expect(compareUsers(want, have, all)).toEqual([
      { field: 'name', expected: 'Ann', actual: 'Anne' },
      { field: 'disabled', expected: true, actual: false },
      { field: 'custom_attributes.plan', expected: 'pro', actual: 'free' },
      { field: 'mfa.totp', expected: true, actual: false },
    ])
    expect(compareUsers(want, have, new Set(['disabled'] as const))).toEqual([{ field: 'disabled', expected: true, actual: false }])
  })

  it('a null in the mapped record expects the field gone; an unsent field is not compared', () => {
    const want = fromMappedRecord('k', 'o', { email: 'a@x.com', nickname: null })
    expect(compareUsers(want, fromExportRecord(exported({ nickname: 'n', name: 'whatever' })), all)).toEqual([
      { field: 'email_verified', expected: false, actual: true },
      { field: 'nickname', expected: null, actual: 'n' },
    ])
  })

  it('keys exported users by the mapping identifier order', () => {
    const record = { sub: 'u', email: 'a@x.com', phone_number: '+4790000000', preferred_username: 'ann' }
    expect(exportKey(record, ['email', 'phone_number', 'preferred_username'])).toBe('email:a@x.com')
    expect(exportKey(record, ['preferred_username'])).toBe('preferred_username:ann')
    expect(exportKey({ sub: 'u' }, ['email'])).toBe('sub:u')
  })
})

describe('fields the mapping is configured to send', () => {
  const groups = new Set(['roles', 'groups', 'custom_attributes'] as const)
  const expected = { roles: true, groups: false, customAttributes: ['plan'] }

  it('are expected unset when a record lacks them (an insert leaves them so), and are then compared', () => {
    const source = fromMappedRecord('k1', 'users.ndjson:1', { email: 'a@example.com' }, expected)
    const granted = fromExportRecord({ sub: 'u1', email: 'a@example.com', roles: ['admin'], groups: ['staff'], custom_attributes: { plan: 'pro' } })
    expect(compareUsers(source, granted, groups)).toEqual([
      { field: 'roles', expected: [], actual: ['admin'] },
      { field: 'custom_attributes.plan', expected: null, actual: 'pro' },
    ])
    expect(compareUsers(source, fromExportRecord({ sub: 'u1', email: 'a@example.com' }), groups)).toEqual([])
  })

  it('are not compared when the record lacks them and nothing says the mapping would send them (upsert keeps them)', () => {
    const source = fromMappedRecord('k1', 'users.ndjson:1', { email: 'a@example.com' })
    expect(compareUsers(source, fromExportRecord({ sub: 'u1', email: 'a@example.com', roles: ['admin'], custom_attributes: { plan: 'pro' } }), groups)).toEqual([])
  })
})
