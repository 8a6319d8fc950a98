import { describe, expect, it } from 'vitest'
import { CustomAttributeChecker } from '../../../src/emulator/custom-attributes.ts'
import type { ImportProject, RecordResult } from '../../../src/emulator/import-project.ts'
import type { IdentifierType } from '../../../src/emulator/import-request.ts'
import { RecordImporter } from '../../../src/emulator/record-importer.ts'
import { RecordValidator } from '../../../src/emulator/record-validator.ts'
import { UserStore } from '../../../src/emulator/user-store.ts'

const hash = '$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy'

function setup(overrides: Partial<ImportProject> = {}) {
  const store = new UserStore()
  const project: ImportProject = {
    store,
    loginIdKeys: new Set(['email', 'phone', 'username']),
    roles: new Set(['staff', 'admin']),
    groups: new Set(['team']),
    customAttributes: new CustomAttributeChecker(
      [
        { name: 'member_id', type: 'string' },
        { name: 'level', type: 'integer', minimum: 1 },
      ],
      'is_valid_number',
    ),
    now: () => '2026-01-01T00:00:00Z',
    ...overrides,
  }
  const importer = new RecordImporter(project, new RecordValidator())
  const run = (identifier: IdentifierType, upsert: boolean, record: Record<string, unknown>): RecordResult => {
    const result = importer.importRecord(identifier, upsert, record)
    if (result === 'crash') throw new Error('crash')
    return result
  }
  return { store, run, importer }
}

const warningsOf = (r: RecordResult) => (r.outcome === 'failed' ? [] : r.warnings)
const errorOf = (r: RecordResult) => (r.outcome === 'failed' ? r.error : undefined)

describe('lookup and normalization', () => {
  it('stores login IDs normalized and looks up the raw input against them', () => {
    const { store, run } = setup()
    expect(run('email', false, { email: 'John@Example.com' }).outcome).toBe('inserted')
    expect(store.findByLoginId('email', 'JOHN@example.COM')?.email).toEqual({ value: 'john@example.com', original: 'John@Example.com', verified: false })
    // The raw, un-normalized value finds nothing; the insert then collides.
    const again = run('email', true, { email: 'John@Example.com' })
    expect(errorOf(again)).toMatchObject({ reason: 'InvariantViolated', info: { cause: { kind: 'DuplicatedIdentity' } } })
    expect(run('email', false, { email: 'john@example.com' }).outcome).toBe('skipped')
    expect(store.count()).toBe(1)
  })

  it('refuses as a duplicate the same address with its domain in Unicode and in punycode (one unique key)', () => {
    const { store, run } = setup()
    expect(run('email', false, { email: 'a@bücher.de' }).outcome).toBe('inserted')
    expect(errorOf(run('email', false, { email: 'a@xn--bcher-kva.de' }))).toMatchObject({ reason: 'InvariantViolated', info: { cause: { kind: 'DuplicatedIdentity' } } })
    expect(run('email', false, { email: 'b@xn--bcher-kva.de' }).outcome).toBe('inserted')
    expect(errorOf(run('email', false, { email: 'B@Bücher.de' }))).toMatchObject({ reason: 'InvariantViolated' })
    // The stored value itself is still found by its raw lookup, and freed when removed.
    expect(run('email', false, { email: 'a@bücher.de' }).outcome).toBe('skipped')
    store.removeLoginId(store.findByLoginId('email', 'a@bücher.de')!, 'email')
    expect(run('email', false, { email: 'a@xn--bcher-kva.de' }).outcome).toBe('inserted')
    expect(store.count()).toBe(3)
    // Go's Punycode profile maps nothing: a full-width letter makes another domain, not example.com.
    expect(run('email', false, { email: 'c@example.com' }).outcome).toBe('inserted')
    expect(run('email', false, { email: 'c@ｅxample.com' }).outcome).toBe('inserted')
  })

  it('fails with UnexpectedError when more than one identity holds the claim', () => {
    const { store, run } = setup()
    run('email', false, { email: 'a@example.com' })
    const user = store.findByLoginId('email', 'a@example.com')!
    store.addOAuthIdentity(user, { providerType: 'google', providerAlias: 'google', subjectId: '1', claims: { email: 'a@example.com' } })
    expect(errorOf(run('email', true, { email: 'a@example.com' }))).toMatchObject({ name: 'InternalError', reason: 'UnexpectedError', code: 500 })
  })

  it('reports a duplicate held by an OAuth identity with its provider type', () => {
    const { store, run } = setup()
    run('email', false, { email: 'a@example.com' })
    store.addOAuthIdentity(store.findByLoginId('email', 'a@example.com')!, {
      providerType: 'google', providerAlias: 'google', subjectId: '1', claims: { phone_number: '+85298765432' },
    })
    const result = run('email', false, { email: 'b@example.com', phone_number: '+85298765432' })
    expect(errorOf(result)?.info).toEqual({
      IdentityTypeExisting: 'oauth',
      IdentityTypeIncoming: 'login_id',
      LoginIDTypeIncoming: 'phone',
      OAuthProviderTypeExisting: 'google',
      cause: { kind: 'DuplicatedIdentity' },
    })
    expect(store.count()).toBe(1)
  })

  it('signals a crash for a null identifier', () => {
    const { importer } = setup()
    expect(importer.importRecord('email', false, { email: null })).toBe('crash')
  })
})

