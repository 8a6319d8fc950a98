import type { StoredUser } from './user-store.ts'

/**
 * The account state as Authgear names it in transition errors (`pkg/lib/authn/user/account_status.go`):
 * a disable with a time window is `disabled_temporarily`, whether or not the window has begun.
 */
export function accountStateName(user: StoredUser): string {
  if (user.status === 'disabled' && user.temporarilyDisabledFrom !== undefined) return 'disabled_temporarily'
  return user.status
}
