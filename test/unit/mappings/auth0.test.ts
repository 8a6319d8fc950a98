import { describe, expect, it } from 'vitest'
import { createAuth0Mapping } from '../../../mappings/auth0.ts'
import { mappingConfigSchema } from '../../../mappings/config.ts'
import type { MappingResult } from '../../../src/core/mapped-record.ts'
import {
  bcryptHash,
  blockedCsvUser,
  databaseUser,
  googleUser,
  importFormatUser,
  md5User,
  microsoftUser,
  phoneOnlyUser,
  totpSecret,
  usernameOnlyUser,
} from './auth0-profiles.ts'

function map(data: Record<string, unknown>, config: Record<string, unknown> = {}): MappingResult {
  const mapping = createAuth0Mapping(mappingConfigSchema.parse(config))
  return mapping({ kind: 'data', key: String(data['user_id'] ?? 'k'), origin: 'users.ndjson:1', data })
}

function mapped(data: Record<string, unknown>, config: Record<string, unknown> = {}) {
  const result = map(data, config)
  if (!result.ok) throw new Error(`expected a mapped record, got ${JSON.stringify(result.rejection)}`)
  return result.value
}

function rejected(data: Record<string, unknown>, config: Record<string, unknown> = {}) {
  const result = map(data, config)
  if (result.ok) throw new Error(`expected a rejection, got ${JSON.stringify(result.value.record)}`)
  return result
}

