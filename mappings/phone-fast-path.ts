/**
 * A fast path for the common phone number: plainly written, with no national or international
 * dialling prefix to strip. For such a number it answers as libphonenumber-js would: the E.164 form
 * of a valid number, or `null` for a number that parses but is not valid for its country. Anything
 * else gets `undefined`, and the caller hands it to libphonenumber-js itself.
 *
 * Why: libphonenumber-js compiles its metadata's regular expressions anew on every match, about
 * ten of them per number (country detection in a shared calling code such as +1, then the number
 * type), which made a phone number cost ~16 µs, more than the rest of a record's mapping. This
 * file walks the same metadata with the same rules (leading digits or number type to pick the
 * country among those sharing a calling code, then the national number pattern and the type
 * patterns with their possible lengths) over expressions compiled once per country. Whatever it
 * cannot decide the same way (a national prefix, an international dialling prefix, a calling code
 * written without `+`, extensions, letters, odd lengths) it leaves to the library; a test compares
 * both on numbers of every country.
 */
import { isSupportedCountry, Metadata, type CountryCode } from 'libphonenumber-js/core'
import metadataJson from 'libphonenumber-js/max/metadata'

const metadata = new Metadata(metadataJson as never)
const callingCodes = (metadata as unknown as { countryCallingCodes(): Record<string, readonly string[]> }).countryCallingCodes()

/** The number types libphonenumber checks after a fixed line, in its order. */
const typeOrder = ['FIXED_LINE', 'MOBILE', 'PREMIUM_RATE', 'TOLL_FREE', 'SHARED_COST', 'VOIP', 'PERSONAL_NUMBER', 'PAGER', 'UAN', 'VOICEMAIL'] as const

interface TypeRule {
  readonly pattern: RegExp
  readonly lengths: readonly number[] | undefined
}

interface CountryRules {
  readonly callingCode: string
  readonly nationalNumber: RegExp
  readonly leadingDigits: RegExp | undefined
  readonly nationalPrefix: RegExp | undefined
  readonly idd: RegExp | undefined
  /** undefined when the metadata has no per-type patterns (the national pattern decides alone). */
  readonly types: readonly TypeRule[] | undefined
}

interface PlanView {
  callingCode(): string
  nationalNumberPattern(): string
  leadingDigits(): string | undefined
  nationalPrefixForParsing(): string | undefined
  IDDPrefix(): string | undefined
  hasTypes(): boolean
  type(name: string): { pattern(): string; possibleLengths(): number[] | undefined } | undefined
}

const whole = (pattern: string): RegExp => new RegExp(`^(?:${pattern})$`)
const atStart = (pattern: string): RegExp => new RegExp(`^(?:${pattern})`)

const rulesCache = new Map<string, CountryRules | null>()

function rulesOf(country: string): CountryRules | undefined {
  let rules = rulesCache.get(country)
  if (rules === undefined) {
    rules = buildRules(country)
    rulesCache.set(country, rules)
  }
  return rules ?? undefined
}

function buildRules(country: string): CountryRules | null {
  let plan: PlanView
  try {
    plan = (metadata.selectNumberingPlan(country as CountryCode) as unknown as { numberingPlan: PlanView }).numberingPlan
  } catch {
    return null
  }
  const leading = plan.leadingDigits()
  const prefix = plan.nationalPrefixForParsing()
  const idd = plan.IDDPrefix()
  let types: TypeRule[] | undefined
  if (plan.hasTypes()) {
    types = []
    for (const name of typeOrder) {
      const type = plan.type(name)
      const pattern = type?.pattern()
      if (type === undefined || !pattern) continue
      types.push({ pattern: whole(pattern), lengths: type.possibleLengths() })
    }
  }
  return {
    callingCode: plan.callingCode(),
    nationalNumber: whole(plan.nationalNumberPattern()),
    leadingDigits: leading ? atStart(leading) : undefined,
    nationalPrefix: prefix ? atStart(prefix) : undefined,
    idd: idd ? atStart(idd) : undefined,
    types,
  }
}

/** Whether libphonenumber would find a number type for `national` in `rules`' country. */
function hasType(national: string, rules: CountryRules): boolean {
  if (!rules.nationalNumber.test(national)) return false
  if (rules.types === undefined) return true
  for (const type of rules.types) {
    if (type.lengths !== undefined && !type.lengths.includes(national.length)) continue
    if (type.pattern.test(national)) return true
  }
  return false
}

/**
 * The country among those sharing the calling code, picked as libphonenumber picks it; undefined
 * when none fits (the number is then judged by its fallback plan), null when a country's metadata
 * is missing (left to the library).
 */
function exactCountry(national: string, countries: readonly string[]): CountryRules | undefined | null {
  if (countries.length === 1) return rulesOf(countries[0] as string) ?? null
  for (const country of countries) {
    const rules = rulesOf(country)
    if (rules === undefined) return null
    if (rules.leadingDigits !== undefined ? rules.leadingDigits.test(national) : hasType(national, rules)) return rules
  }
  return undefined
}

/**
 * A plainly written number: optional `+`, an optional first digit group, an optional parenthesized
 * group, then digit groups split by single spaces, dots or dashes. Each part can match only one way
 * (a repeated group of digits with an optional separator would backtrack exponentially on a long
 * run of digits that fails at its end).
 */
const plainShape = /^\+?(?:\d+[ .-]?)?(?:\(\d+\)[ .-]?)?\d+(?:[ .-]\d+)*$/

/**
 * The E.164 form of `text` when it is certainly a valid number (with `defaultRegion` for numbers
 * written without `+`), null when it certainly parses but is not valid, undefined when the library
 * must decide.
 */
export function phoneFastPath(text: string, defaultRegion?: string): string | null | undefined {
  if (text.length > 40 || !plainShape.test(text)) return undefined
  // The library refuses an unknown default region (`UK` for `GB`) even for a `+` number.
  if (defaultRegion !== undefined && !isSupportedCountry(defaultRegion as CountryCode, metadataJson as never)) return undefined
  const digits = text.replace(/[^\d]/g, '')
  let callingCode: string | undefined
  let national: string
  let fallback: CountryRules | undefined
  if (text.startsWith('+')) {
    if (digits.startsWith('0')) return undefined
    for (let length = 1; length <= 3 && callingCode === undefined; length++) {
      const candidate = digits.slice(0, length)
      const countries = callingCodes[candidate]
      if (countries !== undefined && !(countries.length === 1 && (countries[0] as string).length === 3)) callingCode = candidate
    }
    if (callingCode === undefined) return undefined
    national = digits.slice(callingCode.length)
    fallback = rulesOf((callingCodes[callingCode] as readonly string[])[0] as string)
    if (fallback === undefined || fallback.nationalPrefix?.test(national)) return undefined
  } else {
    if (defaultRegion === undefined) return undefined
    fallback = rulesOf(defaultRegion)
    if (fallback === undefined) return undefined
    callingCode = fallback.callingCode
    // Left to the library: a dialling prefix (011 44 …), the calling code without + (1 201 …), a national prefix (0 20 …).
    if (fallback.idd?.test(digits) || digits.startsWith(callingCode) || fallback.nationalPrefix?.test(digits)) return undefined
    // The library does not take two digits with separators (`(3)9`) for a number at all.
    if (digits.length < 3) return undefined
    national = digits
  }
  if (national.length < 2 || national.length > 17) return undefined
  const countries = callingCodes[callingCode] as readonly string[]
  const exact = exactCountry(national, countries)
  if (exact === null) return undefined
  const rules = exact ?? fallback
  return hasType(national, rules) ? `+${callingCode}${national}` : null
}
