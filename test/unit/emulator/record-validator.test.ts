import { describe, expect, it } from 'vitest'
import { RecordValidator } from '../../../src/emulator/record-validator.ts'

const validator = new RecordValidator()

describe('RecordValidator', () => {
  it('accepts a full valid email record', () => {
    const record = {
      email: 'jane@example.com',
      email_verified: true,
      phone_number: '+85298765432',
      preferred_username: null,
      given_name: 'Jane',
      profile: 'https://example.com/jane',
      picture: 'authgearimages:///app/pic',
      birthdate: '--03-14',
      zoneinfo: 'Asia/Hong_Kong',
      locale: 'en-US',
      address: { country: 'HK', extra: 'kept' },
      account_valid_from: '2024-01-01T00:00:00Z',
      custom_attributes: { anything: 1 },
      roles: ['staff'],
      groups: [],
      password: { type: 'bcrypt', password_hash: '$2a$10$x', expire_after: '2030-01-01T00:00:00+08:00' },
      mfa: { email: null, totp: { secret: 'JBSWY3DPEHPK3PXP' } },
    }
    expect(validator.validate('email', record)).toEqual([])
  })

  it('requires the identifier field but lets it be null (the chunk-crash quirk)', () => {
    expect(validator.validate('email', { phone_number: '+85298765432' })).toEqual([
      { location: '', kind: 'required', details: { actual: ['phone_number'], expected: ['email'], missing: ['email'] } },
    ])
    expect(validator.validate('email', { email: null })).toEqual([])
  })

  it('refuses a date-time with a leap second, as Go\'s time.Parse does', () => {
    expect(validator.validate('email', { email: 'a@example.com', account_valid_until: '2030-12-31T23:59:60Z' }).map((c) => `${c.location} ${c.kind}`)).toEqual(['/account_valid_until format'])
    expect(validator.validate('email', { email: 'a@example.com', account_valid_until: '2030-12-31T23:59:59Z' })).toEqual([])
  })

  it('reports each problem at its location relative to the record', () => {
    const causes = validator.validate('phone_number', {
      phone_number: '85298765432',
      email: 'not-an-email',
      middle_name: '',
      disabled: null,
      locale: 'en_us',
      zoneinfo: 'UTC',
      website: 'example.com',
      birthdate: '1990-02-30',
      account_valid_until: '2024-01-01',
      roles: ['', 3],
      custom_attributes: null,
      password: { type: 'md5', password_hash: '' },
      mfa: { totp: {}, other: 1 },
      unknown_field: 1,
    })
    const summary = causes.map((c) => `${c.location} ${c.kind}`).sort()
    expect(summary).toEqual([
      '/account_valid_until format',
      '/birthdate format',
      '/custom_attributes type',
      '/disabled type',
      '/email format',
      '/locale format',
      '/mfa/other ',
      '/mfa/totp required',
      '/middle_name minLength',
      '/password/password_hash minLength',
      '/password/type enum',
      '/phone_number format',
      '/roles/0 minLength',
      '/roles/1 type',
      '/unknown_field ',
      '/website format',
      '/zoneinfo format',
    ])
    expect(causes.find((c) => c.location === '/disabled')?.details).toEqual({ actual: ['null'], expected: ['boolean'] })
    expect(causes.find((c) => c.location === '/email')?.details).toMatchObject({ format: 'email' })
  })

  it('uses the schema of the identifier in use', () => {
    expect(validator.validate('preferred_username', { preferred_username: 'jane' })).toEqual([])
    expect(validator.validate('preferred_username', { preferred_username: '' })).toEqual([
      { location: '/preferred_username', kind: 'minLength', details: { actual: 0, expected: 1 } },
    ])
  })

  it('refuses what Go refuses though Intl or a lax pattern would take it: lower-case t and z, removed zones, unclean image paths', () => {
    const formatAt = (record: Record<string, unknown>) => validator.validate('email', { email: 'a@example.com', ...record }).map((c) => `${c.location} ${c.kind}`)
    expect(formatAt({ account_valid_from: '2024-01-01t00:00:00z' })).toEqual(['/account_valid_from format'])
    expect(formatAt({ account_valid_from: '2024-01-01T00:00:00Z' })).toEqual([])
    for (const zone of ['US/Pacific-New', 'Canada/East-Saskatchewan', 'SystemV/AST4']) expect(formatAt({ zoneinfo: zone }), zone).toEqual(['/zoneinfo format'])
    expect(formatAt({ zoneinfo: 'US/Pacific' })).toEqual([])
    for (const picture of ['authgearimages:///a//b', 'authgearimages:///a/./b', 'authgearimages:///a/', 'authgearimages:///']) expect(formatAt({ picture }), picture).toEqual(['/picture format'])
    expect(formatAt({ picture: 'authgearimages:///app/pic' })).toEqual([])
  })

  it('checks phone numbers by the configured strictness', () => {
    const strict = validator.validate('phone_number', { phone_number: '+85200000000' })
    expect(strict.map((c) => c.kind)).toEqual(['format'])
    const possible = new RecordValidator('is_possible_number').validate('phone_number', { phone_number: '+85200000000' })
    expect(possible).toEqual([])
  })
})
