import type { StoredUser } from './user-store.ts'

/**
 * The account's variant at `nowMs`, as `account_status.go` judges transitions by it. A disable with
 * a time window is `disabled_temporarily` only inside the window: before it starts, or once it has
 * ended, the user is `normal` (and re-enabling a normal user is refused, window and all).
 */
export type AccountVariant = 'normal' | 'disabled' | 'disabled_temporarily' | 'scheduled_deletion_disabled' | 'anonymized'

export function accountVariant(user: StoredUser, nowMs = Date.now()): AccountVariant {
  if (user.status !== 'disabled') return user.status
  if (user.temporarilyDisabledFrom === undefined || user.temporarilyDisabledUntil === undefined) return 'disabled'
  return Date.parse(user.temporarilyDisabledFrom) <= nowMs && nowMs < Date.parse(user.temporarilyDisabledUntil) ? 'disabled_temporarily' : 'normal'
}

/** Before `account_valid_from`, or at or after `account_valid_until`. */
export function outsideValidPeriod(user: StoredUser, nowMs = Date.now()): boolean {
  if (user.accountValidFrom !== undefined && nowMs < Date.parse(user.accountValidFrom)) return true
  return user.accountValidUntil !== undefined && nowMs >= Date.parse(user.accountValidUntil)
}

/**
 * The state Authgear names in transition errors (`getMostAppropriateType`): the variant, except
 * that a normal user outside its account valid period is `outside_valid_period`.
 */
export function accountStateName(user: StoredUser, nowMs = Date.now()): string {
  const variant = accountVariant(user, nowMs)
  return variant === 'normal' && outsideValidPeriod(user, nowMs) ? 'outside_valid_period' : variant
}

/** Disabled now: indefinitely, inside a temporary-disable window, scheduled for deletion or anonymized. */
export function isDisabledNow(user: StoredUser, nowMs = Date.now()): boolean {
  return accountVariant(user, nowMs) !== 'normal'
}
