/**
 * The bcrypt shape Authgear's import accepts.
 *
 * Authgear checks an imported hash with Go's `bcrypt.Cost`: `$2`, an optional minor-version letter,
 * `$`, a two-digit cost from 04 to 31, `$`, then the 22-character salt and 31-character digest in
 * bcrypt's base64 alphabet, at least 59 characters in all. Anything else is refused with
 * `InvalidBcryptHash` (or, without the `$id$` shape, a 500), so it is caught here first.
 */
const bcryptShape = /^\$2([a-z])?\$(0[4-9]|[12][0-9]|3[01])\$[./A-Za-z0-9]{53}$/

/** Whether `value` is a bcrypt hash Authgear's import will accept as `password.password_hash`. */
export function isBcryptHash(value: unknown): value is string {
  if (typeof value === 'string' && value === lastValid) return true
  const valid = typeof value === 'string' && value.length >= 59 && bcryptShape.test(value)
  if (valid) lastValid = value
  return valid
}

/** The last hash found valid: the mapping checks a hash and the record schema checks it again right after. */
let lastValid: string | undefined

/** The minor-version letter of a bcrypt hash (`a`, `b`, `x`, `y`), or `''` for plain `$2$`. */
export function bcryptMinor(hash: string): string {
  return hash[2] === '$' ? '' : (hash[2] ?? '')
}
