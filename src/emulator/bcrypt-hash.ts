/** How Authgear's import judges a `password_hash` of type bcrypt. */
export type BcryptVerdict = 'ok' | 'invalid_bcrypt' | 'bad_format'

const idShape = /^\$[^$]+\$/

/**
 * Mirrors Authgear's password-format parse plus Go's `bcrypt.Cost`: a hash without the `$id$` shape
 * is a plain error (500 UnexpectedError); otherwise it must be at least 59 bytes, major version 2
 * (any minor letter) and cost 4–31, or it is `InvalidBcryptHash`. The salt and digest are not
 * inspected, as `bcrypt.Cost` does not.
 */
export function judgeBcryptHash(hash: string): BcryptVerdict {
  if (!idShape.test(hash)) return 'bad_format'
  if (Buffer.byteLength(hash) < 59) return 'invalid_bcrypt'
  if (hash[1] !== '2') return 'invalid_bcrypt'
  const costAt = hash[2] === '$' ? 3 : 4
  const costText = hash.slice(costAt, costAt + 2)
  if (!/^[0-9]{2}$/.test(costText)) return 'invalid_bcrypt'
  const cost = Number(costText)
  return cost >= 4 && cost <= 31 ? 'ok' : 'invalid_bcrypt'
}
