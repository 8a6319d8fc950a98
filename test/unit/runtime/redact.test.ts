import { describe, expect, it } from 'vitest'
import { redact } from '../../../src/runtime/redact.ts'

describe('redact', () => {
  it('replaces secrets by key and by shape, and leaves the rest', () => {
    const input = {
      email: 'a@example.com',
      password: { type: 'bcrypt', password_hash: '$2b$10$nFguVi9LsCAcvTZFKQlRKeLVydo8ETv483lkNsSFI/Wl1Rz1Ypo1K' },
      mfa: { totp: { secret: 'JBSWY3DPEHPK3PXP' }, email: 'b@example.com' },
      custom_attributes: { note: 'pbkdf2_sha256$600000$salt$aGFzaA==', token_count: 3 },
      nested: [{ passwordHash: 'x' }, 'eyJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJteWFwcCJ9.c2ln'],
    }
    const out = JSON.stringify(redact(input))
    expect(out).not.toContain('$2b$10$')
    expect(out).not.toContain('JBSWY3DPEHPK3PXP')
    expect(out).not.toContain('pbkdf2_sha256$')
    expect(out).not.toContain('eyJhbGci')
    expect(out).toContain('a@example.com')
    expect(out).toContain('b@example.com')
    expect(out).toContain('"token_count":3')
  })
})
