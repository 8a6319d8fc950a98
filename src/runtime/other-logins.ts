import type { IdentifierType } from '../core/mapped-record.ts'
import { IdentifierTypes } from '../../mappings/record.ts'

/** A login ID of a record besides the one it is sent by. */
export interface OtherLogin {
  readonly identifier: IdentifierType
  readonly value: string
}

/**
 * The login IDs a record carries besides its identifier (an email user's phone number or
 * username), or undefined when it has none. Authgear finds a user by any of them: a phone-only
 * user's record finds the email user who holds that phone as a second login ID, and a record
 * adding a login ID another user holds is refused. The scheduler orders such records as the
 * source does (see `ImportScheduler`).
 */
export function otherLogins(identifier: IdentifierType, record: unknown): OtherLogin[] | undefined {
  if (record === null || typeof record !== 'object') return undefined
  let found: OtherLogin[] | undefined
  for (const field of IdentifierTypes) {
    if (field === identifier) continue
    const value = (record as Record<string, unknown>)[field]
    if (typeof value === 'string' && value !== '') (found ??= []).push({ identifier: field, value })
  }
  return found
}
