import { describe, expect, it } from 'vitest'
import {
  dropEmpty,
  isEmpty,
  normalizeEmail,
  normalizeLocale,
  normalizePhone,
  normalizeUsername,
  parseBoolean,
  presentString,
} from '../../../mappings/normalize.ts'
import { isReservedUsername, usernameProblem } from '../../../mappings/reserved-usernames.ts'

describe('normalizeEmail', () => {
  it('trims and lower-cases the whole address', () => {
    expect(normalizeEmail('  John.Doe+tag@Example.COM ')).toEqual({ ok: true, value: 'john.doe+tag@example.com' })
  })

  it.each([
    ['', 'email is empty'],
    ['john', 'email has no "@"'],
    ['a@b@example.com', 'email has more than one "@"'],
    ['@example.com', 'email has an empty local part'],
    ['john@', 'email has an empty domain'],
    ['John <john@example.com>', 'email must be a bare address, without a display name, angle brackets or spaces'],
    ['john doe@example.com', 'email must be a bare address, without a display name, angle brackets or spaces'],
    ['john..doe@example.com', 'email local part has characters or dots that are not allowed'],
    ['john@example..com', 'email domain has characters or dots that are not allowed'],
    ['"john"@example.com', 'email has a quoted local part, which is not supported'],
  ])('rejects %j', (input, reason) => {
    expect(normalizeEmail(input)).toEqual({ ok: false, reason })
  })

  it('puts a non-ASCII address in the form Authgear stores it in (NFKC, full case folding)', () => {
    expect(normalizeEmail('Straße@Example.de')).toEqual({ ok: true, value: 'strasse@example.de' })
    expect(normalizeEmail('ｊｏｈｎ@example.com')).toEqual({ ok: true, value: 'john@example.com' })
    expect(normalizeEmail('ΣΟΦΙΑς@example.gr')).toEqual({ ok: true, value: 'σοφιασ@example.gr' })
    expect(normalizeEmail('José@Example.com')).toEqual({ ok: true, value: 'josé@example.com' })
  })

  it('refuses an address over the 320 bytes Authgear allows for an e-mail login ID, counting UTF-8 bytes', () => {
    const domain = `${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(63)}.${'e'.repeat(61)}.com`
    expect(normalizeEmail(`${'a'.repeat(320 - 1 - domain.length)}@${domain}`).ok).toBe(true)
    const over = normalizeEmail(`${'a'.repeat(321 - 1 - domain.length)}@${domain}`)
    expect(over.ok).toBe(false)
    expect(!over.ok && over.reason).toBe('email is 321 bytes long, over the 320 Authgear allows for a login ID')
    // 290 characters, but the 32 in the local part take 64 bytes: 322 bytes.
    expect(normalizeEmail(`${'é'.repeat(32)}@${domain}`).ok).toBe(false)
  })

  it('accepts internationalized addresses', () => {
    expect(normalizeEmail('Jöhn@Exämple.com')).toEqual({ ok: true, value: 'jöhn@exämple.com' })
  })

  it('refuses an email or username holding half a character (a JSON \\ud800 escape), which Authgear would store as another login', () => {
    const reason = 'holds an unpaired UTF-16 surrogate (a \\uD800–\\uDFFF escape), which Authgear would store as U+FFFD'
    expect(normalizeEmail(JSON.parse('"sur\\ud800@example.com"') as string)).toEqual({ ok: false, reason })
    expect(normalizeUsername(JSON.parse('"dave\\udc00"') as string)).toEqual({ ok: false, reason })
    expect(normalizeEmail('zoë😀@example.com')).toEqual({ ok: true, value: 'zoë😀@example.com' })
  })
})

