/**
 * Normalization of login IDs and profile values before they are sent to Authgear.
 *
 * Authgear looks existing users up by the raw identifier string, while it stores login IDs
 * normalized; an un-normalized identifier therefore turns an update into a failed duplicate insert.
 * Every function here is total: it returns a result, never throws.
 */
import { parsePhoneNumberWithError, ParseError, type CountryCode } from 'libphonenumber-js/max'
import { EmailLoginIdMaxBytes, emailAddressProblem } from './email-address.ts'
import { isCanonicalLocale, noteValidPhone } from './formats.ts'
import { memoize } from './memo.ts'
import { phoneFastPath } from './phone-fast-path.ts'

/** The outcome of normalizing one value: the value, or a reason that never repeats the input. */
export type Normalized<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason: string }

const ok = <T>(value: T): Normalized<T> => ({ ok: true, value })
const fail = <T>(reason: string): Normalized<T> => ({ ok: false, reason })

/** A JSON `\ud800` escape decodes to half a character, which Authgear (Go) would store as U+FFFD: another login than the source's. */
export const loneSurrogate = 'holds an unpaired UTF-16 surrogate (a \\uD800–\\uDFFF escape), which Authgear would store as U+FFFD'

/**
 * Trims an e-mail address and puts it in the form Authgear stores it in; fails unless it is a bare
 * `local@domain` address. An ASCII address is lower-cased. Otherwise Authgear's normalizer applies
 * (PRECIS Freeform with case folding: NFKC, then full case folding, then NFC, for the local part;
 * folding and NFC for the domain), so `Straße@Example.de` is stored as `strasse@example.de` and a
 * re-run or an upsert finds the user by it.
 */
export function normalizeEmail(value: string): Normalized<string> {
  if (!value.isWellFormed()) return fail(loneSurrogate)
  const email = storedEmailForm(value.trim())
  const problem = emailAddressProblem(email)
  if (problem !== undefined) return fail(problem)
  // The login-ID check Authgear applies on top of the format. A UTF-16 unit is at most 3 UTF-8
  // bytes, so nearly every address is known short enough without counting them.
  if (email.length * 3 <= EmailLoginIdMaxBytes) return ok(email)
  const bytes = Buffer.byteLength(email)
  return bytes > EmailLoginIdMaxBytes ? fail(`email is ${bytes} bytes long, over the ${EmailLoginIdMaxBytes} Authgear allows for a login ID`) : ok(email)
}

const ascii = /^[\x00-\x7f]*$/

/** An e-mail login ID as Authgear stores it (see `normalizeEmail`); the emulator stores it so too. */
export function storedEmailForm(address: string): string {
  return ascii.test(address) ? address.toLowerCase() : authgearEmailForm(address)
}

function authgearEmailForm(address: string): string {
  const at = address.lastIndexOf('@')
  if (at === -1) return caseFold(address.normalize('NFKC')).normalize('NFC')
  const local = caseFold(address.slice(0, at).normalize('NFKC')).normalize('NFC')
  const domain = caseFold(address.slice(at + 1)).normalize('NFC')
  return `${local}@${domain}`
}

/**
 * Unicode full case folding, as far as it differs from `toLowerCase` for text that may be in an
 * address: the one-to-many and symbol foldings of CaseFolding.txt (`ß` → `ss`, final sigma,
 * long s). Greek symbol variants and ligatures are taken care of by NFKC before.
 */
function caseFold(text: string): string {
  return text.toLowerCase().replace(/[ßςſŉև]/g, (c) => foldings[c] ?? c)
}

const foldings: Record<string, string> = { ß: 'ss', ς: 'σ', ſ: 's', ŉ: 'ʼn', և: 'եւ' }

const invalidForRegion = 'phone number is not a valid number for its region'

const phoneErrors: Record<string, string> = {
  INVALID_COUNTRY: 'phone number has no "+<country code>" prefix and no default region applies',
  NOT_A_NUMBER: 'phone number is not a number',
  TOO_SHORT: 'phone number is too short',
  TOO_LONG: 'phone number is too long',
  INVALID_LENGTH: 'phone number has an invalid length',
}

/**
 * Parses a phone number into E.164 (`+14155552671`).
 *
 * International numbers (`+…`) parse on their own; a national number needs `defaultRegion`
 * (ISO 3166 alpha-2). The number must be valid for its region, the strictest of Authgear's checks,
 * which applies when the import runs without an app UI context.
 */
