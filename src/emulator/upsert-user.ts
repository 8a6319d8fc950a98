import { validationFailed } from './api-error.ts'
import {
  applyAttributes,
  checkCustomAttributes,
  checkLoginId,
  checkRolesAndGroups,
  checkValidPeriod,
  RecordFailure,
  type ImportProject,
  type RecordResult,
} from './import-project.ts'
import { accountStateName, accountVariant } from './account-state.ts'
import type { IdentifierType } from './import-request.ts'
import { keyOfField, normalizeLoginId, type LoginIdField, type LoginIdKey } from './login-id.ts'
import type { StoredUser } from './user-store.ts'

const loginFields: readonly LoginIdField[] = ['email', 'phone_number', 'preferred_username']

function keyNotAllowed(): RecordFailure {
  return new RecordFailure(
    validationFailed('invalid login ID', [{ location: '', kind: 'general', details: { msg: 'login ID key is not allowed' } }]),
  )
}

/**
 * The status change `disabled` asks for, or the warning Authgear gives when the move is not
 * allowed, judged by the account's state now. `true` disables indefinitely, from normal (a
 * temporary disable not begun or already over included) or from a temporary disable in force;
 * `false` re-enables a disabled user, indefinitely or inside its window. Either way the temporary
 * window and the disable reason go. A refused move changes nothing: a window still to come stays.
 */
function statusChange(user: StoredUser, disabled: boolean, nowMs: number): { to: StoredUser['status'] } | { warning: string } {
  const target = disabled ? 'disabled' : 'normal'
  const variant = accountVariant(user, nowMs)
  const allowed = disabled ? variant === 'normal' || variant === 'disabled_temporarily' : variant === 'disabled' || variant === 'disabled_temporarily'
  return allowed ? { to: target } : { warning: `invalid account status transition: ${accountStateName(user, nowMs)} -> ${target}` }
}

/**
 * Updates the user found by the identifier (§4.3). `password`, `mfa.password` and `mfa.totp` are
 * ignored without a warning; the identifier field itself never changes. All checks run before the
 * first write, so a failed record changes nothing. Checks and warnings follow Authgear's steps in
 * order (identities, verified claims, custom attributes, disabled, roles, groups, MFA): a failed
 * record carries the warnings of the steps before the one that failed.
 */
export function upsertUser(project: ImportProject, identifier: IdentifierType, user: StoredUser, record: Record<string, unknown>): RecordResult {
  const warnings: string[] = []
  const { store } = project
  try {
    const changes: { key: LoginIdKey; raw: string | null }[] = []
    for (const field of loginFields) {
      if (field === identifier || !Object.hasOwn(record, field)) continue
      const key = keyOfField[field]
      const raw = record[field] as string | null
      if (raw !== null) {
        if (!project.loginIdKeys.has(key)) throw keyNotAllowed()
        checkLoginId(project, user, key, raw)
      }
      changes.push({ key, raw })
    }
    const verifications: { key: 'email' | 'phone'; verified: boolean }[] = []
    for (const [flag, field, key] of [
      ['email_verified', 'email', 'email'],
      ['phone_number_verified', 'phone_number', 'phone'],
    ] as const) {
      if (!Object.hasOwn(record, flag)) continue
      if (!Object.hasOwn(record, field)) warnings.push(`${flag} has no effect when ${field} is absent.`)
      else if (record[field] === null) warnings.push(`${flag} has no effect when ${field} = null.`)
      else verifications.push({ key, verified: record[flag] as boolean })
    }
    checkCustomAttributes(project, record.custom_attributes)
    const change = typeof record.disabled === 'boolean' ? statusChange(user, record.disabled, Date.parse(project.now())) : undefined
    if (change !== undefined && 'warning' in change) warnings.push(change.warning)
    const from = (record.account_valid_from as string | undefined) ?? user.accountValidFrom
    const until = (record.account_valid_until as string | undefined) ?? user.accountValidUntil
    checkValidPeriod(from, until)
    checkRolesAndGroups(project, record)

    for (const { key, raw } of changes) {
      if (raw === null) store.removeLoginId(user, key)
      else if (user[key]?.value !== normalizeLoginId(key, raw)) store.setLoginId(user, key, raw, false)
    }
    for (const { key, verified } of verifications) {
      const identity = user[key]
      const field = key === 'email' ? 'email' : 'phone_number'
      // Only an exact match with the stored (normalized) claim counts; anything else is a silent no-op.
      if (identity !== undefined && identity.value === record[field]) identity.verified = verified
    }
    applyAttributes(user, record, (k) => project.customAttributes.known(k))
    if (record.roles !== undefined) user.roles = [...new Set(record.roles as string[])]
    if (record.groups !== undefined) user.groups = [...new Set(record.groups as string[])]
    if (change !== undefined && 'to' in change) {
      user.status = change.to
      delete user.temporarilyDisabledFrom
      delete user.temporarilyDisabledUntil
      delete user.disableReason
    }
    if (record.account_valid_from !== undefined) user.accountValidFrom = from
    if (record.account_valid_until !== undefined) user.accountValidUntil = until
    const mfa = record.mfa as { email?: string | null; phone_number?: string | null } | undefined
    if (mfa !== undefined) {
      const stored = (user.mfa ??= {})
      if (mfa.email === null) delete stored.emails
      else if (mfa.email !== undefined && !stored.emails?.includes(mfa.email)) stored.emails = [mfa.email]
      if (mfa.phone_number === null) delete stored.phoneNumbers
      else if (mfa.phone_number !== undefined && !stored.phoneNumbers?.includes(mfa.phone_number)) {
        stored.phoneNumbers = [mfa.phone_number]
      }
    }
    user.updatedAt = project.now()
    return { outcome: 'updated', userId: user.id, warnings }
  } catch (error) {
    if (error instanceof RecordFailure) return { outcome: 'failed', error: error.body, warnings }
    throw error
  }
}