describe('insert rules', () => {
  it('gives the exact insert warnings', () => {
    const { run } = setup()
    const result = run('email', false, {
      email: 'a@example.com',
      phone_number: null,
      email_verified: false,
      phone_number_verified: true,
      disabled: false,
      mfa: { email: null, phone_number: null },
    })
    expect(result.outcome).toBe('inserted')
    expect(warningsOf(result)).toEqual([
      'phone_number = null has no effect in insert.',
      'email_verified = false has no effect in insert.',
      'phone_number_verified = true has no effect when phone_number is absent.',
      'disabled = false has no effect in insert.',
      'mfa.email = null has no effect in insert.',
      'mfa.phone_number = null has no effect in insert.',
    ])
  })

  it('ignores login fields whose key the project does not allow, even the identifier', () => {
    const { store, run } = setup({ loginIdKeys: new Set(['email']) })
    const result = run('email', false, { email: 'a@example.com', preferred_username: 'alice' })
    expect(warningsOf(result)).toEqual(['preferred_username is ignored because it is not an allowed login ID.'])
    const none = setup({ loginIdKeys: new Set(['phone']) })
    const bare = none.run('email', false, { email: 'b@example.com' })
    expect(bare.outcome).toBe('inserted')
    expect(warningsOf(bare)).toEqual(['email is ignored because it is not an allowed login ID.'])
    expect(none.store.findByLoginId('email', 'b@example.com')).toBeUndefined()
    expect(store.count()).toBe(1)
  })

  it('warns that a verified flag has no effect when its login ID was not created (a key the project does not allow)', () => {
    const { run } = setup({ loginIdKeys: new Set(['email']) })
    const result = run('email', false, { email: 'a@example.com', phone_number: '+85298765433', phone_number_verified: true })
    expect(warningsOf(result)).toEqual([
      'phone_number is ignored because it is not an allowed login ID.',
      'phone_number_verified = true has no effect when phone_number is absent.',
    ])
  })

  it('keeps on a failed record the warnings of the steps before the failure, in Authgear\'s step order', () => {
    const { store, run } = setup()
    // Verified claims come before roles: their warning stays; MFA comes after: its warning never comes.
    const failed = run('email', false, { email: 'v1@example.com', email_verified: false, roles: ['nope'], mfa: { email: null } })
    expect(failed).toMatchObject({ outcome: 'failed', error: { reason: 'RoleUnknownKeys' }, warnings: ['email_verified = false has no effect in insert.'] })
    // Every login field's warning is given before any identity is checked.
    const duplicate = run('email', false, { email: 'v2@example.com' })
    expect(duplicate.outcome).toBe('inserted')
    const again = run('phone_number', false, { phone_number: '+85298765434', email: 'v2@example.com', preferred_username: null })
    expect(again).toMatchObject({ outcome: 'failed', error: { reason: 'InvariantViolated' }, warnings: ['preferred_username = null has no effect in insert.'] })
    // A bad MFA password fails before the mfa.email warning.
    const mfa = run('email', false, { email: 'v3@example.com', mfa: { email: null, password: { type: 'bcrypt', password_hash: '$2a$10$short' } } })
    expect(mfa).toMatchObject({ outcome: 'failed', error: { reason: 'InvalidBcryptHash' }, warnings: [] })
    expect(store.count()).toBe(1)
  })

  it('applies the username rules', () => {
    const { run } = setup()
    expect(errorOf(run('preferred_username', false, { preferred_username: 'admin' }))).toMatchObject({
      reason: 'ValidationFailed',
      message: 'invalid login ID',
      info: { causes: [{ kind: 'blocked', details: { reason: 'UsernameReserved' } }] },
    })
    expect(errorOf(run('preferred_username', false, { preferred_username: 'has space' }))?.info).toMatchObject({ causes: [{ kind: 'format' }] })
    expect(errorOf(run('preferred_username', false, { preferred_username: 'x'.repeat(41) }))?.info).toMatchObject({ causes: [{ kind: 'maxLength' }] })
    expect(run('preferred_username', false, { preferred_username: 'Alice.Smith' }).outcome).toBe('inserted')
  })

  it('fails unknown roles and groups, bad hashes and bad custom attributes without writing anything', () => {
    const { store, run } = setup()
    expect(errorOf(run('email', false, { email: 'a@example.com', roles: ['staff', 'ghost'] }))).toEqual({
      name: 'NotFound', reason: 'RoleUnknownKeys', message: 'unknown role keys', code: 404, info: { keys: ['ghost'] },
    })
    expect(errorOf(run('email', false, { email: 'a@example.com', groups: ['nope'] }))).toMatchObject({ reason: 'GroupUnknownKeys', info: { keys: ['nope'] } })
    expect(errorOf(run('email', false, { email: 'a@example.com', password: { type: 'bcrypt', password_hash: '$2a$10$short' } }))).toMatchObject({
      name: 'Invalid', reason: 'InvalidBcryptHash', code: 400,
    })
    expect(errorOf(run('email', false, { email: 'a@example.com', password: { type: 'bcrypt', password_hash: 'plain' } }))).toMatchObject({
      reason: 'UnexpectedError', code: 500,
    })
    // Authgear's alpha-2 list is libphonenumber's regions less AC and TA: UK (not a code) and AQ are refused.
    const countries = setup({ customAttributes: new CustomAttributeChecker([{ name: 'country', type: 'country_code' }], 'is_valid_number') })
    expect(countries.run('email', false, { email: 'gb@example.com', custom_attributes: { country: 'GB' } }).outcome).toBe('inserted')
    for (const code of ['UK', 'AQ', 'AC', 'ZZ']) expect(errorOf(countries.run('email', false, { email: `${code}@example.com`, custom_attributes: { country: code } }))?.reason, code).toBe('ValidationFailed')
    expect(errorOf(run('email', false, { email: 'a@example.com', custom_attributes: { level: 0 } }))?.info).toEqual({
      // Authgear checks the attribute map by itself: the location is within it.
      causes: [{ location: '/level', kind: 'minimum', details: { actual: 0, expected: 1 } }],
    })
    expect(store.count()).toBe(0)
    const ok = run('email', false, {
      email: 'a@example.com',
      roles: ['staff'],
      password: { type: 'bcrypt', password_hash: hash },
      custom_attributes: { member_id: 'M1', ignored: true },
    })
    expect(ok.outcome).toBe('inserted')
    const user = store.findByLoginId('email', 'a@example.com')!
    expect(user).toMatchObject({ roles: ['staff'], hasPassword: true, custom: { member_id: 'M1' } })
  })
})

