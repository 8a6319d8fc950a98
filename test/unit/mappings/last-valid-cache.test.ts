import { describe, expect, it } from 'vitest'
import { isBcryptHash } from '../../../mappings/bcrypt.ts'
import { emailAddressProblem } from '../../../mappings/email-address.ts'
import { isE164Phone } from '../../../mappings/formats.ts'
import { checkImportRecord } from '../../../mappings/record.ts'

// The mapping and the record schema check the same value one after the other, so these checks
// remember the last valid value. The memory must never change an answer.
describe('checks that remember the last valid value', () => {
  it('still refuse empty values before any value was found valid', () => {
    expect(emailAddressProblem('')).toBe('email is empty')
    expect(isE164Phone('')).toBe(false)
    expect(isBcryptHash(undefined)).toBe(false)
    expect(isBcryptHash('')).toBe(false)
    expect(checkImportRecord('phone_number', { phone_number: '' }).ok).toBe(false)
  })

  it('give the same answer for a repeated value as for a new one', () => {
    const hash = `$2b$10$${'a'.repeat(53)}`
    expect([isBcryptHash(hash), isBcryptHash(hash), isBcryptHash(`${hash}x`), isBcryptHash(hash)]).toEqual([true, true, false, true])
    expect([emailAddressProblem('a@example.com'), emailAddressProblem('a@example.com'), emailAddressProblem('a@@example.com')]).toEqual([undefined, undefined, 'email has more than one "@"'])
    expect([isE164Phone('+14155552671'), isE164Phone('+14155552671'), isE164Phone('')]).toEqual([true, true, false])
  })
})