describe('normalizePhone', () => {
  it('keeps E.164 numbers and strips formatting', () => {
    expect(normalizePhone('+1 (415) 555-2671')).toEqual({ ok: true, value: '+14155552671' })
    expect(normalizePhone('+85291234567')).toEqual({ ok: true, value: '+85291234567' })
  })

  it('parses national numbers only with a default region', () => {
    expect(normalizePhone('(415) 555-2671', 'US')).toEqual({ ok: true, value: '+14155552671' })
    expect(normalizePhone('9123 4567', 'HK')).toEqual({ ok: true, value: '+85291234567' })
    expect(normalizePhone('(415) 555-2671')).toEqual({
      ok: false,
      reason: 'phone number has no "+<country code>" prefix and no default region applies',
    })
  })

  it('rejects impossible and invalid numbers', () => {
    expect(normalizePhone('')).toEqual({ ok: false, reason: 'phone number is empty' })
    expect(normalizePhone('not a phone')).toMatchObject({ ok: false })
    expect(normalizePhone('+1 415 555')).toMatchObject({ ok: false })
    // Right length for the US, but 555-01xx style area code 099 does not exist.
    expect(normalizePhone('+1 099 555 2671')).toEqual({ ok: false, reason: 'phone number is not a valid number for its region' })
  })
})

describe('normalizeUsername', () => {
  it('trims and lower-cases', () => {
    expect(normalizeUsername('  Jane_Doe ')).toEqual({ ok: true, value: 'jane_doe' })
    expect(normalizeUsername('   ')).toEqual({ ok: false, reason: 'username is empty' })
  })
})

describe('usernameProblem', () => {
  it('accepts names within the default rules', () => {
    expect(usernameProblem('jane.doe-99_x')).toBeUndefined()
    expect(usernameProblem('a'.repeat(40))).toBeUndefined()
  })

  it('reports length, characters and reserved names', () => {
    expect(usernameProblem('a'.repeat(41))).toBe('username is longer than 40 characters')
    expect(usernameProblem('jane doe')).toMatch(/only ASCII letters/)
    expect(usernameProblem('jöhn')).toMatch(/only ASCII letters/)
    expect(usernameProblem('jane@example.com')).toMatch(/only ASCII letters/)
    expect(usernameProblem('admin')).toBe('username is a reserved name')
    expect(usernameProblem('')).toBe('username is empty')
  })

  it('knows Authgear reserved names, case-insensitively', () => {
    for (const name of ['admin', 'root', 'support', 'www', 'favicon.ico', '.well-known', '404', 'mailer-daemon']) {
      expect(isReservedUsername(name)).toBe(true)
    }
    expect(isReservedUsername('Administrator')).toBe(true)
    expect(isReservedUsername('jane')).toBe(false)
  })
})

describe('normalizeLocale', () => {
  it.each([
    ['en_US', 'en-US'],
    ['en-us', 'en-US'],
    ['EN', 'en'],
    ['zh_hant_hk', 'zh-Hant-HK'],
    [' fr ', 'fr'],
  ])('canonicalizes %j to %j', (input, value) => {
    expect(normalizeLocale(input)).toEqual({ ok: true, value })
  })

  it.each(['', 'x', 'en-', 'en__US', '12', 'English', 'sl-rozaj-biske', 'en-US-u-ca-gregory', 'POSIX'])('rejects %j', (input) => {
    expect(normalizeLocale(input)).toMatchObject({ ok: false })
  })
})

describe('empty values', () => {
  it('treats empty and whitespace-only strings as absent', () => {
    expect(presentString('  Jane ')).toBe('Jane')
    expect(presentString(' \t ')).toBeUndefined()
    expect(presentString(42)).toBeUndefined()
    expect(isEmpty('')).toBe(true)
    expect(isEmpty(null)).toBe(true)
    expect(isEmpty(0)).toBe(false)
    expect(dropEmpty({ a: '', b: ' ', c: 'x', d: null, e: false })).toEqual({ c: 'x', e: false })
  })

  it('reads booleans and CSV boolean text', () => {
    expect(parseBoolean(true)).toBe(true)
    expect(parseBoolean('FALSE')).toBe(false)
    expect(parseBoolean(' true ')).toBe(true)
    expect(parseBoolean('yes')).toBeUndefined()
    expect(parseBoolean(1)).toBeUndefined()
  })
})
