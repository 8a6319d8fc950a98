/**
 * Login IDs of an Auth0 profile: normalizes `email`, `phone_number` and `username`, and picks the
 * identifier Authgear matches the user by.
 */
import type { MappingRejection } from '../src/core/mapped-record.ts'
import type { MappingConfig } from './config.ts'
import { isEmpty, normalizeEmail, normalizePhone, normalizeUsername, type Normalized } from './normalize.ts'
import { IdentifierTypes, type IdentifierType } from './record.ts'
import { usernameProblem } from './reserved-usernames.ts'

/** The Auth0 profile field each login-ID type is read from. */
export const auth0LoginFields: Readonly<Record<IdentifierType, string>> = {
  email: 'email',
  phone_number: 'phone_number',
  preferred_username: 'username',
}

const rejectionCodes: Readonly<Record<IdentifierType, string>> = {
  email: 'invalid_email',
  phone_number: 'invalid_phone_number',
  preferred_username: 'invalid_username',
}

export type Logins = Partial<Record<IdentifierType, string>>

export type LoginChoice =
  | { readonly ok: true; readonly identifier: IdentifierType; readonly logins: Logins }
  | { readonly ok: false; readonly rejection: MappingRejection }

/** A login ID in the form Authgear stores it, or why it cannot be one. */
export function normalizeLogin(type: IdentifierType, value: unknown, defaultPhoneRegion?: string): Normalized<string> {
  if (typeof value !== 'string') return { ok: false, reason: `${type} is not a string` }
  if (type === 'email') return normalizeEmail(value)
  if (type === 'phone_number') return normalizePhone(value, defaultPhoneRegion)
  const username = normalizeUsername(value)
  if (!username.ok) return username
  const problem = usernameProblem(username.value)
  return problem === undefined ? username : { ok: false, reason: problem }
}

/** The identifier types to try, in order, for `config.identifier`. */
export function identifierOrder(identifier: MappingConfig['identifier']): readonly IdentifierType[] {
  if (identifier === 'auto') return IdentifierTypes
  return typeof identifier === 'string' ? [identifier] : identifier
}

/**
 * Picks the identifier: the first type in the configured order whose source field has a value.
 * If that value is invalid the record is rejected rather than matched by another type, so a user
 * keeps one match key across runs. Invalid secondary login IDs are left out with a warning.
 */
export function chooseLogins(data: Record<string, unknown>, config: MappingConfig, warnings: string[]): LoginChoice {
  const results = new Map<IdentifierType, Normalized<string>>()
  for (const type of IdentifierTypes) {
    const value = data[auth0LoginFields[type]]
    if (!isEmpty(value)) results.set(type, normalizeLogin(type, value, config.default_phone_region))
  }
  const order = identifierOrder(config.identifier)
  const identifier = order.find((type) => results.has(type))
  if (identifier === undefined) {
    const fields = order.map((type) => auth0LoginFields[type]).join(', ')
    return { ok: false, rejection: { code: 'no_identifier', message: `no value in ${fields} to identify the user by` } }
  }
  const chosen = results.get(identifier)
  if (chosen !== undefined && !chosen.ok) {
    const field = auth0LoginFields[identifier]
    return { ok: false, rejection: { code: rejectionCodes[identifier], field, message: `${field}: ${chosen.reason}` } }
  }
  const logins: Logins = {}
  for (const [type, result] of results) {
    if (result.ok) logins[type] = result.value
    else warnings.push(`${auth0LoginFields[type]} left out: ${result.reason}`)
  }
  return { ok: true, identifier, logins }
}
