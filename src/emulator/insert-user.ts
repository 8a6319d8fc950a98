import { isBase32Secret } from '../../mappings/formats.ts'
import { Errors } from './api-error.ts'
import {
  applyAttributes,
  checkCustomAttributes,
  checkLoginIdFree,
  checkLoginIdValue,
  checkPasswordHash,
  checkRolesAndGroups,
  checkValidPeriod,
  RecordFailure,
  type ImportProject,
  type RecordResult,
} from './import-project.ts'
import { keyOfField, type LoginIdField, type LoginIdKey } from './login-id.ts'

const loginFields: readonly LoginIdField[] = ['email', 'phone_number', 'preferred_username']

interface Mfa {
  email?: string | null
  phone_number?: string | null
  password?: { password_hash: string }
  totp?: { secret: string }
}

/**
 * Creates a new user from a schema-valid record (§4.2). Every check runs before anything is
 * written, so a failure leaves the store untouched, as Authgear's per-record transaction does.
 * Checks and warnings follow Authgear's steps in order (identities, verified claims, custom
 * attributes, disabled, roles, groups, password, MFA): a failed record carries the warnings of
 * the steps before the one that failed.
 */
export function insertUser(project: ImportProject, record: Record<string, unknown>): RecordResult {
  const warnings: string[] = []
  const loginIds: { key: LoginIdKey; raw: string }[] = []
  try {
    for (const field of loginFields) {
      if (!Object.hasOwn(record, field)) continue
      const value = record[field]
      if (value === null) {
        warnings.push(`${field} = null has no effect in insert.`)
        continue
      }
      const key = keyOfField[field]
      if (!project.loginIdKeys.has(key)) {
        warnings.push(`${field} is ignored because it is not an allowed login ID.`)
        continue
      }
      loginIds.push({ key, raw: value as string })
    }
    // Authgear builds every identity (which checks the value) before it looks for duplicates.
    for (const { key, raw } of loginIds) checkLoginIdValue(key, raw)
    for (const { key, raw } of loginIds) checkLoginIdFree(project, undefined, key, raw)
    const verified = { email: false, phone: false }
    for (const [flag, field, key] of [
      ['email_verified', 'email', 'email'],
      ['phone_number_verified', 'phone_number', 'phone'],
    ] as const) {
      if (!Object.hasOwn(record, flag)) continue
      if (record[flag] === false) warnings.push(`${flag} = false has no effect in insert.`)
      // The claim is looked for among the identities just created: a login ID that was ignored
      // (null, or not an allowed key) has none.
      else if (!loginIds.some((login) => login.key === key)) warnings.push(`${flag} = true has no effect when ${field} is absent.`)
      else verified[key] = true
    }
    checkCustomAttributes(project, record.custom_attributes)
    if (record.disabled === false) warnings.push('disabled = false has no effect in insert.')
    checkValidPeriod(record.account_valid_from as string | undefined, record.account_valid_until as string | undefined)
    checkRolesAndGroups(project, record)
    checkPasswordHash(record.password)
    const mfa = record.mfa as Mfa | undefined
    checkPasswordHash(mfa?.password)
    if (mfa?.email === null) warnings.push('mfa.email = null has no effect in insert.')
    if (mfa?.phone_number === null) warnings.push('mfa.phone_number = null has no effect in insert.')
    // secretcode.NewTOTPFromSecret returns a plain error for bad base32: a 500 in the detail.
    if (mfa?.totp !== undefined && !isBase32Secret(mfa.totp.secret)) throw new RecordFailure(Errors.unexpected())

    const user = project.store.create(project.now())
    for (const { key, raw } of loginIds) project.store.setLoginId(user, key, raw, key !== 'username' && verified[key])
    applyAttributes(user, record, (k) => project.customAttributes.known(k))
    if (record.disabled === true) user.status = 'disabled'
    if (record.account_valid_from !== undefined) user.accountValidFrom = record.account_valid_from as string
    if (record.account_valid_until !== undefined) user.accountValidUntil = record.account_valid_until as string
    if (record.roles !== undefined) user.roles = [...new Set(record.roles as string[])]
    if (record.groups !== undefined) user.groups = [...new Set(record.groups as string[])]
    if (record.password !== undefined) {
      user.hasPassword = true
      const expireAfter = (record.password as { expire_after?: string }).expire_after
      if (expireAfter !== undefined) user.passwordExpireAfter = expireAfter
    }
    if (mfa !== undefined) {
      const stored: NonNullable<typeof user.mfa> = {}
      if (typeof mfa.email === 'string') stored.emails = [mfa.email]
      if (typeof mfa.phone_number === 'string') stored.phoneNumbers = [mfa.phone_number]
      if (mfa.totp !== undefined) stored.totpSecrets = [mfa.totp.secret]
      if (mfa.password !== undefined) stored.hasPassword = true
      if (Object.keys(stored).length > 0) user.mfa = stored
    }
    return { outcome: 'inserted', userId: user.id, warnings }
  } catch (error) {
    if (error instanceof RecordFailure) return { outcome: 'failed', error: error.body, warnings }
    throw error
  }
}
