import { Errors, validationFailed, type ApiErrorBody } from './api-error.ts'
import { judgeBcryptHash } from './bcrypt-hash.ts'
import type { CustomAttributeChecker } from './custom-attributes.ts'
import { EmailLoginIdMaxBytes } from '../../mappings/email-address.ts'
import { LoginIdFields, normalizeLoginId, usernameCauses, type LoginIdKey } from './login-id.ts'
import type { StoredUser, UserStore } from './user-store.ts'

/** What per-record import logic needs from the project: its users and its configuration. */
export interface ImportProject {
  readonly store: UserStore
  readonly loginIdKeys: ReadonlySet<LoginIdKey>
  readonly roles: ReadonlySet<string>
  readonly groups: ReadonlySet<string>
  readonly customAttributes: CustomAttributeChecker
  /** RFC 3339 timestamp for `created_at`/`updated_at`. */
  now(): string
}

/** How one record ended. `user_id` only for successes. */
export type RecordResult =
  | { readonly outcome: 'inserted' | 'updated' | 'skipped'; readonly userId: string; readonly warnings: readonly string[] }
  /** `warnings`: those of the steps that ran before the one that failed. */
  | { readonly outcome: 'failed'; readonly error: ApiErrorBody; readonly warnings: readonly string[] }

/** Thrown inside insert/upsert to fail the record; nothing has been written yet when it is thrown. */
export class RecordFailure extends Error {
  readonly body: ApiErrorBody
  constructor(body: ApiErrorBody) {
    super(body.reason)
    this.body = body
  }
}

/** Fails unless login ID `key` = `raw` passes the login-ID checks and no other user's identity holds it. */
export function checkLoginId(project: ImportProject, user: StoredUser | undefined, key: LoginIdKey, raw: string): void {
  checkLoginIdValue(key, raw)
  checkLoginIdFree(project, user, key, raw)
}

/** Fails on a login ID value Authgear's identity service refuses to build. */
export function checkLoginIdValue(key: LoginIdKey, raw: string): void {
  if (key === 'username') {
    const causes = usernameCauses(raw)
    if (causes.length > 0) throw new RecordFailure(validationFailed('invalid login ID', causes))
  }
  // Authgear's email login-ID key defaults to max_length 320, checked against the value's bytes.
  if (key === 'email' && Buffer.byteLength(raw) > EmailLoginIdMaxBytes) {
    throw new RecordFailure(validationFailed('invalid login ID', [{ location: '', kind: 'maxLength', details: { actual: Buffer.byteLength(raw), expected: EmailLoginIdMaxBytes } }]))
  }
}

/** Fails when another user than `user` holds the login ID. */
export function checkLoginIdFree(project: ImportProject, user: StoredUser | undefined, key: LoginIdKey, raw: string): void {
  const normalized = normalizeLoginId(key, raw)
  const holder = project.store.holders(LoginIdFields[key], normalized).find((h) => h.user !== user) ?? (key === 'email' ? project.store.emailKeyHolder(normalized, user) : undefined)
  if (holder === undefined) return
  const existing =
    holder.identityType === 'login_id'
      ? { IdentityTypeExisting: 'login_id', LoginIDTypeExisting: holder.subtype }
      : { IdentityTypeExisting: 'oauth', OAuthProviderTypeExisting: holder.subtype }
  throw new RecordFailure(Errors.duplicatedIdentity({ IdentityTypeIncoming: 'login_id', LoginIDTypeIncoming: key, ...existing }))
}

/** Fails on role or group keys the project does not have (`info.keys` = the unknown ones). */
export function checkRolesAndGroups(project: ImportProject, record: Record<string, unknown>): void {
  const unknown = (keys: unknown, known: ReadonlySet<string>) => [...new Set(keys as string[])].filter((k) => !known.has(k))
  if (record.roles !== undefined) {
    const missing = unknown(record.roles, project.roles)
    if (missing.length > 0) throw new RecordFailure(Errors.unknownRoles(missing))
  }
  if (record.groups !== undefined) {
    const missing = unknown(record.groups, project.groups)
    if (missing.length > 0) throw new RecordFailure(Errors.unknownGroups(missing))
  }
}

/** Fails on custom attribute values that do not fit their configured types. */
export function checkCustomAttributes(project: ImportProject, values: unknown): void {
  if (values === undefined) return
  const causes = project.customAttributes.check(values as Record<string, unknown>)
  if (causes.length > 0) throw new RecordFailure(validationFailed('invalid value', causes))
}

/** Fails on a password hash Authgear would refuse. */
export function checkPasswordHash(password: unknown): void {
  if (password === undefined) return
  const verdict = judgeBcryptHash((password as { password_hash: string }).password_hash)
  if (verdict === 'invalid_bcrypt') throw new RecordFailure(Errors.invalidBcryptHash())
  if (verdict === 'bad_format') throw new RecordFailure(Errors.unexpected())
}

/** Fails when the resulting valid period is empty or reversed. */
export function checkValidPeriod(from: string | undefined, until: string | undefined): void {
  if (from !== undefined && until !== undefined && Date.parse(from) >= Date.parse(until)) {
    throw new RecordFailure(Errors.invalidValidPeriod())
  }
}

/** Standard attributes handled as plain attributes (the login fields are identities). */
export const StandardAttributeKeys = [
  'name', 'given_name', 'family_name', 'middle_name', 'nickname', 'gender', 'profile', 'website',
  'picture', 'birthdate', 'zoneinfo', 'locale', 'address',
] as const

/** Applies present standard/custom attribute values: value sets, `null` removes. */
export function applyAttributes(user: StoredUser, record: Record<string, unknown>, knownCustom: (key: string) => boolean): void {
  for (const key of StandardAttributeKeys) {
    if (!Object.hasOwn(record, key)) continue
    const value = record[key]
    if (value === null) {
      if (user.standard !== undefined) delete user.standard[key]
    } else (user.standard ??= {})[key] = value
  }
  const custom = record.custom_attributes as Record<string, unknown> | undefined
  if (custom === undefined) return
  for (const [key, value] of Object.entries(custom)) {
    if (!knownCustom(key)) continue
    if (value === null) {
      if (user.custom !== undefined) delete user.custom[key]
    } else (user.custom ??= {})[key] = value
  }
}