describe('upsert rules', () => {
  function withUser() {
    const s = setup()
    s.run('email', false, {
      email: 'a@example.com',
      email_verified: true,
      phone_number: '+85298765432',
      given_name: 'A',
      family_name: 'Old',
      roles: ['staff'],
      custom_attributes: { member_id: 'M1', level: 2 },
      password: { type: 'bcrypt', password_hash: hash },
    })
    return { ...s, user: s.store.findByLoginId('email', 'a@example.com')! }
  }

  it('sets present values, removes nulls, keeps absent ones and replaces roles', () => {
    const { run, user } = withUser()
    const result = run('email', true, {
      email: 'a@example.com',
      given_name: 'B',
      family_name: null,
      roles: [],
      groups: ['team'],
      custom_attributes: { level: null, unknown: 'x' },
      phone_number: null,
      password: { type: 'bcrypt', password_hash: 'not even a hash' },
      mfa: { totp: { secret: '!!' }, password: { type: 'bcrypt', password_hash: 'bad' }, email: 'm@example.com' },
    })
    expect(result).toEqual({ outcome: 'updated', userId: user.id, warnings: [] })
    expect(user.standard).toEqual({ given_name: 'B' })
    expect(user.custom).toEqual({ member_id: 'M1' })
    expect(user.roles).toEqual([])
    expect(user.groups).toEqual(['team'])
    expect(user.phone).toBeUndefined()
    expect(user.mfa).toEqual({ emails: ['m@example.com'] })
  })

  it('turns disallowed disabled transitions into warnings', () => {
    const { run, user } = withUser()
    expect(warningsOf(run('email', true, { email: 'a@example.com', disabled: false }))).toEqual([
      'invalid account status transition: normal -> normal',
    ])
    expect(warningsOf(run('email', true, { email: 'a@example.com', disabled: true }))).toEqual([])
    expect(user.status).toBe('disabled')
    expect(warningsOf(run('email', true, { email: 'a@example.com', disabled: true }))).toEqual([
      'invalid account status transition: disabled -> disabled',
    ])
  })

  it('keeps on a failed update the warnings of the steps before the failure, the disabled transition included', () => {
    const { run, user } = withUser()
    run('email', true, { email: 'a@example.com', disabled: true })
    const failed = run('email', true, { email: 'a@example.com', disabled: true, email_verified: true, roles: ['bogus'] })
    expect(failed).toMatchObject({
      outcome: 'failed',
      error: { reason: 'RoleUnknownKeys' },
      warnings: ['invalid account status transition: disabled -> disabled'],
    })
    expect(user.roles).toEqual(['staff'])
  })

  it('acts on *_verified only when the value equals the stored claim exactly', () => {
    const { run, user } = withUser()
    expect(warningsOf(run('phone_number', true, { phone_number: '+85298765432', email_verified: false }))).toEqual([
      'email_verified has no effect when email is absent.',
    ])
    expect(warningsOf(run('phone_number', true, { phone_number: '+85298765432', email: null, email_verified: false }))).toEqual([
      'email_verified has no effect when email = null.',
    ])
    expect(user.email).toBeUndefined()
    run('phone_number', true, { phone_number: '+85298765432', email: 'New@Example.com', email_verified: true })
    expect(user.email).toEqual({ value: 'new@example.com', original: 'New@Example.com', verified: false })
    run('phone_number', true, { phone_number: '+85298765432', email: 'new@example.com', email_verified: true })
    expect(user.email?.verified).toBe(true)
  })

  it('fails on an unconfigured login ID key, an occupied login ID, or a reversed valid period', () => {
    const { run, store } = withUser()
    run('email', false, { email: 'b@example.com', preferred_username: 'bob' })
    expect(errorOf(run('email', true, { email: 'a@example.com', preferred_username: 'Bob' }))).toMatchObject({
      reason: 'InvariantViolated', info: { LoginIDTypeIncoming: 'username', LoginIDTypeExisting: 'username' },
    })
    expect(errorOf(run('email', true, { email: 'a@example.com', account_valid_from: '2030-01-01T00:00:00Z', account_valid_until: '2020-01-01T00:00:00Z' }))).toMatchObject({
      reason: 'InvalidAccountStatusTransition',
    })
    const narrow = setup({ store, loginIdKeys: new Set(['email']) })
    expect(errorOf(narrow.run('email', true, { email: 'a@example.com', preferred_username: 'alice' }))).toEqual({
      name: 'Invalid',
      reason: 'ValidationFailed',
      message: 'invalid login ID',
      code: 400,
      info: { causes: [{ location: '', kind: 'general', details: { msg: 'login ID key is not allowed' } }] },
    })
  })
})

