import { recognizeHashString } from '../../mappings/hash-strings.ts'
import { setOwn } from '../core/own-property.ts'

/** Keys whose values are secrets wherever they appear in a record. */
const secretKeys = new Set([
  'password', 'password_hash', 'passwordhash', 'custom_password_hash', 'hash', 'salt', 'secret', 'totp_secret', 'totp',
  'private_key', 'privatekey', 'token', 'access_token', 'refresh_token', 'id_token', 'jwt', 'authorization', 'recovery_code',
])

/**
 * Words that make a key secret wherever they appear in it (`user_pass`, `encryptedPassword`,
 * `otp_secret`, `reset_password_token`, `recovery_codes`): legacy tables name their secret
 * columns every way, and a rejected row goes to the dead letter whole.
 */
const secretWords = new Set([
  'pass', 'passwd', 'password', 'passphrase', 'pwd', 'pw', 'hash', 'hashed', 'salt', 'secret', 'secrets', 'token', 'tokens',
  'otp', 'totp', 'hotp', 'digest', 'private', 'credential', 'credentials', 'recovery', 'jwt', 'authorization', 'cookie', 'session',
  // A TOTP secret is base32 with no shape of its own: `mfa.seed`, `otp_seed`, `authenticator_key`.
  'seed', 'authenticator',
])

/**
 * Parts that make a key secret even run together with other words (`userpassword`,
 * `hashedpassword`, `pwhash`, PostgreSQL folding `userPassword`), and the password's name in the
 * languages legacy schemas are most often written in.
 */
const secretParts = /passw|pwhash|pwdhash|passhash|hash|secret|kennwort|senha|contrasen|motdepasse|wachtwoord|losenord|salasana/

/** The words of a key: split at non-letters and at lower-to-upper case changes. */
function keyWords(key: string): string[] {
  return key.replace(/([a-z0-9])([A-Z])/g, '$1 $2').toLowerCase().split(/[^a-z0-9]+/).filter((word) => word !== '')
}

/**
 * Whether the value under `key` is a secret: any value under a secret key or a column the config
 * names as one; under a key that only has a secret word in it, any but a number or boolean
 * (`token_count: 3` stays).
 */
function isSecretEntry(key: string, value: unknown, secretColumns: ReadonlySet<string> | undefined): boolean {
  if (value === null || value === undefined) return false
  const lower = key.toLowerCase()
  if (secretKeys.has(lower) || secretColumns?.has(lower)) return true
  if (typeof value === 'number' || typeof value === 'boolean') return false
  const letters = lower.replace(/[^a-z_]/g, '')
  return /api_?key|privatekey|secretkey/.test(letters) || secretParts.test(letters.replace(/_/g, '')) || keyWords(key).some((word) => secretWords.has(word))
}

/** Values that look like password hashes, JWTs, keys or TOTP URIs even under an innocent key. */
const secretPatterns = [
  /^\{[A-Za-z0-9_-]+\}\$?/, // {bcrypt}…, {SSHA}…
  /^\$(2[abxy]?|argon2(id|i|d)|pbkdf2[^$]*|[156]|[PH]|scrypt|bcrypt-sha\d+|wp)\$/,
  /^(pbkdf2_sha\d+|bcrypt_sha256|bcrypt|argon2|sha1|md5|unsalted_\w+|pbkdf2:\w+|scrypt:\d+)[$:]/,
  /^eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\./,
  /-----BEGIN [A-Z ]*PRIVATE KEY-----/,
  /^otpauth:\/\//i,
]

export const REDACTED = 'REDACTED'

function isSecretValue(value: string): boolean {
  // Any format the password lanes recognise (Werkzeug, ASP.NET Identity, bare hex digests, …).
  return secretPatterns.some((pattern) => pattern.test(value)) || (value.length >= 16 && recognizeHashString(value).algorithm !== 'unknown')
}

/**
 * A deep copy of `value` with secrets replaced by `"REDACTED"`: by key (any key naming a password,
 * hash, salt, secret, token, OTP, private key or credential, and `secretColumns`: the lower-cased
 * names the config gives the password column, whatever they are called) and by shape (hash, JWT,
 * key and `otpauth:` formats under any key). Used for every record that reaches a dead letter,
 * report or log.
 */
export function redact(value: unknown, secretColumns?: ReadonlySet<string>): unknown {
  return redactAt(value, 0, secretColumns)
}

/**
 * Deeper than this a record is cut off with a marker: `JSON.parse` reads any depth, but copying
 * and writing a value nested thousands deep overflows the stack and would stop the run on every
 * rerun. No profile comes near it.
 */
export const maxRedactDepth = 64

function redactAt(value: unknown, depth: number, secretColumns: ReadonlySet<string> | undefined): unknown {
  // A string that is no secret as a whole may still quote one (`old login hash=$2b$…`, `Bearer eyJ…`).
  if (typeof value === 'string') return isSecretValue(value) ? REDACTED : redactText(value)
  if (value === null || typeof value !== 'object') return value
  if (depth === maxRedactDepth) return `[nested deeper than ${maxRedactDepth} levels]`
  if (Array.isArray(value)) return value.map((inner) => redactAt(inner, depth + 1, secretColumns))
  const out: Record<string, unknown> = {}
  // A `__proto__` field is kept as a field (assigning it would set the copy's prototype and drop it).
  for (const [key, inner] of Object.entries(value)) setOwn(out, key, isSecretEntry(key, inner, secretColumns) ? REDACTED : redactAt(inner, depth + 1, secretColumns))
  return out
}

/**
 * Free text (an error page quoted into a message) with bearer tokens, JWTs and password hashes
 * replaced: a proxy in front of Authgear may echo the request, Authorization header included.
 */
export function redactText(text: string): string {
  return text
    .replace(/Bearer\s+[^\s"',;]+/gi, `Bearer ${REDACTED}`)
    .replace(/eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g, REDACTED)
    .replace(/\$(2[abxy]?|argon2(id|i|d)|pbkdf2[^$\s"]*|[156]|[PH]|scrypt|wp)\$[^\s"',;]+/g, REDACTED)
    .replace(/-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(-----END [A-Z ]*PRIVATE KEY-----|$)/g, REDACTED)
    // Any other word a password lane would take for a hash (Django's pbkdf2_sha256$…, Werkzeug, hex digests).
    .replace(/[^\s"',;()[\]{}]{16,1024}/g, (word) => (isSecretValue(word) ? REDACTED : word))
}