describe('createAuth0Mapping', () => {
  it('maps a database user: lower-cased email, Auth0 defaults dropped, roles, groups, bcrypt password', () => {
    expect(mapped(databaseUser)).toEqual({
      identifier: 'email',
      identifierValue: 'test2@example.com',
      record: {
        email: 'test2@example.com',
        email_verified: false,
        picture: databaseUser.picture,
        roles: ['staff', 'admin'],
        groups: ['hk-office'],
        password: { type: 'bcrypt', password_hash: bcryptHash },
      },
      passwordAlgorithm: 'bcrypt',
      passwordLane: 'imported',
      warnings: [],
    })
  })

  it('keeps Auth0 defaults and drops generated avatars when configured so', () => {
    const config = { drop_auth0_defaults: { name_equal_to_email: false, nickname_equal_to_email_local_part: false, gravatar_picture: true } }
    const { record } = mapped(databaseUser, config)
    expect(record).toMatchObject({ name: 'test2@example.com', nickname: 'test2' })
    expect(record).not.toHaveProperty('picture')
  })

  it('maps a phone-only user by phone number, in E.164', () => {
    expect(mapped(phoneOnlyUser)).toEqual({
      identifier: 'phone_number',
      identifierValue: '+14155552671',
      record: { phone_number: '+14155552671', phone_number_verified: true },
      passwordAlgorithm: 'none',
      passwordLane: 'none',
      warnings: [],
    })
  })

  it('maps a username-only user by lower-cased preferred_username', () => {
    const value = mapped(usernameOnlyUser)
    expect(value.identifier).toBe('preferred_username')
    expect(value.record).toEqual({ preferred_username: 'jane_doe', password: { type: 'bcrypt', password_hash: bcryptHash } })
  })

  it('maps a social user without a hash, keeping valid OIDC claims (the generated nickname dropped)', () => {
    expect(mapped(googleUser)).toEqual({
      identifier: 'email',
      identifierValue: 'jane.doe@gmail.com',
      record: {
        email: 'jane.doe@gmail.com',
        email_verified: true,
        name: 'Jane Doe',
        given_name: 'Jane',
        family_name: 'Doe',
        gender: 'female',
        picture: 'https://lh3.googleusercontent.com/a/photo.jpg',
        locale: 'en',
      },
      passwordAlgorithm: 'none',
      passwordLane: 'none',
      warnings: [],
    })
  })

  it('canonicalizes en_US and warns about linked identities', () => {
    const value = mapped(microsoftUser)
    expect(value.record.locale).toBe('en-US')
    expect(value.warnings).toEqual([
      "identities has 2 linked accounts; Authgear's import has no field for them, so the extra logins must be linked again",
    ])
  })

  it('maps blocked users to disabled, reads CSV booleans, and drops empty and invalid values with warnings', () => {
    expect(mapped(blockedCsvUser)).toEqual({
      identifier: 'email',
      identifierValue: 'blocked@example.com',
      record: { email: 'blocked@example.com', email_verified: true, disabled: true, roles: ['staff'] },
      passwordAlgorithm: 'none',
      passwordLane: 'none',
      warnings: [
        'locale left out: locale is not a valid BCP 47 language tag',
        'website left out: not an absolute URI',
        'birthdate left out: not YYYY-MM-DD, 0000-MM-DD, --MM-DD or YYYY',
        'zoneinfo left out: not an IANA time zone',
      ],
    })
  })

  it('omits disabled for users that are not blocked', () => {
    expect(mapped({ email: 'a@example.com', blocked: false }).record).toEqual({ email: 'a@example.com' })
    expect(mapped({ email: 'a@example.com', blocked: 'false' }).record).toEqual({ email: 'a@example.com' })
  })

  it('maps an import-format record with a bcrypt custom_password_hash and mfa_factors', () => {
    expect(mapped(importFormatUser)).toEqual({
      identifier: 'email',
      identifierValue: 'legacy@example.com',
      record: {
        email: 'legacy@example.com',
        email_verified: true,
        given_name: 'Lee',
        password: { type: 'bcrypt', password_hash: bcryptHash },
        mfa: { totp: { secret: totpSecret }, phone_number: '+85291234567', email: 'lee.backup@example.com' },
      },
      passwordAlgorithm: 'bcrypt',
      passwordLane: 'imported',
      warnings: [],
    })
  })

  it('leaves MFA out when mfa is off, and notes enrolled factors it cannot import', () => {
    expect(mapped(importFormatUser, { mfa: false }).record).not.toHaveProperty('mfa')
    const value = mapped({ email: 'a@example.com', multifactor: ['google-authenticator'] })
    expect(value.warnings).toEqual(['multifactor lists enrolled factors, which cannot be imported without their secrets (mfa_factors)'])
  })

  it('reads a hash merged into the profile under the hash export\'s own name, passwordHash', () => {
    const value = mapped({ email: 'e@example.com', passwordHash: bcryptHash })
    expect(value.record).toEqual({ email: 'e@example.com', password: { type: 'bcrypt', password_hash: bcryptHash } })
    expect(value.passwordLane).toBe('imported')
    // password_hash, where both are there, is the one used.
    expect(mapped({ email: 'e@example.com', password_hash: bcryptHash, passwordHash: 'md5:stale' }).passwordLane).toBe('imported')
  })

  it('sends a TOTP secret without its = padding, which Authgear\'s decoder refuses', () => {
    const value = mapped({ email: 'a@example.com', mfa_factors: [{ totp: { secret: 'JBSWY3DPEE======' } }] })
    expect(value.record.mfa).toEqual({ totp: { secret: 'JBSWY3DPEE' } })
    expect(value.warnings).toEqual([])
  })

  it('leaves out a locale, picture or website Authgear would refuse, rather than fail the whole record there', () => {
    const value = mapped({ email: 'a@example.com', locale: 'English', picture: 'https://cdn.example.com//avatars/c.png', website: 'https://example.com/100%' })
    expect(value.record).toEqual({ email: 'a@example.com' })
    expect(value.warnings).toEqual([
      'locale left out: locale is not a language with an optional script and region (variants and extensions are not imported)',
      'picture left out: not an http(s) URI',
      'website left out: not an absolute URI',
    ])
  })

  it('leaves out malformed and duplicate MFA factors without revealing secrets', () => {
    const value = mapped({
      email: 'a@example.com',
      mfa_factors: [{ totp: { secret: 'lowercase-not-base32!' } }, { totp: { secret: totpSecret } }, { totp: { secret: 'KRSXG5A' } }, { sms: {} }],
    })
    expect(value.record.mfa).toEqual({ totp: { secret: totpSecret } })
    expect(value.warnings).toEqual([
      'mfa_factors[0].totp.secret left out: not a base32 secret',
      'mfa_factors[2] left out: only one TOTP factor is imported',
      'mfa_factors[3] left out: not a totp, phone or email factor',
    ])
    expect(value.warnings.join()).not.toMatch(/lowercase-not-base32|KRSXG5A|JBSWY3DPEHPK3PXP/)
  })

  describe('non-bcrypt hashes', () => {
    it('imports without a password under import_without_password (the default)', () => {
      expect(mapped(md5User)).toEqual({
        identifier: 'email',
        identifierValue: 'md5@example.com',
        record: { email: 'md5@example.com' },
        passwordAlgorithm: 'md5',
        passwordLane: 'reset',
        warnings: ['custom_password_hash holds a password hash of type md5, which Authgear cannot import: imported without a password, the user must reset it'],
      })
    })

    it('rejects under dead_letter, naming the field but not the hash', () => {
      const result = rejected(md5User, { passwords: { non_bcrypt: 'dead_letter' } })
      expect(result).toEqual({
        ok: false,
        rejection: {
          code: 'password_policy',
          field: 'custom_password_hash',
          message: 'custom_password_hash holds a password hash of type md5, which Authgear cannot import, and passwords.non_bcrypt is dead_letter',
        },
        passwordAlgorithm: 'md5',
        // The login IDs read before the password was refused (a Debezium before image needs no more).
        loginsRead: { identifier: 'email', identifierValue: 'md5@example.com', logins: { email: 'md5@example.com' } },
      })
      expect(JSON.stringify(result)).not.toContain('5f4dcc3b5aa765d61d8327deb882cf99')
    })

    it('dead-letters unrecognised hashes by default, and can import them without a password', () => {
      const user = { email: 'x@example.com', password_hash: 'hunter2' }
      const result = rejected(user)
      expect(result.rejection).toMatchObject({ code: 'password_policy', field: 'password_hash' })
      expect(result.passwordAlgorithm).toBe('unknown')
      expect(JSON.stringify(result)).not.toContain('hunter2')
      const value = mapped(user, { passwords: { unknown: 'import_without_password' } })
      expect(value).toMatchObject({ passwordLane: 'reset', passwordAlgorithm: 'unknown', record: { email: 'x@example.com' } })
    })

    it('strips a {bcrypt} prefix and imports the hash', () => {
      const value = mapped({ email: 'a@example.com', password_hash: `{bcrypt}${bcryptHash}` })
      expect(value.record.password).toEqual({ type: 'bcrypt', password_hash: bcryptHash })
      expect(value.passwordLane).toBe('imported')
    })
  })

  describe('identifiers', () => {
    it('rejects a user with no login ID', () => {
      expect(rejected({ user_id: 'auth0|x', name: 'Nobody', email: '  ' }).rejection).toEqual({
        code: 'no_identifier',
        message: 'no value in email, phone_number, username to identify the user by',
      })
    })

    it('rejects an invalid identifier instead of matching by another login ID', () => {
      expect(rejected({ email: 'not-an-email', username: 'jane' }).rejection).toEqual({
        code: 'invalid_email',
        field: 'email',
        message: 'email: email has no "@"',
      })
      expect(rejected({ phone_number: '555-2671' }).rejection).toMatchObject({ code: 'invalid_phone_number', field: 'phone_number' })
    })

    it('uses default_phone_region for national numbers', () => {
      expect(mapped({ phone_number: '9123 4567' }, { default_phone_region: 'HK' }).identifierValue).toBe('+85291234567')
    })

    it('rejects a username identifier that breaks the username rules', () => {
      expect(rejected({ username: 'Admin' }).rejection).toEqual({
        code: 'invalid_username',
        field: 'username',
        message: 'username: username is a reserved name',
      })
      expect(rejected({ username: 'jane doe' }).rejection).toMatchObject({ code: 'invalid_username' })
    })

    it('drops a bad secondary username or phone with a warning', () => {
      const value = mapped({ email: 'a@example.com', username: 'root', phone_number: '12' })
      expect(value.record).toEqual({ email: 'a@example.com' })
      expect(value.warnings).toEqual([
        'phone_number left out: phone number has no "+<country code>" prefix and no default region applies',
        'username left out: username is a reserved name',
      ])
    })

    it('keeps valid secondary login IDs and their verified flags', () => {
      const value = mapped({ email: 'A@Example.com', email_verified: true, username: 'Alice', phone_number: '+85291234567', phone_verified: 'false' })
      expect(value.record).toEqual({
        email: 'a@example.com',
        email_verified: true,
        phone_number: '+85291234567',
        phone_number_verified: false,
        preferred_username: 'alice',
      })
    })

    it('follows a fixed identifier or an ordered list', () => {
      const user = { email: 'a@example.com', username: 'alice', phone_number: '+85291234567' }
      expect(mapped(user, { identifier: 'preferred_username' }).identifier).toBe('preferred_username')
      expect(mapped(user, { identifier: ['phone_number', 'email'] }).identifier).toBe('phone_number')
      expect(rejected({ email: 'a@example.com' }, { identifier: 'phone_number' }).rejection.code).toBe('no_identifier')
    })

    it('never sends a record without its identifier field', () => {
      for (const data of [databaseUser, phoneOnlyUser, usernameOnlyUser, googleUser, microsoftUser, blockedCsvUser, importFormatUser, md5User]) {
        const value = mapped(data)
        expect(value.record[value.identifier]).toBe(value.identifierValue)
      }
    })
  })

  describe('roles, groups and custom attributes', () => {
    it('reads configured source paths, including nested and indexed ones', () => {
      const value = mapped(databaseUser, {
        roles_from: 'app_metadata.plan',
        groups_from: null,
        custom_attributes: {
          auth0_user_id: 'user_id',
          country: 'user_metadata.country',
          first_connection: 'identities[0].connection',
          missing: 'user_metadata.nothing',
        },
      })
      expect(value.record.roles).toEqual(['gold'])
      expect(value.record).not.toHaveProperty('groups')
      expect(value.record.custom_attributes).toEqual({
        auth0_user_id: 'auth0|60425dc43519d90068f82973',
        country: 'HK',
        first_connection: 'Username-Password-Authentication',
      })
    })

    it('leaves out object-valued custom attributes and non-string role entries with warnings', () => {
      const value = mapped(
        { email: 'a@example.com', app_metadata: { roles: ['staff', 7, ''] }, user_metadata: { prefs: { a: 1 } } },
        { custom_attributes: { prefs: 'user_metadata.prefs' } },
      )
      expect(value.record).toEqual({ email: 'a@example.com', roles: ['staff'] })
      expect(value.warnings).toEqual([
        'app_metadata.roles: 2 entries that are not non-empty strings left out',
        'custom attribute prefs left out: user_metadata.prefs is not a string, number or boolean',
      ])
    })
  })

  it('warns about an address part that is not text instead of leaving it out unsaid', () => {
    const value = mapped({ email: 'z@example.com', address: { street_address: '1 Main St', postal_code: 94105, country: 'US' } })
    expect(value.record.address).toEqual({ street_address: '1 Main St', country: 'US' })
    expect(value.warnings).toEqual(['address.postal_code left out: not a string'])
  })

  describe('half characters', () => {
    it('leaves out a profile field, address part or custom attribute holding a lone surrogate (Authgear would store U+FFFD), and keeps the user', () => {
      const data = JSON.parse('{"email":"s@example.com","name":"Zo\\ud800","given_name":"Zo\\ud83d\\ude00","address":{"locality":"\\udc00x","country":"HK"},"user_metadata":{"team":"a\\ud800"}}') as Record<string, unknown>
      const value = mapped(data, { custom_attributes: { team: 'user_metadata.team' } })
      expect(value.record).toEqual({ email: 's@example.com', given_name: 'Zo😀', address: { country: 'HK' } })
      const reason = 'holds an unpaired UTF-16 surrogate (a \\uD800–\\uDFFF escape), which Authgear would store as U+FFFD'
      expect(value.warnings).toEqual([`name left out: ${reason}`, `address.locality left out: ${reason}`, `custom attribute team left out: ${reason}`])
      // A role or group key with one would name another key in Authgear.
      const roles = mapped(JSON.parse('{"email":"r@example.com","app_metadata":{"roles":["admin","adm\\ud800"]}}') as Record<string, unknown>)
      expect(roles.record.roles).toEqual(['admin'])
      expect(roles.warnings).toEqual([`app_metadata.roles: 1 entry left out: ${reason}`])
    })
  })

  describe('standard attributes kept elsewhere than at the root', () => {
    it('reads each configured one from its path, checked and normalized as the root field, and falls back to the root', () => {
      const user = { email: 'a@example.com', given_name: 'Root', locale: 'en', user_metadata: { address: { country: 'US', locality: ' Austin ' }, first_name: 'Meta', lang: 'pt_BR', site: 'not a uri' } }
      const value = mapped(user, { standard_attributes: { address: 'user_metadata.address', given_name: 'user_metadata.first_name', locale: 'user_metadata.lang', website: 'user_metadata.site', family_name: 'user_metadata.surname' } })
      expect(value.record).toMatchObject({ given_name: 'Meta', locale: 'pt-BR', address: { country: 'US', locality: 'Austin' } })
      expect(value.record).not.toHaveProperty('website')
      expect(value.record).not.toHaveProperty('family_name')
      expect(value.warnings.some((w) => w.startsWith('website left out'))).toBe(true)
      expect(mapped({ ...user, user_metadata: {} }, { standard_attributes: { given_name: 'user_metadata.first_name' } }).record.given_name).toBe('Root')
    })

    it('takes only standard attribute names', () => {
      expect(() => mappingConfigSchema.parse({ standard_attributes: { email: 'user_metadata.mail' } })).toThrow()
    })
  })

  it('sends bcrypt that Authgear would refuse (cost 03) down the non-bcrypt lane', () => {
    const result = rejected({ email: 'a@example.com', address: { formatted: 'x' }, password_hash: bcryptHash.replace('$10$', '$03$') }, {
      passwords: { non_bcrypt: 'dead_letter' },
    })
    expect(result.rejection).toMatchObject({ code: 'password_policy', field: 'password_hash' })
    expect(JSON.stringify(result)).not.toContain(bcryptHash.slice(7))
  })

  it('never throws, whatever the input', () => {
    const odd: Record<string, unknown>[] = [
      {},
      { email: 42 },
      { email: ['a@example.com'] },
      { username: {} },
      { email: 'a@example.com', mfa_factors: 'totp' },
      { email: 'a@example.com', address: 'Main St' },
      { email: 'a@example.com', name: 5, locale: 7, identities: 'x', app_metadata: null },
    ]
    for (const data of odd) expect(() => map(data)).not.toThrow()
    expect(rejected({ email: 42 }).rejection).toMatchObject({ code: 'invalid_email', field: 'email' })
    expect(mapped({ email: 'a@example.com', address: 'Main St', name: 5 }).warnings).toEqual([
      'name left out: not a string',
      'address left out: not an object',
    ])
  })
})