describe('a user deleted between an upsert\'s lookup and its write', () => {
  it('is not written back: the record is matched again, as a transaction that ran after the delete', () => {
    const { store, importer } = setup()
    const first = importer.importRecord('email', false, { email: 'gone@example.com', phone_number: '+85298765432' })
    expect(first).toMatchObject({ outcome: 'inserted' })
    const prepared = importer.prepare('email', true, { email: 'gone@example.com', phone_number: '+85291234567', name: 'Back' })
    expect(prepared.kind).toBe('apply')
    // Another chunk's transaction, or a GraphQL deleteUser, commits meanwhile.
    const old = store.findByLoginId('email', 'gone@example.com')!
    store.delete(old)
    const result = prepared.kind === 'apply' ? prepared.apply() : undefined
    expect(result).toMatchObject({ outcome: 'inserted' })
    const now = store.findByLoginId('email', 'gone@example.com')!
    expect(now.id).not.toBe(old.id)
    expect(store.get(old.id)).toBeUndefined()
    // No identity of the deleted user came back to hold an identifier.
    expect(store.holders('phone_number', '+85298765432')).toEqual([])
    expect(store.holders('phone_number', '+85291234567').map((h) => h.user.id)).toEqual([now.id])
    expect(store.count()).toBe(1)
  })
})

