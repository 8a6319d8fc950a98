import type { IdentifierType, ImportRecord } from '../../mappings/record.ts'
import type { FieldGroup } from './config.ts'

/**
 * One user reduced to what reconcile compares, on either side: a flat map of field → value in one
 * normal form (`address.locality`, `custom_attributes.plan`, sorted role and group keys,
 * timestamps as ISO milliseconds, MFA TOTP as presence only so no secret is ever carried).
 * A `null` value on the source side means "the mapping clears this field": Authgear must not have it.
 */
export interface ComparableUser {
  /** Authgear `sub`, or the source key. */
  readonly id: string
  /** Where a source record was read (`users.ndjson:12`). */
  readonly origin?: string
  readonly fields: Readonly<Record<string, unknown>>
  /** The mapped record carried a password: not verifiable, Authgear does not export hashes. */
  readonly password?: boolean
}

export const profileKeys = [
  'name', 'given_name', 'family_name', 'middle_name', 'nickname', 'profile', 'picture', 'website', 'gender', 'birthdate', 'zoneinfo', 'locale',
] as const
export const loginKeys = ['email', 'phone_number', 'preferred_username'] as const

/** The field group a flat field name belongs to. */
export function groupOf(field: string): FieldGroup {
  if ((loginKeys as readonly string[]).includes(field)) return 'login_ids'
  if (field === 'email_verified' || field === 'phone_number_verified') return 'verified'
  if (field === 'disabled') return 'disabled'
  if (field === 'roles') return 'roles'
  if (field === 'groups') return 'groups'
  if (field.startsWith('custom_attributes.')) return 'custom_attributes'
  if (field.startsWith('account_valid_')) return 'account_valid_period'
  if (field.startsWith('mfa.')) return 'mfa'
  return 'standard_attributes'
}

const sortedSet = (values: unknown): string[] => [...new Set((values as string[] | undefined) ?? [])].sort()
const isoMs = (value: unknown): unknown => (typeof value === 'string' && !Number.isNaN(Date.parse(value)) ? new Date(value).toISOString() : value)

/**
 * Fields the mapping is configured to send, which a record without them leaves unset on insert
 * (roles and groups read from a path or column, each configured custom attribute). Only without
 * upsert: an update leaves a field it does not carry as it was.
 */
export interface ExpectedFields {
  readonly roles: boolean
  readonly groups: boolean
  readonly customAttributes: readonly string[]
  /** Login IDs and standard attributes the mapping can send: absent from a record, unset on insert. */
  readonly fields?: readonly string[]
}

/**
 * What the mapping asks Authgear to hold: the fields present in the record, plus the insert
 * defaults a new user gets (`disabled` false; a sent email or phone unverified unless flagged;
 * no roles, groups or custom attribute where `expected` says the mapping would have sent them).
 */
export function fromMappedRecord(id: string, origin: string, record: ImportRecord, expected?: ExpectedFields): ComparableUser {
  const r = record as Record<string, unknown>
  const f: Record<string, unknown> = {}
  for (const key of expected?.fields ?? []) f[key] = null
  for (const key of loginKeys) if (Object.hasOwn(r, key)) f[key] = r[key]
  if (typeof r.email === 'string') f.email_verified = r.email_verified === true
  if (typeof r.phone_number === 'string') f.phone_number_verified = r.phone_number_verified === true
  for (const key of profileKeys) if (Object.hasOwn(r, key)) f[key] = r[key]
  if (typeof r.address === 'object' && r.address !== null) {
    for (const [k, v] of Object.entries(r.address)) f[`address.${k}`] = v
  }
  f.disabled = r.disabled === true
  if (r.roles !== undefined) f.roles = sortedSet(r.roles)
  else if (expected?.roles) f.roles = []
  if (r.groups !== undefined) f.groups = sortedSet(r.groups)
  else if (expected?.groups) f.groups = []
  for (const name of expected?.customAttributes ?? []) f[`custom_attributes.${name}`] = null
  for (const [k, v] of Object.entries((r.custom_attributes as Record<string, unknown> | undefined) ?? {})) f[`custom_attributes.${k}`] = v
  if (r.account_valid_from !== undefined) f.account_valid_from = isoMs(r.account_valid_from)
  if (r.account_valid_until !== undefined) f.account_valid_until = isoMs(r.account_valid_until)
  const mfa = r.mfa as { email?: string | null; phone_number?: string | null; totp?: unknown } | undefined
  if (mfa?.email !== undefined) f['mfa.emails'] = mfa.email === null ? [] : [mfa.email]
  if (mfa?.phone_number !== undefined) f['mfa.phone_numbers'] = mfa.phone_number === null ? [] : [mfa.phone_number]
  if (mfa?.totp !== undefined) f['mfa.totp'] = true
  return { id, origin, fields: f, ...(r.password !== undefined ? { password: true } : {}) }
}

/** What Authgear holds, from one exported record (§7.3). */
export function fromExportRecord(record: Record<string, unknown>): ComparableUser {
  const f: Record<string, unknown> = {}
  for (const key of loginKeys) if (record[key] !== undefined) f[key] = record[key]
  f.email_verified = record.email_verified === true
  f.phone_number_verified = record.phone_number_verified === true
  for (const key of profileKeys) if (record[key] !== undefined) f[key] = record[key]
  for (const [k, v] of Object.entries((record.address as Record<string, unknown> | undefined) ?? {})) f[`address.${k}`] = v
  f.disabled = record.disabled === true
  if (record.roles !== undefined) f.roles = sortedSet(record.roles)
  if (record.groups !== undefined) f.groups = sortedSet(record.groups)
  for (const [k, v] of Object.entries((record.custom_attributes as Record<string, unknown> | undefined) ?? {})) f[`custom_attributes.${k}`] = v
  if (record.account_valid_from !== undefined) f.account_valid_from = isoMs(record.account_valid_from)
  if (record.account_valid_until !== undefined) f.account_valid_until = isoMs(record.account_valid_until)
  const mfa = (record.mfa as { emails?: string[]; phone_numbers?: string[]; totps?: unknown[] } | undefined) ?? {}
  f['mfa.emails'] = sortedSet(mfa.emails)
  f['mfa.phone_numbers'] = sortedSet(mfa.phone_numbers)
  f['mfa.totp'] = (mfa.totps?.length ?? 0) > 0
  return { id: String(record.sub), fields: f }
}

/**
 * The normalized identifier an exported user is matched by: the first login field, in the
 * mapping's identifier order, that the user has. A correct import leaves the user with the login
 * fields its record carried, so this picks the same identifier the mapping picked for it.
 */
export function exportKey(record: Record<string, unknown>, order: readonly IdentifierType[]): string {
  for (const type of [...order, ...loginKeys]) {
    const value = record[type]
    if (typeof value === 'string' && value !== '') return `${type}:${value}`
  }
  return `sub:${String(record.sub)}`
}

/** The keys of an exported user's login IDs other than `key`, the one it is keyed by (see `exportKey`). */
export function otherLoginKeys(record: Record<string, unknown>, key: string): string[] {
  const keys: string[] = []
  for (const type of loginKeys) {
    const value = record[type]
    if (typeof value === 'string' && value !== '' && `${type}:${value}` !== key) keys.push(`${type}:${value}`)
  }
  return keys
}
