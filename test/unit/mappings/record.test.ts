import { describe, expect, it } from 'vitest'
import { checkImportRecord, IdentifierTypes, importRecordSchema } from '../../../mappings/record.ts'
import { bcrypt, fullRecord } from './full-record.ts'

const full = fullRecord

describe('checkImportRecord', () => {
  it('accepts a record using every field, under each identifier', () => {
    for (const identifier of IdentifierTypes) expect(checkImportRecord(identifier, full)).toEqual({ ok: true })
  })

  it('requires the identifier field as a non-null string, and allows null for the other two', () => {
    expect(checkImportRecord('email', { email: 'a@example.com', phone_number: null, preferred_username: null })).toEqual({ ok: true })
    expect(checkImportRecord('email', { email: null })).toMatchObject({ ok: false, causes: [{ location: '/email' }] })
    expect(checkImportRecord('email', { preferred_username: 'jane' })).toMatchObject({ ok: false, causes: [{ location: '/email' }] })
    expect(checkImportRecord('preferred_username', { preferred_username: '' })).toMatchObject({
      ok: false,
      causes: [{ location: '/preferred_username' }],
    })
    expect(checkImportRecord('phone_number', { phone_number: '4155552671' })).toMatchObject({ ok: false, causes: [{ location: '/phone_number' }] })
  })

  it.each([
    [{ middle_name: '' }, '/middle_name'],
    [{ email_verified: null }, '/email_verified'],
    [{ disabled: 'true' }, '/disabled'],
    [{ account_valid_from: null }, '/account_valid_from'],
    [{ account_valid_until: '2030-01-01' }, '/account_valid_until'],
    [{ locale: 'en_US' }, '/locale'],
    [{ locale: 'en-us' }, '/locale'],
    [{ zoneinfo: 'asia/hong_kong' }, '/zoneinfo'],
    [{ zoneinfo: 'UTC' }, '/zoneinfo'],
    [{ birthdate: '2021-02-29' }, '/birthdate'],
    [{ birthdate: '21-01-01' }, '/birthdate'],
    [{ picture: 'ftp://example.com/a.png' }, '/picture'],
    [{ website: 'example.com' }, '/website'],
    [{ address: { locality: '' } }, '/address/locality'],
    [{ custom_attributes: null }, '/custom_attributes'],
    [{ roles: ['staff', ''] }, '/roles/1'],
    [{ groups: null }, '/groups'],
    [{ password: { type: 'bcrypt', password_hash: 'md5:abc' } }, '/password/password_hash'],
    [{ password: { type: 'bcrypt', password_hash: bcrypt.replace('$10$', '$03$') } }, '/password/password_hash'],
    [{ password: { type: 'argon2', password_hash: bcrypt } }, '/password/type'],
    [{ password: { type: 'bcrypt', password_hash: bcrypt, salt: 'x' } }, '/password/salt'],
    [{ mfa: { totp: { secret: 'not base32!' } } }, '/mfa/totp/secret'],
    // Values Authgear's own checks refuse though a looser reading would take them: a padded TOTP
    // secret, a path that is not clean, a bad escape, a language Go's parser does not read.
    [{ mfa: { totp: { secret: 'JBSWY3DPEE======' } } }, '/mfa/totp/secret'],
    [{ picture: 'https://cdn.example.com//avatars/c.png' }, '/picture'],
    [{ website: 'https://example.com/blog/../about' }, '/website'],
    [{ website: 'https://example.com/./about' }, '/website'],
    [{ profile: 'https://example.com/100%' }, '/profile'],
    [{ profile: 'https://example.com/a#%zz' }, '/profile'],
    [{ website: 'https:/example.com/a' }, '/website'],
    [{ website: 'https:example.com' }, '/website'],
    [{ website: 'https://example.com/a\tb' }, '/website'],
    [{ website: 'https://example.com\\a\\..\\b' }, '/website'],
    [{ website: 'https://ex%41mple.com/a' }, '/website'],
    [{ locale: 'english' }, '/locale'],
    [{ locale: 'sl-biske-rozaj' }, '/locale'],
    [{ locale: 'en-US-u-ca-gregory' }, '/locale'],
    [{ mfa: { email: 'nope' } }, '/mfa/email'],
    [{ mfa: { recovery_codes: [] } }, '/mfa/recovery_codes'],
    [{ user_id: 'auth0|1' }, '/user_id'],
  ])('rejects %j at %s', (extra, location) => {
    const result = checkImportRecord('email', { email: 'jane@example.com', ...extra })
    expect(result.ok).toBe(false)
    if (!result.ok) expect(result.causes.map((c) => c.location)).toContain(location)
  })

  it('accepts the URLs and tags Authgear accepts: no path, a trailing slash, escapes, queries', () => {
    for (const extra of [
      { picture: 'https://s.gravatar.com/avatar/abc?s=480&r=pg&d=https%3A%2F%2Fcdn.auth0.com%2Favatars%2Fte.png' },
      { website: 'https://example.com' },
      { website: 'https://example.com/' },
      { website: 'https://example.com/a/b/?q=../x//y' },
      { profile: 'https://example.com/%7Ejane#top' },
      { locale: 'zh-Hant-HK' },
      { locale: 'es-419' },
    ]) {
      expect(checkImportRecord('email', { email: 'jane@example.com', ...extra }), JSON.stringify(extra)).toEqual({ ok: true })
    }
  })

  it('never echoes a rejected value in its messages', () => {
    const secret = 'MY-SECRET-VALUE'
    const result = checkImportRecord('email', {
      email: secret,
      password: { type: 'bcrypt', password_hash: secret },
      mfa: { totp: { secret } },
    })
    expect(result.ok).toBe(false)
    expect(JSON.stringify(result)).not.toContain(secret)
  })

  it('escapes JSON pointer segments', () => {
    const result = checkImportRecord('email', { email: 'a@example.com', 'a/b~c': 1 })
    expect(result).toEqual({ ok: false, causes: [{ location: '/a~1b~0c', message: 'is not an allowed field' }] })
  })

  it('exposes the zod schema per identifier', () => {
    expect(importRecordSchema('phone_number').safeParse({ phone_number: '+85291234567' }).success).toBe(true)
  })
})