describe('disabled on a user disabled for a time window (set through GraphQL)', () => {
  const windowed = (store: UserStore, email: string, from: string, until: string) => {
    const user = store.findByLoginId('email', email)!
    Object.assign(user, { status: 'disabled', disableReason: 'vacation', temporarilyDisabledFrom: from, temporarilyDisabledUntil: until })
    return user
  }

  it('true disables indefinitely, window and reason gone, with no transition warning', () => {
    const { store, run } = setup()
    run('email', false, { email: 't@example.com' })
    const user = windowed(store, 't@example.com', '2026-01-01T00:00:00Z', '2099-01-01T00:00:00Z')
    const result = run('email', true, { email: 't@example.com', disabled: true })
    expect(result).toMatchObject({ outcome: 'updated', warnings: [] })
    expect(user).toMatchObject({ status: 'disabled' })
    expect(user.temporarilyDisabledFrom).toBeUndefined()
    expect(user.temporarilyDisabledUntil).toBeUndefined()
    expect(user.disableReason).toBeUndefined()
  })

  it('false re-enables inside the window, and a later true is not undone by the old window', () => {
    const { store, run } = setup()
    run('email', false, { email: 'p@example.com' })
    // The project's clock reads 2026-01-01: the window is in force.
    const user = windowed(store, 'p@example.com', '2025-12-01T00:00:00Z', '2026-02-01T00:00:00Z')
    expect(run('email', true, { email: 'p@example.com', disabled: false })).toMatchObject({ outcome: 'updated', warnings: [] })
    expect(user.status).toBe('normal')
    expect(user.temporarilyDisabledFrom).toBeUndefined()
    expect(run('email', true, { email: 'p@example.com', disabled: true })).toMatchObject({ outcome: 'updated', warnings: [] })
    expect(user).toMatchObject({ status: 'disabled' })
    expect(user.temporarilyDisabledUntil).toBeUndefined()
  })

  it('judges a window not begun or already over as normal: false is refused and a window still to come stays', () => {
    const { store, run } = setup()
    run('email', false, { email: 'f@example.com' })
    const future = windowed(store, 'f@example.com', '2030-01-01T00:00:00Z', '2030-02-01T00:00:00Z')
    expect(run('email', true, { email: 'f@example.com', disabled: false })).toMatchObject({ outcome: 'updated', warnings: ['invalid account status transition: normal -> normal'] })
    expect(future).toMatchObject({ status: 'disabled', temporarilyDisabledFrom: '2030-01-01T00:00:00Z', temporarilyDisabledUntil: '2030-02-01T00:00:00Z' })
    run('email', false, { email: 'o@example.com' })
    windowed(store, 'o@example.com', '2020-01-01T00:00:00Z', '2020-02-01T00:00:00Z')
    expect(warningsOf(run('email', true, { email: 'o@example.com', disabled: false }))).toEqual(['invalid account status transition: normal -> normal'])
    // true disables indefinitely from there, the window gone.
    expect(run('email', true, { email: 'f@example.com', disabled: true })).toMatchObject({ outcome: 'updated', warnings: [] })
    expect(future.temporarilyDisabledFrom).toBeUndefined()
  })

  it('names a normal user outside its account valid period outside_valid_period', () => {
    const { run } = setup()
    run('email', false, { email: 'v@example.com', account_valid_from: '2020-01-01T00:00:00Z', account_valid_until: '2021-01-01T00:00:00Z' })
    expect(warningsOf(run('email', true, { email: 'v@example.com', disabled: false }))).toEqual(['invalid account status transition: outside_valid_period -> normal'])
    // Disabling goes ahead: the valid period is beside the variant, not part of it.
    expect(warningsOf(run('email', true, { email: 'v@example.com', disabled: true }))).toEqual([])
    expect(warningsOf(run('email', true, { email: 'v@example.com', disabled: true }))).toEqual(['invalid account status transition: disabled -> disabled'])
  })

  it('names the state disabled_temporarily where a move from it is refused', () => {
    const { store, run } = setup()
    run('email', false, { email: 'w@example.com' })
    windowed(store, 'w@example.com', '2026-01-01T00:00:00Z', '2099-01-01T00:00:00Z')
    run('email', true, { email: 'w@example.com', disabled: true })
    expect(warningsOf(run('email', true, { email: 'w@example.com', disabled: true }))).toEqual(['invalid account status transition: disabled -> disabled'])
  })
})
