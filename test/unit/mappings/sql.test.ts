import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { sqlSourceConfigSchema, type SqlSourceConfigInput } from '../../../connectors/sql/config.ts'
import { mappingConfigSchema } from '../../../mappings/config.ts'
import { mapGuarded } from '../../../src/runtime/guarded-map.ts'
import { createSqlMapping, type SqlUserMapping } from '../../../mappings/sql.ts'
import type { MappingResult } from '../../../src/core/mapped-record.ts'

const bcrypt = '$2y$12$nFguVi9LsCAcvTZFKQlRKeLVydo8ETv483lkNsSFI/Wl1Rz1Ypo1K'
const argon2 = '$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG'

const columns = {
  email: 'email', email_verified: 'email_verified_at', phone_number: 'phone', country: 'country', username: 'login',
  given_name: 'first_name', family_name: 'last_name', password_hash: 'encrypted_password', locale: 'locale', roles: 'roles', active: 'is_active',
}

function mapper(source: Partial<SqlSourceConfigInput> = {}, mapping: Record<string, unknown> = {}, module?: SqlUserMapping) {
  const config = sqlSourceConfigSchema.parse({ type: 'sql', dialect: 'postgres', host: 'db', table: 'users', key: 'id', columns, ...source })
  const map = createSqlMapping(config, mappingConfigSchema.parse(mapping), { ...(module ? { module } : {}), now: () => Date.parse('2025-01-01T00:00:00Z') })
  return (data: Record<string, unknown>): MappingResult => map({ kind: 'data', key: String(data['id']), origin: `users id=${String(data['id'])}`, data })
}

const ok = (result: MappingResult) => {
  if (!result.ok) throw new Error(`rejected: ${result.rejection.message}`)
  return result.value
}

