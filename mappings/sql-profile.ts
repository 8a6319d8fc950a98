/**
 * Profile fields of a SQL user draft: each value is kept only when Authgear's record schema
 * accepts it; anything else is left out with a warning naming the field, never the value.
 */
import type { MappingConfig } from './config.ts'
import { putCustomAttribute } from './custom-attribute.ts'
import { isAbsoluteUri, isBirthdate, isPictureUri, isTimeZone } from './formats.ts'
import { isEmpty, normalizeLocale, presentString, wellFormedKeys, wellFormedText } from './normalize.ts'
import type { ImportRecord } from './record.ts'
import { getPath } from './source-path.ts'
import type { SqlUserDraft } from './sql-draft.ts'
import { toTimestamp } from './sql-values.ts'

type Profile = Omit<ImportRecord, 'email' | 'phone_number' | 'preferred_username' | 'email_verified' | 'phone_number_verified' | 'password' | 'mfa'>

function text(value: unknown, field: string, warnings: string[]): string | undefined {
  if (isEmpty(value)) return undefined
  if (typeof value === 'number') return String(value)
  if (typeof value !== 'string') {
    warnings.push(`${field} left out: not a string`)
    return undefined
  }
  return wellFormedText(presentString(value), field, warnings)
}

function checked(value: unknown, field: string, valid: (v: string) => boolean, rule: string, warnings: string[]): string | undefined {
  const t = text(value, field, warnings)
  if (t === undefined || valid(t)) return t
  warnings.push(`${field} left out: ${rule}`)
  return undefined
}

/** Keys from a Postgres array, a parsed JSON array, a JSON array text (`JSON_ARRAYAGG` on MariaDB) or comma-separated text. */
export function keyList(value: unknown, field: string, warnings: string[]): string[] | undefined {
  if (isEmpty(value)) return undefined
  let items: unknown[] | undefined
  if (Array.isArray(value)) items = value
  else if (typeof value === 'string') {
    const trimmed = value.trim()
    if (trimmed.startsWith('[')) {
      try {
        const parsed: unknown = JSON.parse(trimmed)
        if (Array.isArray(parsed)) items = parsed
      } catch {
        items = undefined
      }
      if (items === undefined) {
        warnings.push(`${field} left out: not a valid JSON array`)
        return undefined
      }
    } else items = trimmed.split(',')
  } else {
    warnings.push(`${field} left out: not a list`)
    return undefined
  }
  // json_agg over a LEFT JOIN without matches yields [null]: no keys, not a problem.
  const keys = [...new Set(items.map(presentString).filter((key): key is string => key !== undefined))]
  const dropped = items.filter((item) => item !== null && presentString(item) === undefined).length
  if (dropped > 0) warnings.push(`${field}: ${dropped} entries that are not non-empty strings left out`)
  return wellFormedKeys(keys, field, warnings)
}

function timestamp(value: unknown, field: string, warnings: string[]): string | undefined {
  if (isEmpty(value)) return undefined
  const t = toTimestamp(value)
  if (t === undefined) warnings.push(`${field} left out: not a timestamp`)
  return t
}

function customAttributes(draft: SqlUserDraft, row: Readonly<Record<string, unknown>>, config: MappingConfig, warnings: string[]): Record<string, unknown> | undefined {
  // A module's attributes follow the declarative rule: Authgear's attributes hold scalars, so an
  // object or array would only fail at Authgear, record by record.
  const attributes: Record<string, unknown> = {}
  const given: unknown = draft.custom_attributes
  if (given !== undefined && given !== null) {
    if (typeof given !== 'object' || Array.isArray(given)) warnings.push('custom_attributes left out: the mapping module gave no object of attributes')
    else {
      for (const [name, value] of Object.entries(given)) {
        if (value !== undefined && value !== null) putCustomAttribute(attributes, name, value, undefined, warnings)
      }
    }
  }
  for (const [name, path] of Object.entries(config.custom_attributes)) {
    if (Object.hasOwn(attributes, name)) continue
    const value = getPath(row as Record<string, unknown>, path)
    if (!isEmpty(value)) putCustomAttribute(attributes, name, value, path, warnings)
  }
  return Object.keys(attributes).length > 0 ? attributes : undefined
}

/** Maps the non-login fields of a draft. `names` maps a draft field to the column it came from, for warnings. */
export function sqlProfile(draft: SqlUserDraft, row: Readonly<Record<string, unknown>>, config: MappingConfig, names: (field: string) => string, warnings: string[]): Profile {
  const rawLocale = text(draft.locale, names('locale'), warnings)
  const locale = rawLocale === undefined ? undefined : normalizeLocale(rawLocale)
  if (locale !== undefined && !locale.ok) warnings.push(`${names('locale')} left out: ${locale.reason}`)
  const birthdate = typeof draft.birthdate === 'string' ? draft.birthdate.slice(0, 10) : draft.birthdate
  return {
    name: text(draft.name, names('name'), warnings),
    given_name: text(draft.given_name, names('given_name'), warnings),
    family_name: text(draft.family_name, names('family_name'), warnings),
    middle_name: text(draft.middle_name, names('middle_name'), warnings),
    nickname: text(draft.nickname, names('nickname'), warnings),
    gender: text(draft.gender, names('gender'), warnings),
    picture: checked(draft.picture, names('picture'), isPictureUri, 'not an http(s) URI', warnings),
    website: checked(draft.website, names('website'), isAbsoluteUri, 'not an absolute URI', warnings),
    birthdate: checked(birthdate, names('birthdate'), isBirthdate, 'not YYYY-MM-DD, 0000-MM-DD, --MM-DD or YYYY', warnings),
    zoneinfo: checked(draft.zoneinfo, names('zoneinfo'), isTimeZone, 'not an IANA time zone', warnings),
    locale: locale?.ok ? locale.value : undefined,
    disabled: draft.disabled === true ? true : undefined,
    account_valid_from: timestamp(draft.account_valid_from, names('account_valid_from'), warnings),
    account_valid_until: timestamp(draft.account_valid_until, names('account_valid_until'), warnings),
    roles: keyList(draft.roles, names('roles'), warnings),
    groups: keyList(draft.groups, names('groups'), warnings),
    custom_attributes: customAttributes(draft, row, config, warnings),
  }
}
