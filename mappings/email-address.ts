/**
 * Syntax of a bare e-mail address, as Authgear's `email` format checks it (Go `net/mail.ParseAddress`
 * with no display name allowed).
 *
 * Only the dot-atom form is accepted: `local@domain`, each side dot-separated runs of RFC 5322
 * `atext` (UTF-8 allowed, as RFC 6532 permits). Quoted local parts and domain literals are valid
 * RFC 5322 but practically never seen in user tables; they are reported rather than guessed at.
 */

const atext = "[A-Za-z0-9!#$%&'*+\\-/=?^_`{|}~\\u{80}-\\u{10FFFF}]+"
const dotAtom = new RegExp(`^${atext}(\\.${atext})*$`, 'u')

/** Authgear's default `max_length` of an e-mail login ID, compared with its UTF-8 bytes. */
export const EmailLoginIdMaxBytes = 320

/** Why `address` is not a bare e-mail address, or `undefined` when it is one. Never echoes the value. */
export function emailAddressProblem(address: string): string | undefined {
  if (address === lastValid) return undefined
  if (address.length === 0) return 'email is empty'
  if (/[<>]/.test(address) || /\s/.test(address)) {
    return 'email must be a bare address, without a display name, angle brackets or spaces'
  }
  const at = address.lastIndexOf('@')
  if (at < 0) return 'email has no "@"'
  if (address.indexOf('@') !== at) return 'email has more than one "@"'
  const local = address.slice(0, at)
  const domain = address.slice(at + 1)
  if (local.length === 0) return 'email has an empty local part'
  if (domain.length === 0) return 'email has an empty domain'
  if (local.startsWith('"')) return 'email has a quoted local part, which is not supported'
  if (!dotAtom.test(local)) return 'email local part has characters or dots that are not allowed'
  if (domain.startsWith('[')) return 'email has a domain literal, which is not supported'
  if (!dotAtom.test(domain)) return 'email domain has characters or dots that are not allowed'
  lastValid = address
  return undefined
}

/**
 * The last address found valid. A mapping normalizes an email and the record schema checks the
 * result right after; remembering one value spares the second check.
 */
let lastValid: string | undefined
