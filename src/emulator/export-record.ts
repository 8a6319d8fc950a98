import { isDisabledNow } from './account-state.ts'
import type { StoredUser } from './user-store.ts'

/** Standard attributes in `userexport.Record` order (the login fields come before them). */
const profileKeys = [
  'name', 'given_name', 'family_name', 'middle_name', 'nickname', 'profile', 'picture', 'website', 'gender', 'birthdate', 'zoneinfo', 'locale',
] as const
const addressKeys = ['formatted', 'street_address', 'locality', 'region', 'postal_code', 'country'] as const

/** What a record needs beyond the user: the TOTP URI issuer (the project's HTTP origin). */
export interface ExportRecordContext {
  readonly issuer: string
}

/**
 * One user as Authgear's export writes it (`userexport.Record`, authgear-api.md §7.3): keys in
 * struct order; `email_verified`, `phone_number_verified`, `address`, `created_at`, `disabled`,
 * `is_anonymized`, `mfa`, `biometric_count`, `passkey_count` always present; everything else left
 * out when empty (Go `omitempty`), `identities` included. The result is meant for `goStringify`.
 */
export function exportRecord(user: StoredUser, ctx: ExportRecordContext): Record<string, unknown> {
  const out: Record<string, unknown> = { sub: user.id }
  if (user.username) out.preferred_username = user.username.value
  if (user.email) out.email = user.email.value
  if (user.phone) out.phone_number = user.phone.value
  out.email_verified = user.email?.verified ?? false
  out.phone_number_verified = user.phone?.verified ?? false
  const standard = user.standard ?? {}
  for (const key of profileKeys) if (nonEmpty(standard[key])) out[key] = standard[key]
  out.address = exportAddress(standard.address)
  const custom = Object.keys(user.custom ?? {}).filter((k) => user.custom![k] !== null).sort()
  if (custom.length > 0) out.custom_attributes = Object.fromEntries(custom.map((k) => [k, user.custom![k]]))
  if (user.roles && user.roles.length > 0) out.roles = [...user.roles]
  if (user.groups && user.groups.length > 0) out.groups = [...user.groups]
  out.created_at = user.createdAt
  // Disabled now, as the Admin API's isDisabled says: a temporary disable counts only inside its window.
  out.disabled = isDisabledNow(user)
  if (user.deleteAt) out.delete_at = user.deleteAt
  out.is_anonymized = user.status === 'anonymized'
  if (user.temporarilyDisabledFrom) out.temporarily_disabled_from = user.temporarilyDisabledFrom
  if (user.temporarilyDisabledUntil) out.temporarily_disabled_until = user.temporarilyDisabledUntil
  if (user.accountValidFrom) out.account_valid_from = user.accountValidFrom
  if (user.accountValidUntil) out.account_valid_until = user.accountValidUntil
  const identities = exportIdentities(user)
  if (identities.length > 0) out.identities = identities
  out.mfa = exportMfa(user, ctx)
  out.biometric_count = 0
  out.passkey_count = 0
  return out
}

function nonEmpty(value: unknown): boolean {
  return value !== undefined && value !== null && value !== ''
}

function exportAddress(address: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  if (typeof address !== 'object' || address === null) return out
  for (const key of addressKeys) {
    const value = (address as Record<string, unknown>)[key]
    if (nonEmpty(value)) out[key] = value
  }
  return out
}

const loginIds = [
  ['email', 'email', 'email'],
  ['phone', 'phone', 'phone_number'],
  ['username', 'username', 'preferred_username'],
] as const

function exportIdentities(user: StoredUser): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = []
  for (const [key, type, claim] of loginIds) {
    const id = user[key]
    if (id === undefined) continue
    out.push({
      type: 'login_id',
      login_id: { key, type, value: id.value, original_value: id.original ?? id.value },
      claims: { [claim]: id.value },
    })
  }
  for (const o of user.oauth ?? []) {
    out.push({
      type: 'oauth',
      oauth: { provider_alias: o.providerAlias, provider_type: o.providerType, provider_subject_id: o.subjectId, user_profile: { ...o.claims } },
      claims: Object.fromEntries(Object.entries(o.claims).sort(([a], [b]) => (a < b ? -1 : 1))),
    })
  }
  return out
}

function exportMfa(user: StoredUser, ctx: ExportRecordContext): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  const mfa = user.mfa
  if (mfa?.emails && mfa.emails.length > 0) out.emails = [...mfa.emails]
  if (mfa?.phoneNumbers && mfa.phoneNumbers.length > 0) out.phone_numbers = [...mfa.phoneNumbers]
  if (mfa?.totpSecrets && mfa.totpSecrets.length > 0) {
    const account = user.email?.value ?? user.username?.value ?? user.phone?.value ?? user.id
    out.totps = mfa.totpSecrets.map((secret) => ({
      secret,
      uri: `otpauth://totp/${encodeURIComponent(account)}?algorithm=SHA1&digits=6&issuer=${encodeURIComponent(ctx.issuer)}&period=30&secret=${secret}`,
    }))
  }
  return out
}
