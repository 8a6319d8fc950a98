/**
 * Checks for the string formats of Authgear's import record schema (`uri`, `x_picture`, `birthdate`,
 * `timezone`, `bcp47`, `phone`, base32 TOTP secrets). Shared by the record schema and the mappings,
 * so a value a mapping keeps is one the schema accepts.
 */
import { parsePhoneNumberWithError } from 'libphonenumber-js/max'
import { memoize } from './memo.ts'
import { phoneFastPath } from './phone-fast-path.ts'

/**
 * Plain `http(s)://host[:port][/path?query#fragment]` with nothing a URL parser would have to
 * repair: such a value certainly parses with a host, so the (costly) parser is skipped for it.
 */
const plainHttpUrl = /^https?:\/\/[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?(?::\d{1,5})?(?:[/?#][\x21-\x7e]*)?$/

/**
 * Format `uri`: absolute, with a scheme and a host, and a path already in clean form. Authgear
 * parses it with Go's `url.Parse` (which refuses a `%` not followed by two hex digits in the path
 * or fragment) and then requires the path to equal `path.Clean` of itself: no empty segment
 * (`//`), no `.` or `..` segment.
 */
export function isAbsoluteUri(value: string): boolean {
  if (!readsAsUrlWithHost(value)) return false
  if (plainHttpUrl.test(value)) return true
  if (!URL.canParse(value)) return false
  return new URL(value).host.length > 0
}

/** Format `x_picture`: an absolute http(s) URI (read as `uri` is), or `authgearimages:///<path>`. */
export function isPictureUri(value: string): boolean {
  // Authgear's own image store: the path after `///` must already be clean (no `//`, `.` or `..`, no trailing `/`).
  if (value.startsWith('authgearimages:///')) {
    const path = value.slice('authgearimages://'.length)
    return path.length > 1 && !path.endsWith('/') && hasCleanSegments(path)
  }
  if (!readsAsUrlWithHost(value)) return false
  if (plainHttpUrl.test(value)) return true
  if (!URL.canParse(value)) return false
  const url = new URL(value)
  return (url.protocol === 'http:' || url.protocol === 'https:') && url.host.length > 0
}

/** No empty, `.` or `..` segment, as Go's `path.Clean` leaves a path (a trailing `/` aside). */
function hasCleanSegments(path: string): boolean {
  return !path.includes('//') && !/\/\.\.?(?:\/|$)/.test(path)
}

/** Every `%` in the text starts an escape of two hex digits. */
const wellEscaped = /^(?:[^%]|%[0-9A-Fa-f]{2})*$/

/**
 * `scheme://authority/path?query#fragment` as Go's `url.Parse` reads it with a host: the `//` right
 * after the scheme (`https:/x` and `https:x` have no host there), no control character, space or
 * backslash, no `%` in the authority; and the path clean, path and fragment well escaped.
 */
function readsAsUrlWithHost(value: string): boolean {
  if (!/^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#%]/.test(value) || /[\x00-\x20\x7f\\]/.test(value)) return false
  const authority = value.indexOf('//')
  const hash = value.indexOf('#')
  const beforeFragment = hash === -1 ? value : value.slice(0, hash)
  if (hash !== -1 && !wellEscaped.test(value.slice(hash + 1))) return false
  const query = beforeFragment.indexOf('?')
  const hierarchy = query === -1 ? beforeFragment : beforeFragment.slice(0, query)
  const slash = hierarchy.indexOf('/', authority + 2)
  if (hierarchy.slice(authority + 2, slash === -1 ? undefined : slash).includes('%')) return false
  if (slash === -1) return true
  const path = hierarchy.slice(slash)
  if (!wellEscaped.test(path)) return false
  return hasCleanSegments(path)
}

const daysInMonth = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31] as const

function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0
}

/** Format `birthdate` (OIDC): `YYYY-MM-DD`, `0000-MM-DD` or `--MM-DD` (year unknown), or `YYYY`. */
export function isBirthdate(value: string): boolean {
  if (/^\d{4}$/.test(value)) return true
  const m = /^(\d{4}|-)-(\d{2})-(\d{2})$/.exec(value)
  if (m === null) return false
  const [, yearText, monthText, dayText] = m as unknown as [string, string, string, string]
  const month = Number(monthText)
  const day = Number(dayText)
  if (month < 1 || month > 12 || day < 1) return false
  const knownYear = yearText !== '-' && yearText !== '0000'
  if (knownYear && month === 2) return day <= (isLeapYear(Number(yearText)) ? 29 : 28)
  return day <= (daysInMonth[month - 1] ?? 0)
}

/**
 * Format `timezone`: contains `/` and names an IANA zone. Authgear loads the zone with Go's
 * `time.LoadLocation`, which is case-sensitive, while `Intl` is not; so the spelling must be exact
 * whenever `Intl` reports the same zone back, and look like a zone name (segments starting with a
 * capital) when it is a backward-compatible alias such as `US/Pacific`.
 */
export const isTimeZone: (value: string) => boolean = memoize(timeZoneCheck)

/**
 * Names ICU still resolves that are gone from the IANA tzdata Go loads (removed 2017–2020):
 * `time.LoadLocation` refuses them, and with them the whole record.
 */
const removedZones = new Set(['US/Pacific-New', 'Canada/East-Saskatchewan'])

function timeZoneCheck(value: string): boolean {
  if (!value.includes('/') || removedZones.has(value) || value.startsWith('SystemV/')) return false
  let resolved: string
  try {
    resolved = new Intl.DateTimeFormat('en', { timeZone: value }).resolvedOptions().timeZone
  } catch {
    return false
  }
  if (resolved.toLowerCase() === value.toLowerCase()) return resolved === value
  return value.split('/').every((segment) => /^[A-Z][A-Za-z0-9_+-]*$/.test(segment))
}

/**
 * The language tags whose canonical form Go's `golang.org/x/text/language` (what Authgear checks
 * `bcp47` with) and `Intl` agree on: a 2–3 letter language, then an optional script and region.
 * Go refuses 5–8 letter language subtags (`english`) and orders variants differently, so a tag
 * with variants or extensions could pass here and fail the whole record there.
 */
const portableTag = /^[a-z]{2,3}(?:-[A-Z][a-z]{3})?(?:-(?:[A-Z]{2}|\d{3}))?$/

/** Format `bcp47`: a language tag in canonical form (`en-US`, not `en_US` or `en-us`) that Authgear's parser also reads as canonical. */
export const isCanonicalLocale: (value: string) => boolean = memoize((value) => {
  if (!portableTag.test(value)) return false
  try {
    return Intl.getCanonicalLocales(value)[0] === value
  } catch {
    return false
  }
})

/** Format `phone`: an E.164 number (`+<country><number>`) that is a valid number for its country. */
export function isE164Phone(value: string): boolean {
  if (value === lastValidPhone) return true
  if (!/^\+[1-9][0-9]{1,14}$/.test(value)) return false
  const known = phoneFastPath(value)
  if (known !== undefined) return known === value
  try {
    const parsed = parsePhoneNumberWithError(value)
    const valid = parsed.number === value && parsed.isValid()
    if (valid) lastValidPhone = value
    return valid
  } catch {
    return false
  }
}

/**
 * The last number known valid. A mapping normalizes a phone number and the record schema checks
 * the result right after; remembering one value spares the second full parse.
 */
let lastValidPhone: string | undefined

/** Records `e164` as valid: `normalizePhone` produced it from a number that passed `isValid()`. */
export function noteValidPhone(e164: string): void {
  lastValidPhone = e164
}

/**
 * A TOTP secret Authgear can decode: upper-case base32 without padding. Authgear decodes it with
 * `base32.StdEncoding.WithPadding(base32.NoPadding)`, so a `=` fails the whole record.
 */
export function isBase32Secret(value: string): boolean {
  return /^[A-Z2-7]+$/.test(value)
}
