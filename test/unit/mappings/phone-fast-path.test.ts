import { getCountries, getCountryCallingCode, getExampleNumber, parsePhoneNumberWithError, type CountryCode } from 'libphonenumber-js/max'
import examples from 'libphonenumber-js/mobile/examples'
import { describe, expect, it } from 'vitest'
import { prng } from '../../../bench/auth0-fake-user.ts'
import { phoneFastPath } from '../../../mappings/phone-fast-path.ts'

/** What libphonenumber-js says: the E.164 number when valid, null when it parses but is invalid, 'unparsable' when it throws. */
function library(text: string, region: CountryCode | undefined): string | null {
  try {
    const parsed = parsePhoneNumberWithError(text, region === undefined ? undefined : { defaultCountry: region })
    return parsed.isValid() ? parsed.number : null
  } catch {
    return 'unparsable'
  }
}

/** Numbers near each country's example (digits replaced, dropped and added) and random ones of its length, in several spellings. */
function inputs(): { text: string; region: CountryCode | undefined }[] {
  // Seeded, so a failure can be reproduced.
  const next = prng(7)
  const digit = () => String(Math.floor(next() * 10))
  const out: { text: string; region: CountryCode | undefined }[] = []
  for (const country of getCountries()) {
    const example = getExampleNumber(country, examples)
    if (example === undefined) continue
    const code = getCountryCallingCode(country)
    const base = example.nationalNumber as string
    const nationals = [base]
    for (let i = 0; i < 24; i++) {
      const keep = Math.max(1, base.length - 1 - Math.floor(next() * Math.min(6, base.length)))
      let mutated = base.slice(0, keep)
      while (mutated.length < base.length) mutated += digit()
      nationals.push(mutated)
    }
    nationals.push(base.slice(0, -1), base + digit(), digit() + base.slice(1))
    for (let i = 0; i < 12; i++) nationals.push(Array.from(base, digit).join(''))
    for (const national of nationals) {
      out.push({ text: `+${code}${national}`, region: undefined })
      out.push({ text: `+${code} ${national.slice(0, 3)} ${national.slice(3)}`, region: undefined })
      out.push({ text: national, region: country })
      out.push({ text: `${national.slice(0, 3)}-${national.slice(3)}`, region: country })
      out.push({ text: `(${national.slice(0, 3)}) ${national.slice(3, 6)}-${national.slice(6)}`, region: country })
      out.push({ text: `0${national}`, region: country })
      out.push({ text: `${code}${national}`, region: country })
      out.push({ text: `+${code}${national}`, region: 'US' })
    }
  }
  return out
}

describe('phoneFastPath', () => {
  it('answers as the library does: the same E.164 form for a valid number, null for one that parses but is invalid', () => {
    let answeredValid = 0
    let answeredInvalid = 0
    let valid = 0
    let invalid = 0
    const cases = inputs()
    for (const { text, region } of cases) {
      const fast = phoneFastPath(text, region)
      const slow = library(text, region)
      if (slow === null) invalid++
      else if (slow !== 'unparsable') valid++
      if (fast === undefined) continue
      if (fast === null) answeredInvalid++
      else answeredValid++
      expect({ text, region, number: fast }).toEqual({ text, region, number: slow })
    }
    // Enough inputs of both kinds, and a fast path that takes most of each.
    expect(cases.length).toBeGreaterThan(60_000)
    expect(valid).toBeGreaterThan(20_000)
    expect(invalid).toBeGreaterThan(10_000)
    expect(answeredValid).toBeGreaterThan(valid * 0.6)
    expect(answeredInvalid).toBeGreaterThan(invalid * 0.4)
  })

  it('decides plain numbers, and leaves national prefixes, dialling prefixes, extensions and letters to the library', () => {
    expect(phoneFastPath('+1 201 555 0123')).toBe('+12015550123')
    expect(phoneFastPath('(201) 555-0123', 'US')).toBe('+12015550123')
    expect(phoneFastPath('+1 911 555 0123')).toBeNull()
    expect(library('+1 911 555 0123', undefined)).toBeNull()
    expect(phoneFastPath('+1 123 555 0123')).toBeUndefined()
    expect(phoneFastPath('020 7946 0958', 'GB')).toBeUndefined()
    expect(phoneFastPath('011 44 20 7946 0958', 'US')).toBeUndefined()
    expect(phoneFastPath('1 201 555 0123', 'US')).toBeUndefined()
    expect(phoneFastPath('+1 201 555 0123 ext. 7')).toBeUndefined()
    expect(phoneFastPath('+1 201 CALL NOW')).toBeUndefined()
    expect(phoneFastPath('201 555 0123')).toBeUndefined()
    // A long run of digits that fails at its end: the shape check must not backtrack through every split.
    expect(phoneFastPath(`${'1'.repeat(39)}x`, 'US')).toBeUndefined()
    // Cases the library answers with an error, not a verdict: an unknown region, two digits.
    for (const [text, region] of [['+44 20 7946 0958', 'UK'], ['+1 201 555 0123', 'XX'], ['2015550123', '1'], ['(3)9', 'US'], ['4-7', 'FR']] as const) {
      expect(library(text, region as CountryCode)).toBe('unparsable')
      expect(phoneFastPath(text, region)).toBeUndefined()
    }
  })
})
