import { parsePhoneNumberWithError } from 'libphonenumber-js/max'
import { emailAddressProblem } from '../../mappings/email-address.ts'
import { isAbsoluteUri, isBirthdate, isCanonicalLocale, isPictureUri, isTimeZone } from '../../mappings/formats.ts'

/** How strictly `phone` is checked, as the project's `ui.phone_input.validation`. */
export type PhoneValidation = 'is_valid_number' | 'is_possible_number'

/** A format checker: `undefined` when the value conforms, otherwise the validator's error text. */
export type FormatCheck = (value: string) => string | undefined

/** Go's `time.Parse(time.RFC3339, …)`, which Authgear's date-time format uses: `T` and `Z` upper-case only. */
const rfc3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|[+-](\d{2}):(\d{2}))$/

function dateTimeProblem(value: string): string | undefined {
  const m = rfc3339.exec(value)
  if (m === null) return 'date-time must be in RFC 3339 format'
  const [, y, mo, d, h, mi, s, , , oh, om] = m.map(Number) as number[]
  const days = new Date(Date.UTC(y!, mo!, 0)).getUTCDate()
  // Go's time.Parse, which Authgear's date-time format uses, has no leap second: 60 is out of range.
  const bad = mo! < 1 || mo! > 12 || d! < 1 || d! > days || h! > 23 || mi! > 59 || s! > 59
  const badOffset = (oh !== undefined && !Number.isNaN(oh) && oh > 23) || (om !== undefined && !Number.isNaN(om) && om > 59)
  return bad || badOffset ? 'date-time is out of range' : undefined
}

/** Builds the `phone` checker for one validation mode. */
export function phoneCheck(mode: PhoneValidation): FormatCheck {
  return (value) => {
    if (!/^\+[1-9][0-9]{1,14}$/.test(value)) return 'not in E.164 format'
    try {
      const parsed = parsePhoneNumberWithError(value)
      if (parsed.number !== value) return 'not in E.164 format'
      const ok = mode === 'is_valid_number' ? parsed.isValid() : parsed.isPossible()
      return ok ? undefined : 'invalid phone number'
    } catch {
      return 'invalid phone number'
    }
  }
}

/** Format `email`: a bare address (Go `net/mail.ParseAddress`, no display name). */
export const emailCheck: FormatCheck = (value) => {
  if (!value.includes('@')) return 'mail: missing @ in addr-spec'
  if (/[<>]/.test(value)) return 'input email must not have name'
  return emailAddressProblem(value) === undefined ? undefined : 'mail: invalid address'
}

/** The other string formats of the record schema. */
export const formatChecks: Readonly<Record<string, FormatCheck>> = {
  'date-time': dateTimeProblem,
  uri: (v) => (isAbsoluteUri(v) ? undefined : 'input URL must be absolute'),
  x_picture: (v) => (isPictureUri(v) ? undefined : 'invalid picture URI'),
  birthdate: (v) => (isBirthdate(v) ? undefined : 'invalid birthdate'),
  timezone: (v) => (isTimeZone(v) ? undefined : 'valid timezone name has at least 1 slash'),
  bcp47: (v) => (isCanonicalLocale(v) ? undefined : 'non-canonical BCP 47 tag'),
}
