/**
 * Standard attributes, access fields and custom attributes of an Auth0 profile. Every value is
 * kept only when Authgear's record schema accepts it; anything else is left out with a warning.
 */
import type { MappingConfig } from './config.ts'
import { putCustomAttribute } from './custom-attribute.ts'
import { isAbsoluteUri, isBirthdate, isPictureUri, isTimeZone } from './formats.ts'
import { isEmpty, normalizeLocale, parseBoolean, presentString, wellFormedKeys, wellFormedText } from './normalize.ts'
import type { ImportRecord } from './record.ts'
import { getPath } from './source-path.ts'

type Profile = Pick<
  ImportRecord,
  | 'name' | 'given_name' | 'family_name' | 'middle_name' | 'nickname' | 'gender' | 'profile' | 'picture'
  | 'website' | 'birthdate' | 'zoneinfo' | 'locale' | 'address' | 'disabled' | 'roles' | 'groups' | 'custom_attributes'
>

/** The source text of `field`, or `undefined` (with a warning when the value is there but not text). `prefix` places the field in warnings (`address.`). */
function text(data: Record<string, unknown>, field: string, warnings: string[], prefix = ''): string | undefined {
  const value = data[field]
  if (isEmpty(value)) return undefined
  if (typeof value !== 'string') {
    warnings.push(`${prefix}${field} left out: not a string`)
    return undefined
  }
  return wellFormedText(presentString(value), `${prefix}${field}`, warnings)
}

function checked(value: string | undefined, field: string, valid: (v: string) => boolean, rule: string, warnings: string[]): string | undefined {
  if (value === undefined) return undefined
  if (valid(value)) return value
  warnings.push(`${field} left out: ${rule}`)
  return undefined
}

const generatedAvatar = /^https?:\/\/([a-z0-9-]+\.)*(gravatar\.com\/avatar\/|cdn\.auth0\.com\/avatars\/)/i

const addressParts = ['formatted', 'street_address', 'locality', 'region', 'postal_code', 'country'] as const

function mapAddress(value: unknown, warnings: string[]): ImportRecord['address'] {
  if (isEmpty(value)) return undefined
  if (typeof value !== 'object' || Array.isArray(value)) {
    warnings.push('address left out: not an object')
    return undefined
  }
  const address: Record<string, string> = {}
  for (const part of addressParts) {
    const partText = text(value as Record<string, unknown>, part, warnings, 'address.')
    if (partText !== undefined) address[part] = partText
  }
  return Object.keys(address).length > 0 ? address : undefined
}

/** A list of keys: an array of strings, or a string holding a JSON array or comma-separated keys. */
function keyList(value: unknown, field: string, warnings: string[]): string[] | undefined {
  let items: unknown[]
  if (isEmpty(value)) return undefined
  if (Array.isArray(value)) items = value
  else if (typeof value === 'string') {
    const trimmed = value.trim()
    let parsed: unknown
    try {
      parsed = trimmed.startsWith('[') ? JSON.parse(trimmed) : undefined
    } catch {
      parsed = undefined
    }
    items = Array.isArray(parsed) ? parsed : trimmed.split(',')
  } else {
    warnings.push(`${field} left out: not a list`)
    return undefined
  }
  const keys = items.map(presentString).filter((key): key is string => key !== undefined)
  if (keys.length !== items.length) warnings.push(`${field}: ${items.length - keys.length} entries that are not non-empty strings left out`)
  return wellFormedKeys(keys, field, warnings)
}

function customAttributes(data: Record<string, unknown>, config: MappingConfig, warnings: string[]): Record<string, unknown> | undefined {
  const attributes: Record<string, unknown> = {}
  for (const [name, path] of Object.entries(config.custom_attributes)) {
    const value = getPath(data, path)
    if (!isEmpty(value)) putCustomAttribute(attributes, name, value, path, warnings)
  }
  return Object.keys(attributes).length > 0 ? attributes : undefined
}

/** Maps the non-login fields of an Auth0 profile. `email` is the raw source email, for the Auth0-default checks. */
export function mapProfile(data: Record<string, unknown>, config: MappingConfig, warnings: string[]): Profile {
  const drop = config.drop_auth0_defaults
  const email = presentString(data['email'])?.toLowerCase()
  let name = text(data, 'name', warnings)
  if (drop.name_equal_to_email && name !== undefined && name.toLowerCase() === email) name = undefined
  let nickname = text(data, 'nickname', warnings)
  const localPart = email?.slice(0, email.lastIndexOf('@'))
  if (drop.nickname_equal_to_email_local_part && nickname !== undefined && nickname.toLowerCase() === localPart) nickname = undefined
  let picture = text(data, 'picture', warnings)
  if (drop.gravatar_picture && picture !== undefined && generatedAvatar.test(picture)) picture = undefined

  const rawLocale = text(data, 'locale', warnings)
  const locale = rawLocale === undefined ? undefined : normalizeLocale(rawLocale)
  if (locale !== undefined && !locale.ok) warnings.push(`locale left out: ${locale.reason}`)

  const blocked = data['blocked']
  const disabled = parseBoolean(blocked)
  if (!isEmpty(blocked) && disabled === undefined) warnings.push('blocked left out: not a boolean')

  const profile: Profile = {
    name,
    given_name: text(data, 'given_name', warnings),
    family_name: text(data, 'family_name', warnings),
    middle_name: text(data, 'middle_name', warnings),
    nickname,
    gender: text(data, 'gender', warnings),
    profile: checked(text(data, 'profile', warnings), 'profile', isAbsoluteUri, 'not an absolute URI', warnings),
    picture: checked(picture, 'picture', isPictureUri, 'not an http(s) URI', warnings),
    website: checked(text(data, 'website', warnings), 'website', isAbsoluteUri, 'not an absolute URI', warnings),
    birthdate: checked(text(data, 'birthdate', warnings), 'birthdate', isBirthdate, 'not YYYY-MM-DD, 0000-MM-DD, --MM-DD or YYYY', warnings),
    zoneinfo: checked(text(data, 'zoneinfo', warnings), 'zoneinfo', isTimeZone, 'not an IANA time zone', warnings),
    locale: locale?.ok ? locale.value : undefined,
    address: mapAddress(data['address'], warnings),
    // Only `true` is sent: `disabled: false` has no effect on insert beyond a warning.
    disabled: disabled === true ? true : undefined,
    roles: config.roles_from === null ? undefined : keyList(getPath(data, config.roles_from), config.roles_from, warnings),
    groups: config.groups_from === null ? undefined : keyList(getPath(data, config.groups_from), config.groups_from, warnings),
    custom_attributes: customAttributes(data, config, warnings),
  }
  return profile
}