describe('sql mapping', () => {
  it('maps a Laravel/Devise-style row: lower-cased email, verified from a timestamp, E.164 phone from the country column, bcrypt imported', () => {
    const value = ok(mapper()({ id: 1, email: ' Alice@Example.COM ', email_verified_at: '2024-01-01T00:00:00.000Z', phone: '06 12 34 56 78', country: 'fr', first_name: 'Émilie', last_name: '', encrypted_password: bcrypt, locale: 'en_GB', roles: ['admin'] }))
    expect(value.identifier).toBe('email')
    expect(value.identifierValue).toBe('alice@example.com')
    expect(value.record).toEqual({
      email: 'alice@example.com', email_verified: true, phone_number: '+33612345678', given_name: 'Émilie', locale: 'en-GB', roles: ['admin'],
      password: { type: 'bcrypt', password_hash: bcrypt },
    })
    expect(value.passwordLane).toBe('imported')
  })

  it('uses mapping.default_phone_region when the country column is NULL, and matches by phone without an email', () => {
    const value = ok(mapper({}, { default_phone_region: 'GB' })({ id: 2, email: null, phone: '020 7946 0958', country: null }))
    expect(value.identifier).toBe('phone_number')
    expect(value.record.phone_number).toBe('+442079460958')
  })

  it('sends a non-bcrypt hash down the reset lane and rejects an unrecognized one by default, naming the column', () => {
    const reset = ok(mapper()({ id: 3, email: 'b@example.com', encrypted_password: argon2 }))
    expect(reset).toMatchObject({ passwordAlgorithm: 'argon2', passwordLane: 'reset' })
    expect(reset.record.password).toBeUndefined()
    const unknown = mapper()({ id: 4, email: 'c@example.com', encrypted_password: 'hunter2' })
    expect(unknown).toMatchObject({ ok: false, passwordAlgorithm: 'unknown', rejection: { code: 'password_policy', field: 'encrypted_password' } })
    expect(JSON.stringify(unknown)).not.toContain('hunter2')
  })

  it('rejects an invalid identifier with the column name, and a row without any identifier', () => {
    expect(mapper()({ id: 5, email: 'not-an-email' })).toMatchObject({ ok: false, rejection: { code: 'invalid_email', field: 'email' } })
    expect(mapper()({ id: 6, login: '  ' })).toMatchObject({ ok: false, rejection: { code: 'no_identifier', message: 'no value in email, phone, login to identify the user by' } })
  })

  it('disables soft-deleted, locked and inactive rows', () => {
    const soft = mapper({ soft_delete: { column: 'deleted_at', mode: 'disable' }, locked: { column: 'lockout_end', until: true } })
    expect(ok(soft({ id: 7, email: 'd@example.com', deleted_at: '2024-02-02T00:00:00Z' })).record.disabled).toBe(true)
    expect(ok(soft({ id: 8, email: 'e@example.com', deleted_at: null, lockout_end: '2030-01-01T00:00:00Z' })).record.disabled).toBe(true)
    expect(ok(soft({ id: 9, email: 'f@example.com', deleted_at: null, lockout_end: '2020-01-01T00:00:00Z' })).record.disabled).toBeUndefined()
    // A lockout ending within days (failed logins) would outlast itself as a disable: left out, with a warning.
    // (The mapper's clock reads 2025-01-01.)
    const soon = ok(soft({ id: 13, email: 'j@example.com', deleted_at: null, lockout_end: '2025-01-01T00:20:00Z' }))
    expect(soon.record.disabled).toBeUndefined()
    expect(soon.warnings).toEqual([expect.stringMatching(/^lockout_end left out: a lockout that ends by itself on .* is not imported, as a disable it would outlast$/)])
    expect(ok(soft({ id: 14, email: 'k@example.com', deleted_at: null, lockout_end: '9999-12-31T23:59:59Z' })).record.disabled).toBe(true)
    expect(ok(soft({ id: 10, email: 'g@example.com', is_active: false })).record.disabled).toBe(true)
    expect(ok(soft({ id: 11, email: 'h@example.com', is_active: null })).record.disabled).toBeUndefined()
    const devise = mapper({ locked: { column: 'locked_at' } })
    expect(ok(devise({ id: 12, email: 'i@example.com', locked_at: '2024-02-02T00:00:00Z' })).record.disabled).toBe(true)
  })

  it('warns about an active column value it cannot read as a flag (a status word), and imports that user enabled', () => {
    const map = mapper({ columns: { ...columns, active: 'status' } })
    // Status words and codes, which a date parser would also take (V8 reads '2' as a year).
    for (const status of ['banned', '2', '-1', 'suspended 2', '', 2]) {
      const user = ok(map({ id: 19, email: 'b@example.com', status }))
      expect(user.record, String(status)).not.toHaveProperty('disabled')
      expect(user.warnings, String(status)).toContain('status not read: not a boolean, so the user is imported enabled (a mapping module can read other values)')
    }
    for (const status of ['N', 'false', '0', 0, false]) expect(ok(map({ id: 20, email: 'c@example.com', status })).record, String(status)).toMatchObject({ disabled: true })
    for (const status of ['Y', 'true', '1', 1, true]) expect(ok(map({ id: 21, email: 'd@example.com', status })).warnings, String(status)).toEqual([])
  })

  it('reads roles from a JSON array text (JSON_ARRAYAGG on MariaDB), a json_agg [null] and comma-separated text', () => {
    expect(ok(mapper()({ id: 13, email: 'j@example.com', roles: '["editor","admin"]' })).record.roles).toEqual(['editor', 'admin'])
    expect(ok(mapper()({ id: 14, email: 'k@example.com', roles: [null] })).record.roles).toEqual([])
    expect(ok(mapper()({ id: 15, email: 'l@example.com', roles: 'a, b' })).record.roles).toEqual(['a', 'b'])
  })

  it('under upsert sends null for a mapped column holding no value (roles as []), and leaves out what it does not map or could not read', () => {
    const config = sqlSourceConfigSchema.parse({ type: 'sql', dialect: 'postgres', host: 'db', table: 'users', key: 'id', columns })
    const mapping = mappingConfigSchema.parse({ custom_attributes: { plan: 'plan', tier: 'meta.tier' } })
    const row = { id: 1, email: 'a@example.com', phone: null, country: null, login: '', first_name: null, last_name: 'Lee', locale: 'not a locale!', roles: null, plan: null, meta: { tier: null } }
    const upsert = createSqlMapping(config, mapping, { clearEmpty: true })
    const record = ok(upsert({ kind: 'data', key: '1', origin: 'users id=1', data: row })).record as Record<string, unknown>
    expect(record).toMatchObject({ email: 'a@example.com', phone_number: null, preferred_username: null, given_name: null, family_name: 'Lee', roles: [], custom_attributes: { plan: null, tier: null } })
    // A locale that could not be read is left out (Authgear keeps the old one), as is every field no column maps.
    expect(record).not.toHaveProperty('locale')
    expect(record).not.toHaveProperty('name')
    expect(record).not.toHaveProperty('groups')
    // The identifier is never null, and without upsert nothing is.
    const byPhone = ok(upsert({ kind: 'data', key: '2', origin: 'users id=2', data: { ...row, email: null, phone: '+14155550101' } })).record as Record<string, unknown>
    expect(byPhone).toMatchObject({ phone_number: '+14155550101', email: null })
    const insertOnly = ok(createSqlMapping(config, mapping)({ kind: 'data', key: '1', origin: 'users id=1', data: row })).record
    expect(Object.values(insertOnly)).not.toContain(null)
    // A JSON column that is NULL holds none of its paths; one carried as text (Debezium's json and
    // jsonb) cannot be read by the path, which says nothing: the attribute is left as it is.
    const attributesOf = (meta: unknown) => (ok(upsert({ kind: 'data', key: '1', origin: 'users id=1', data: { ...row, plan: 'pro', meta } })).record as Record<string, unknown>)['custom_attributes']
    expect(attributesOf(null)).toEqual({ plan: 'pro', tier: null })
    expect(attributesOf({})).toEqual({ plan: 'pro', tier: null })
    expect(attributesOf('{"tier":"gold"}')).toEqual({ plan: 'pro' })
    expect(attributesOf({ tier: 'gold' })).toEqual({ plan: 'pro', tier: 'gold' })
  })

  it('leaves out empty strings and invalid profile values with a warning, and keeps unicode', () => {
    const value = ok(mapper()({ id: 16, email: 'm@example.com', first_name: '  ', last_name: '张', locale: 'not a locale!', email_verified_at: 'maybe' }))
    expect(value.record).toEqual({ email: 'm@example.com', family_name: '张' })
    expect(value.warnings).toEqual(['email_verified_at left out: not a boolean or timestamp', expect.stringContaining('locale left out')])
  })

  it('leaves out a column or custom attribute holding a lone surrogate, which Authgear would store as U+FFFD', () => {
    const value = ok(mapper({}, { custom_attributes: { team: 'team' } })({ id: 18, email: 'h@example.com', first_name: 'Zo\ud800', last_name: 'Ng', team: '\udc00' }))
    expect(value.record).toEqual({ email: 'h@example.com', email_verified: false, family_name: 'Ng' })
    expect(value.warnings).toEqual([expect.stringMatching(/^first_name left out: holds an unpaired UTF-16 surrogate/), expect.stringMatching(/^custom attribute team left out: holds an unpaired/)])
  })

  it('lets a module edit the draft, replace it, or reject the row; a throwing module rejects the row', () => {
    const edit = mapper({}, {}, (row, draft) => ({ ...draft, preferred_username: `legacy_${String(row['id'])}` }))
    expect(ok(edit({ id: 17, email: 'N@example.com' })).record).toMatchObject({ email: 'n@example.com', preferred_username: 'legacy_17' })
    const replace = mapper({}, {}, (row) => ({ phone_number: String(row['mobile']), phone_region: 'US' }))
    expect(ok(replace({ id: 18, email: 'o@example.com', mobile: '415 555 2671' })).record).toEqual({ phone_number: '+14155552671' })
    expect(mapper({}, {}, () => null)({ id: 19, email: 'p@example.com' })).toMatchObject({ ok: false, rejection: { code: 'module_rejected' } })
    const throwing = mapper({}, {}, () => {
      throw new Error('bad row')
    })
    expect(throwing({ id: 20, email: 'q@example.com' })).toMatchObject({ ok: false, rejection: { code: 'module_error', message: 'the mapping module failed: bad row' } })
  })

  it('refuses, row by row, what a module returns that no later step could handle, and a thrown value that is not text', async () => {
    const reason = (module: Parameters<typeof mapper>[2], row: Record<string, unknown> = { id: 30, email: 't@example.com' }) => {
      const result = mapper({}, {}, module)(row)
      return result.ok ? 'ok' : `${result.rejection.code}: ${result.rejection.message}`
    }
    let unhandled = 0
    const count = () => unhandled++
    process.on('unhandledRejection', count)
    try {
      expect(reason((async () => {
        throw new Error('x')
      }) as never)).toBe('module_error: the mapping module returned a Promise: it must return the draft (or null) synchronously, not be async')
      expect(reason(((_row: unknown, draft: unknown) => [draft]) as never)).toBe('module_error: the mapping module returned an array: it must return one draft (or null)')
      // What no JSON holds is normalized away or fails the row, never the run's serialization.
      const bigint = mapper({}, {}, ((_row: unknown, draft: object) => ({ ...draft, custom_attributes: { legacy_id: 30n } })) as never)({ id: 30, email: 't@example.com' })
      expect(ok(bigint).warnings).toEqual(['custom attribute legacy_id left out: not a string, number or boolean'])
      const getter = mapper({}, {}, ((_row: unknown, draft: object) => Object.defineProperty({ ...draft }, 'given_name', { enumerable: true, get: () => { throw new Error('getter') } })) as never)
      expect(mapGuarded((record) => getter(record.data), { kind: 'data', key: '30', origin: 'users id=30', data: { id: 30, email: 't@example.com' } })).toMatchObject({ ok: false, rejection: { code: 'mapping_error', message: 'mapping failed on users id=30: getter' } })
      expect(reason((() => {
        throw Object.create(null)
      }) as never)).toBe('module_error: the mapping module failed: a thrown value that cannot be shown as text')
      await new Promise((resolve) => setTimeout(resolve, 20))
      expect(unhandled).toBe(0)
    } finally {
      process.off('unhandledRejection', count)
    }
  })

  it('keeps a module\'s scalar custom attributes and leaves objects, arrays and a non-object out with a warning, as the declarative mapping does', () => {
    const module = ((row: Record<string, unknown>, draft: object) => ({ ...draft, custom_attributes: row['attributes'] })) as never
    const mapped = ok(mapper({}, {}, module)({ id: 40, email: 'u@example.com', attributes: { plan: { tier: 'gold' }, tags: ['a'], legacy_id: 40, vip: true, note: 'x', gone: null } }))
    expect(mapped.record.custom_attributes).toEqual({ legacy_id: 40, vip: true, note: 'x' })
    expect(mapped.warnings).toEqual(['custom attribute plan left out: not a string, number or boolean', 'custom attribute tags left out: not a string, number or boolean'])
    const text = ok(mapper({}, {}, module)({ id: 41, email: 'v@example.com', attributes: 'plan=gold' }))
    expect(text.record.custom_attributes).toBeUndefined()
    expect(text.warnings).toEqual(['custom_attributes left out: the mapping module gave no object of attributes'])
  })

  it('never quotes the row when JavaScript itself fails inside a module (JSON.parse, BigInt)', () => {
    const parsing = mapper({}, {}, (row) => JSON.parse(String(row['profile'])) as never)
    const parsed = parsing({ id: 21, email: 'r@example.com', profile: '{"otp":"JBSWY3DPEHPK3PXQ","pw":hunter2secret}' })
    expect(parsed).toMatchObject({ ok: false, rejection: { code: 'module_error', message: expect.stringMatching(/^the mapping module failed: SyntaxError: /) } })
    const converting = mapper({}, {}, (row) => ({ email: String(BigInt(String(row['pin']))) }))
    const converted = converting({ id: 22, email: 's@example.com', pin: 'hunter2secret' })
    expect(converted).toMatchObject({ ok: false, rejection: { code: 'module_error', message: expect.stringMatching(/^the mapping module failed: SyntaxError/) } })
    for (const result of [parsed, converted]) for (const secret of ['hunter2', 'JBSWY3', 'PXQ']) expect(JSON.stringify(result)).not.toContain(secret)
  })

  it('never quotes the row from node:assert inside a module, and names what a module gave as the password on a refused row', async () => {
    const { default: assert } = await import('node:assert')
    const asserting = mapper({}, {}, (row) => {
      assert.match(String(row['pw']), /^\$2[aby]\$/)
      return {}
    })
    const asserted = asserting({ id: 23, email: 'v@example.com', pw: 'SECRETPLAINTEXT' })
    expect(asserted).toMatchObject({ ok: false, rejection: { code: 'module_error', message: 'the mapping module failed: AssertionError (its message, which may quote the row, is left out)' } })
    expect(JSON.stringify(asserted)).not.toContain('SECRETPLAIN')
    const moved = mapper({}, { passwords: { unknown: 'dead_letter' } }, ((row: Record<string, unknown>, draft: object) => ({ ...draft, password_hash: row['upass'] })) as never)
    const refused = moved({ id: 24, email: 'w@example.com', upass: 'Tr0ub4dor&3' })
    expect(refused).toMatchObject({ ok: false, secretsRead: ['Tr0ub4dor&3'] })
    const noEmail = moved({ id: 25, email: 'not an email', upass: 'Tr0ub4dor&4' })
    expect(noEmail).toMatchObject({ ok: false, secretsRead: ['Tr0ub4dor&4'] })
  })

  it('loads a TS mapping module from source.module, relative to the config directory', () => {
    const config = sqlSourceConfigSchema.parse({ type: 'sql', dialect: 'mysql', host: 'db', table: 'users', key: 'id', columns: { email: 'email' }, module: 'edit-mapping.ts' })
    const map = createSqlMapping(config, mappingConfigSchema.parse({ identifier: 'preferred_username' }), { baseDir: join(import.meta.dirname, '../connectors/sql') })
    const result = map({ kind: 'data', key: '1', origin: 'users id=1', data: { id: 1, email: 'r@example.com', login: 'Rick' } })
    expect(ok(result).record).toEqual({ email: 'r@example.com', preferred_username: 'legacy_rick', custom_attributes: { legacy_id: 1 } })
    expect(map({ kind: 'data', key: '2', origin: 'users id=2', data: { id: 2, email: 'test@example.com' } })).toMatchObject({ ok: false, rejection: { code: 'module_rejected' } })
  })

  it('names a module file without a function in a config error', () => {
    const config = sqlSourceConfigSchema.parse({ type: 'sql', dialect: 'mysql', host: 'db', table: 'users', key: 'id', module: 'missing-mapping.ts' })
    expect(() => createSqlMapping(config, mappingConfigSchema.parse({}), { baseDir: '/nonexistent' })).toThrow(/source.module: cannot load \/nonexistent\/missing-mapping.ts/)
  })
})
