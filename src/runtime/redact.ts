/** Keys whose values are secrets wherever they appear in a record. */
const secretKeys = new Set([
  'password', 'password_hash', 'passwordhash', 'custom_password_hash', 'hash', 'salt', 'secret', 'totp_secret', 'totp',
  'private_key', 'privatekey', 'token', 'access_token', 'refresh_token', 'id_token', 'jwt', 'authorization', 'recovery_code',
])

/** Values that look like password hashes or JWTs even under an innocent key. */
const secretPatterns = [
  /^\{[A-Za-z0-9_-]+\}\$?/, // {bcrypt}…, {SSHA}…
  /^\$(2[abxy]?|argon2(id|i|d)|pbkdf2[^$]*|[156]|[PH]|scrypt|bcrypt-sha\d+)\$/,
  /^(pbkdf2_sha\d+|bcrypt_sha256|argon2|sha1|md5|unsalted_\w+|pbkdf2:\w+|scrypt:\d+)\$/,
  /^eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\./,
  /-----BEGIN [A-Z ]*PRIVATE KEY-----/,
]

export const REDACTED = 'REDACTED'

function isSecretValue(value: string): boolean {
  return secretPatterns.some((pattern) => pattern.test(value))
}

/**
 * A deep copy of `value` with secrets replaced by `"REDACTED"`: by key (password hashes, TOTP
 * secrets, tokens, keys) and by shape (hash and JWT formats under any key). Used for every record
 * that reaches a dead letter, report or log.
 */
export function redact(value: unknown): unknown {
  if (typeof value === 'string') return isSecretValue(value) ? REDACTED : value
  if (Array.isArray(value)) return value.map(redact)
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {}
    for (const [key, inner] of Object.entries(value)) {
      out[key] = secretKeys.has(key.toLowerCase()) && inner !== null && inner !== undefined ? REDACTED : redact(inner)
    }
    return out
  }
  return value
}
