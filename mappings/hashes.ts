/**
 * The password-hash recogniser: decides which algorithm a source password value uses and whether
 * Authgear's import can take it. Authgear imports bcrypt only; every other recognised algorithm
 * goes down a configured lane (reset or dead letter), counted by the algorithm name.
 */
import { HashAlgorithms, type HashAlgorithm, type HashRecognition } from './hash-algorithms.ts'
import { recognizeHashString } from './hash-strings.ts'

export { HashAlgorithms, type HashAlgorithm, type HashRecognition }

const auth0Plain: readonly HashAlgorithm[] = ['md4', 'md5', 'sha1', 'sha256', 'sha512', 'hmac', 'scrypt']
const auth0Wrapped: readonly HashAlgorithm[] = ['argon2', 'pbkdf2', 'ldap']

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function hasValue(value: unknown): boolean {
  if (isRecord(value)) return hasValue(value['value'])
  return value !== undefined && value !== null && value !== ''
}

/**
 * Auth0 `custom_password_hash`: `{algorithm, hash: {value, encoding, …}, salt?, …}`. Only bcrypt
 * without an extra salt is the plain bcrypt Authgear verifies; the rest keep their Auth0 name,
 * or the more specific name of the PHC/LDAP string they carry.
 */
function recognizeAuth0Custom(object: Record<string, unknown>, hash: Record<string, unknown>): HashRecognition {
  const algorithm = typeof object['algorithm'] === 'string' ? object['algorithm'].toLowerCase() : ''
  const value = typeof hash['value'] === 'string' ? hash['value'].trim() : ''
  if (algorithm === 'bcrypt') {
    if (hasValue(object['salt'])) return { algorithm: 'bcrypt_salted', importable: false }
    // Authgear's bcrypt compares the password's UTF-8 bytes; a hash made of its UTF-16 or Latin-1
    // bytes would never verify (for every password, or for every non-ASCII one), and the user could
    // not log in nor be sent to a reset. Auth0 names Node's Buffer encodings, whose `ascii` keeps
    // the low byte of each character: Latin-1 again, not UTF-8, for a non-ASCII password.
    const encoding = isRecord(object['password']) ? object['password']['encoding'] : undefined
    if (encoding !== undefined && encoding !== 'utf8' && encoding !== 'utf-8') return { algorithm: 'bcrypt_other_encoding', importable: false }
    const inner = recognizeHashString(value)
    return inner.algorithm === 'bcrypt' || inner.algorithm === 'bcrypt_2x' || inner.algorithm === 'bcrypt_2' ? inner : { algorithm: 'unknown', importable: false }
  }
  const known = HashAlgorithms.find((name) => name === algorithm)
  if (known !== undefined && auth0Wrapped.includes(known)) {
    const inner = recognizeHashString(value)
    // A `{SCHEME}` value Auth0 calls LDAP whose payload does not fit the scheme is still LDAP, not Spring's prefix.
    const generic = inner.algorithm === 'unknown' || (known === 'ldap' && inner.algorithm === 'spring_delegating')
    const algorithmOfValue = generic ? known : inner.algorithm
    return { algorithm: algorithmOfValue, importable: false }
  }
  if (known !== undefined && auth0Plain.includes(known)) return { algorithm: known, importable: false }
  return { algorithm: 'unknown', importable: false }
}

/**
 * Recognises a source password value.
 *
 * - `undefined`, `null`, `""` → `none`.
 * - a string → the hash-format catalogue (bcrypt, `{id}` prefixes, argon2, Django, passlib,
 *   Werkzeug, ASP.NET Identity, phpass, Unix crypt, LDAP, bare hex digests).
 * - an Auth0 `custom_password_hash` object (`{algorithm, hash: {value}}`).
 * - a Firebase scrypt object (`{algorithm: "scrypt" | "firebase_scrypt", …}` without a `hash` object).
 * - anything else → `unknown`.
 *
 * Pure; the value is never included in what it returns except as the importable bcrypt string.
 */
export function recognizeHash(value: unknown): HashRecognition {
  if (value === undefined || value === null) return { algorithm: 'none', importable: false }
  if (typeof value === 'string') {
    const text = value.trim()
    return text.length === 0 ? { algorithm: 'none', importable: false } : recognizeHashString(text)
  }
  if (isRecord(value)) {
    const hash = value['hash']
    if (isRecord(hash)) return recognizeAuth0Custom(value, hash)
    const algorithm = typeof value['algorithm'] === 'string' ? value['algorithm'].toLowerCase() : ''
    if (algorithm === 'scrypt' || algorithm === 'firebase_scrypt') return { algorithm: 'firebase_scrypt', importable: false }
  }
  return { algorithm: 'unknown', importable: false }
}
