import { storedEmailForm } from '../../mappings/normalize.ts'
import { punycodeDomain } from './punycode-domain.ts'
import { isReservedUsername, usernameProblem, UsernameMaxLength } from '../../mappings/reserved-usernames.ts'
import type { ValidationCause } from './api-error.ts'

/** Login-ID keys the import uses, fixed by Authgear: one per login field. */
export const LoginIdKeys = ['email', 'phone', 'username'] as const
export type LoginIdKey = (typeof LoginIdKeys)[number]

/** The import record field (and identity claim) behind each login-ID key. */
export const LoginIdFields = {
  email: 'email',
  phone: 'phone_number',
  username: 'preferred_username',
} as const satisfies Record<LoginIdKey, string>
export type LoginIdField = (typeof LoginIdFields)[LoginIdKey]

export const keyOfField: Readonly<Record<LoginIdField, LoginIdKey>> = {
  email: 'email',
  phone_number: 'phone',
  preferred_username: 'username',
}

/**
 * How Authgear stores a login ID under the default config: emails by its e-mail normalizer (NFKC and
 * full case folding: `Straße` → `strasse`), usernames NFKC and case-folded, phones as given (they
 * are already E.164).
 */
export function normalizeLoginId(key: LoginIdKey, value: string): string {
  switch (key) {
    case 'email':
      return storedEmailForm(value)
    case 'username':
      return value.normalize('NFKC').toLowerCase()
    case 'phone':
      return value
  }
}

/** Username-rule causes for a username login ID (empty when acceptable), located at the root. */
export function usernameCauses(value: string): ValidationCause[] {
  if (usernameProblem(value.toLowerCase()) === undefined) return []
  if (isReservedUsername(value)) return [{ location: '', kind: 'blocked', details: { reason: 'UsernameReserved' } }]
  const length = [...value].length
  if (length > UsernameMaxLength) {
    return [{ location: '', kind: 'maxLength', details: { actual: length, expected: UsernameMaxLength } }]
  }
  return [{ location: '', kind: 'format', details: { format: 'username' } }]
}

/**
 * Authgear's unique key of a normalized email login ID (`ComputeUniqueKey`): the domain in its
 * ASCII (punycode) form, so `a@bücher.de` and `a@xn--bcher-kva.de` are one login ID to its
 * duplicate check though they are two stored values; a full-width letter is not mapped to ASCII
 * (Go's `Punycode` profile maps nothing). Other login IDs are their own key.
 */
export function emailUniqueKey(normalized: string): string {
  const at = normalized.lastIndexOf('@')
  if (at === -1) return normalized
  const domain = punycodeDomain(normalized.slice(at + 1))
  return domain === normalized.slice(at + 1) ? normalized : `${normalized.slice(0, at)}@${domain}`
}
