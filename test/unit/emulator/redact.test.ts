import { describe, expect, it } from 'vitest'
import { redactRecord } from '../../../src/emulator/redact.ts'

describe('redactRecord', () => {
  it('replaces hashes and the TOTP secret and sorts keys at every level', () => {
    const out = redactRecord({
      password: { type: 'bcrypt', password_hash: '$2a$10$secret' },
      email: 'a@example.com',
      mfa: { totp: { secret: 'JBSWY3DP' }, password: { password_hash: 'h', type: 'bcrypt' }, email: 'b@example.com' },
      address: { region: 'x', country: 'HK' },
    })
    expect(JSON.stringify(out)).toBe(
      '{"address":{"country":"HK","region":"x"},"email":"a@example.com","mfa":{"email":"b@example.com","password":{"password_hash":"REDACTED","type":"bcrypt"},"totp":{"secret":"REDACTED"}},"password":{"password_hash":"REDACTED","type":"bcrypt"}}',
    )
    expect(JSON.stringify(out)).not.toMatch(/JBSWY3DP|\$2a\$10\$secret/)
  })

  it('adds password_hash to a password object without one and redacts non-object secrets whole', () => {
    expect(redactRecord({ password: { type: 'bcrypt' } })).toEqual({ password: { password_hash: 'REDACTED', type: 'bcrypt' } })
    expect(redactRecord({ password: '$2a$10$plain' })).toEqual({ password: 'REDACTED' })
    expect(redactRecord({ mfa: 'x' })).toEqual({ mfa: 'REDACTED' })
    expect(redactRecord({ mfa: { totp: 'x', password: 7 } })).toEqual({ mfa: { password: 'REDACTED', totp: 'REDACTED' } })
  })

  it('leaves nulls as they are', () => {
    expect(redactRecord({ password: null, mfa: null })).toEqual({ mfa: null, password: null })
    expect(redactRecord({ mfa: { totp: null, password: null } })).toEqual({ mfa: { password: null, totp: null } })
  })
})