export function normalizePhone(value: string, defaultRegion?: string): Normalized<string> {
  const text = value.trim()
  if (text.length === 0) return fail('phone number is empty')
  const known = phoneFastPath(text, defaultRegion)
  if (known === null) return fail(invalidForRegion)
  if (known !== undefined) {
    noteValidPhone(known)
    return ok(known)
  }
  try {
    const options = defaultRegion === undefined ? undefined : { defaultCountry: defaultRegion as CountryCode }
    const parsed = parsePhoneNumberWithError(text, options)
    if (!parsed.isValid()) return fail(invalidForRegion)
    noteValidPhone(parsed.number)
    return ok(parsed.number)
  } catch (error) {
    const code = error instanceof ParseError ? error.message : ''
    return fail(phoneErrors[code] ?? 'phone number could not be parsed')
  }
}

/** Trims and lower-cases a username (Authgear's default username config is case-insensitive). */
export function normalizeUsername(value: string): Normalized<string> {
  if (!value.isWellFormed()) return fail(loneSurrogate)
  const username = value.trim().toLowerCase()
  return username.length === 0 ? fail('username is empty') : ok(username)
}

/** Canonicalizes a locale (`en_US` → `en-US`, `zh-hant-hk` → `zh-Hant-HK`); fails unless it is a BCP 47 tag. */
export function normalizeLocale(value: string): Normalized<string> {
  return canonicalLocale(value)
}

const canonicalLocale = memoize((value: string): Normalized<string> => {
  const text = value.trim().replaceAll('_', '-')
  if (text.length === 0) return fail('locale is empty')
  let canonical: string | undefined
  try {
    canonical = Intl.getCanonicalLocales(text)[0]
  } catch {
    return fail('locale is not a valid BCP 47 language tag')
  }
  if (canonical === undefined) return fail('locale is not a valid BCP 47 language tag')
  if (!isCanonicalLocale(canonical)) return fail('locale is not a language with an optional script and region (variants and extensions are not imported)')
  return ok(canonical)
})

/**
 * A string value with its surrounding whitespace removed, or `undefined` when the value is not a
 * string or is empty or whitespace-only. Authgear rejects `""` for profile fields, and an empty
 * column means "no value", so such values are treated as absent.
 */
export function presentString(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined
  const text = value.trim()
  return text.length === 0 ? undefined : text
}

/**
 * `text` as it may be sent, or `undefined` with a warning naming `field` when it holds a lone
 * surrogate: Authgear would store another value than the source's (U+FFFD), and say nothing.
 */
export function wellFormedText(text: string | undefined, field: string, warnings: string[]): string | undefined {
  if (text === undefined || text.isWellFormed()) return text
  warnings.push(`${field} left out: ${loneSurrogate}`)
  return undefined
}

/** `keys` without those holding a lone surrogate (a role or group key Authgear would read as another), with a warning naming `field`. */
export function wellFormedKeys(keys: string[], field: string, warnings: string[]): string[] {
  const kept = keys.filter((key) => key.isWellFormed())
  const dropped = keys.length - kept.length
  if (dropped > 0) warnings.push(`${field}: ${dropped} ${dropped === 1 ? 'entry' : 'entries'} left out: ${loneSurrogate}`)
  return kept
}

/** Whether a value counts as absent: `undefined`, `null`, or an empty or whitespace-only string. */
export function isEmpty(value: unknown): boolean {
  return value === undefined || value === null || (typeof value === 'string' && value.trim().length === 0)
}

/** A shallow copy of `object` without the members that are {@link isEmpty}. */
export function dropEmpty<T extends Record<string, unknown>>(object: T): Partial<T> {
  const result: Partial<T> = {}
  for (const [key, value] of Object.entries(object)) {
    if (!isEmpty(value)) (result as Record<string, unknown>)[key] = value
  }
  return result
}

/**
 * A boolean from a source value: `true`/`false`, or the strings `"true"`/`"false"` (any case, as CSV
 * exports carry them). Anything else, including absence, is `undefined`.
 */
export function parseBoolean(value: unknown): boolean | undefined {
  if (typeof value === 'boolean') return value
  if (typeof value !== 'string') return undefined
  const text = value.trim().toLowerCase()
  if (text === 'true') return true
  if (text === 'false') return false
  return undefined
}
