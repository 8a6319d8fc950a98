import { describe, expect, it } from 'vitest'
import { csvCell, csvHeader, csvQuote, csvRow, defaultCsvFields, resolvePointer } from '../../../src/emulator/export-csv.ts'
import { exportRecord } from '../../../src/emulator/export-record.ts'
import { goStringify } from '../../../src/emulator/go-json.ts'
import type { StoredUser } from '../../../src/emulator/user-store.ts'

const bare: StoredUser = { id: 'u1', createdAt: '2026-01-01T00:00:00.5Z', updatedAt: '2026-01-01T00:00:00.5Z', status: 'normal' }
const ctx = { issuer: 'http://127.0.0.1:1' }

describe('exported record (§7.3)', () => {
  it('a bare user has exactly the always-present keys, address and mfa as empty objects', () => {
    expect(goStringify(exportRecord(bare, ctx))).toBe(
      '{"sub":"u1","email_verified":false,"phone_number_verified":false,"address":{},"created_at":"2026-01-01T00:00:00.5Z","disabled":false,"is_anonymized":false,"mfa":{},"biometric_count":0,"passkey_count":0}',
    )
  })

  it('exports a temporary disable as disabled only inside its window, with the window', () => {
    const hour = 3_600_000
    const windowed = (from: number, until: number) => exportRecord({ ...bare, status: 'disabled', temporarilyDisabledFrom: new Date(Date.now() + from).toISOString(), temporarilyDisabledUntil: new Date(Date.now() + until).toISOString() }, ctx)
    expect(windowed(-hour, hour).disabled).toBe(true)
    expect(windowed(-2 * hour, -hour)).toMatchObject({ disabled: false, temporarily_disabled_until: expect.any(String) })
    expect(windowed(hour, 2 * hour).disabled).toBe(false)
  })

  it('keeps struct key order, omits empty values, and shapes identities and mfa', () => {
    const user: StoredUser = {
      ...bare,
      status: 'disabled',
      email: { value: 'a@x.com', original: 'A@x.com', verified: true },
      username: { value: 'ann', verified: false },
      standard: { name: 'Ann', given_name: '', address: { country: 'NO', formatted: 'Oslo' } },
      custom: { z: 1, a: 'b' },
      roles: [],
      groups: ['g'],
      mfa: { emails: ['m@x.com'], totpSecrets: ['JBSWY3DPEHPK3PXP'] },
    }
    const record = exportRecord(user, ctx)
    expect(Object.keys(record)).toEqual([
      'sub', 'preferred_username', 'email', 'email_verified', 'phone_number_verified', 'name', 'address', 'custom_attributes', 'groups',
      'created_at', 'disabled', 'is_anonymized', 'identities', 'mfa', 'biometric_count', 'passkey_count',
    ])
    expect(record.address).toEqual({ formatted: 'Oslo', country: 'NO' })
    expect(Object.keys(record.address as object)).toEqual(['formatted', 'country'])
    expect(Object.keys(record.custom_attributes as object)).toEqual(['a', 'z'])
    expect(record.disabled).toBe(true)
    expect(record.identities).toEqual([
      { type: 'login_id', login_id: { key: 'email', type: 'email', value: 'a@x.com', original_value: 'A@x.com' }, claims: { email: 'a@x.com' } },
      { type: 'login_id', login_id: { key: 'username', type: 'username', value: 'ann', original_value: 'ann' }, claims: { preferred_username: 'ann' } },
    ])
    const mfa = record.mfa as { emails: string[]; totps: { secret: string; uri: string }[] }
    expect(mfa.emails).toEqual(['m@x.com'])
    expect(mfa.totps[0]!.uri).toMatch(/^otpauth:\/\/totp\/a%40x\.com\?.*issuer=http%3A%2F%2F127\.0\.0\.1%3A1.*secret=JBSWY3DPEHPK3PXP/)
  })
})

describe('CSV rules (§7.4)', () => {
  it('default fields: no family_name, custom attributes appended in config order', () => {
    const pointers = defaultCsvFields([{ name: 'z' }, { name: 'a' }]).map((f) => f.pointer)
    expect(pointers).not.toContain('/family_name')
    expect(pointers.slice(0, 3)).toEqual(['/sub', '/preferred_username', '/email'])
    expect(pointers.slice(-4)).toEqual(['/biometric_count', '/passkey_count', '/custom_attributes/z', '/custom_attributes/a'])
    expect(pointers).toHaveLength(43)
  })

  it('cells: strings as is, scalars as JSON, missing/null empty, arrays and objects compact', () => {
    expect([csvCell('x'), csvCell(true), csvCell(0), csvCell(null), csvCell(undefined), csvCell(['a', 'b']), csvCell({ k: '<' })]).toEqual([
      'x', 'true', '0', '', '', '["a","b"]', '{"k":"\\u003c"}',
    ])
  })

  it('quotes like Go encoding/csv and ends lines with LF', () => {
    expect(csvQuote('plain')).toBe('plain')
    expect(csvQuote('a,b')).toBe('"a,b"')
    expect(csvQuote('say "hi"')).toBe('"say ""hi"""')
    expect(csvQuote(' lead')).toBe('" lead"')
    expect(csvQuote('line\nbreak')).toBe('"line\nbreak"')
    expect(csvHeader([{ pointer: '/sub', field_name: 'id' }, { pointer: '/roles/0' }])).toBe('id,roles.0\n')
  })

  it('rows resolve pointers through arrays and objects; a missing path is an empty cell', () => {
    const record = { sub: 'u', roles: ['r1'], address: {}, identities: [{ login_id: { value: 'v' } }] }
    expect(resolvePointer(record, '/identities/0/login_id/value')).toBe('v')
    expect(resolvePointer(record, '/roles/1')).toBeUndefined()
    expect(csvRow(record, [{ pointer: '/sub' }, { pointer: '/roles' }, { pointer: '/address/country' }, { pointer: '/nothing' }])).toBe('u,"[""r1""]",,\n')
  })
})
