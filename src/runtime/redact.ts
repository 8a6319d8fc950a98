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
const secretParts = /passw|pwhash|pwdhash|passhash|passcode|pword|hash|secret|kennwort|senha|contrase|motdepasse|wachtwoord|losenord|salasana|haslo|sifre|clave/

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

/** Whether a string has the shape of a password hash, JWT, private key or `otpauth:` URI (see `redact`). */
export function isSecretValue(value: string): boolean {
  // Any format the password lanes recognise (Werkzeug, ASP.NET Identity, bare hex digests, …).
  return secretPatterns.some((pattern) => pattern.test(value)) || (value.length >= 16 && recognizeHashString(value).algorithm !== 'unknown')
}

/**
 * A deep copy of `value` with secrets replaced by `"REDACTED"`: by key (any key naming a password,
 * hash, salt, secret, token, OTP, private key or credential, and `secretColumns`: the lower-cased
 * names the config gives the password column, whatever they are called), by value (`secretValues`:
 * what a mapping module gave as the password, from whichever column) and by shape (hash, JWT,
 * key and `otpauth:` formats under any key). Used for every record that reaches a dead letter,
 * report or log.
 */
export function redact(value: unknown, secretColumns?: ReadonlySet<string>, secretValues?: readonly string[]): unknown {
  const values = usableSecretValues(secretValues)
  return redactAt(value, 0, secretColumns, values.length === 0 ? undefined : values)
}

/** What a mapping module gave as passwords, trimmed, from 6 characters (shorter ones would take ordinary words with them). */
function usableSecretValues(secrets: readonly string[] | undefined): string[] {
  return (secrets ?? []).map((secret) => secret.trim()).filter((secret) => secret.length >= minSecretLength)
}

/** Whether `text` holds one of `secrets` as a whole word (see `withoutKnownSecrets`). */
function holdsSecret(text: string, secrets: readonly string[]): boolean {
  return secrets.some((secret) => text.includes(secret) && replaceWhole(text, secret) !== text)
}

/**
 * `text` with `secrets` (what a mapping module gave as the password: `secretsRead`) replaced
 * where each stands as a whole word, from 6 characters, as a registered credential is.
 */
function withoutSecretValues(text: string, secrets: readonly string[] | undefined): string {
  let out = text
  for (const secret of usableSecretValues(secrets)) out = replaceWhole(out, secret)
  return out
}

/** Keys already judged (they repeat across records): whether each is shaped like a secret. Bounded. */
const secretShapedKeys = new Map<string, boolean>()

function isSecretShapedKey(key: string): boolean {
  let known = secretShapedKeys.get(key)
  if (known === undefined) {
    known = isSecretValue(key) || redactText(key) !== key
    if (secretShapedKeys.size >= 10_000) secretShapedKeys.clear()
    secretShapedKeys.set(key, known)
  }
  return known
}

/**
 * Deeper than this a record is cut off with a marker: `JSON.parse` reads any depth, but copying
 * and writing a value nested thousands deep overflows the stack and would stop the run on every
 * rerun. No profile comes near it.
 */
export const maxRedactDepth = 64

function redactAt(value: unknown, depth: number, secretColumns: ReadonlySet<string> | undefined, secretValues: readonly string[] | undefined): unknown {
  // A string that is no secret as a whole may still quote one (`old login hash=$2b$…`, `Bearer eyJ…`).
  if (typeof value === 'string') return isSecretValue(value) || (secretValues !== undefined && holdsSecret(value, secretValues)) ? REDACTED : redactText(value)
  if (value === null || typeof value !== 'object') return value
  // Bytes (a bytea or VARBINARY column) are judged as the text they hold, not walked byte by byte.
  if (ArrayBuffer.isView(value)) return redactAt(Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('utf8'), depth, secretColumns, secretValues)
  if (depth === maxRedactDepth) return `[nested deeper than ${maxRedactDepth} levels]`
  if (Array.isArray(value)) return value.map((inner) => redactAt(inner, depth + 1, secretColumns, secretValues))
  const out: Record<string, unknown> = {}
  let secretKeysSeen = 0
  for (const [key, inner] of Object.entries(value)) {
    // A secret used as a key (a hash keying a map in metadata) is replaced, numbered to keep the
    // keys apart; a value under it that is not an object or array is too (nothing says what it is).
    if (isSecretShapedKey(key)) {
      setOwn(out, `${REDACTED}#${++secretKeysSeen}`, inner !== null && typeof inner === 'object' ? redactAt(inner, depth + 1, secretColumns, secretValues) : REDACTED)
      continue
    }
    // A `__proto__` field is kept as a field (assigning it would set the copy's prototype and drop it).
    setOwn(out, key, isSecretEntry(key, inner, secretColumns) ? REDACTED : redactAt(inner, depth + 1, secretColumns, secretValues))
  }
  return out
}

/**
 * Credentials of this process (a database password, a connection URL's user info): a driver's
 * message may quote them, whole or in pieces (a password with an unencoded `@` or `/` in a URL
 * is read partly as a host name, which a DNS error then names).
 */
const knownSecrets = new Set<string>()

/**
 * Shorter credentials (and pieces) are not looked for: a short one is likely an ordinary word of
 * the message too (a table named `test`), whose replacement would mangle the message and, beside
 * the same word left in a field nearby, give the password away.
 */
const minSecretLength = 6

/** Adds a credential, and its pieces between URL delimiters, to what `redactText` takes out. */
export function registerSecret(value: string | undefined): void {
  if (value === undefined || value.length < minSecretLength) return
  knownSecrets.add(value)
  for (const piece of value.split(/[@/#?:]/)) if (piece.length >= minSecretLength) knownSecrets.add(piece)
}

/**
 * The password in a connection URL as written, encoded or not: what follows the user up to the
 * last `@` before the query (a password with an unencoded `/` or `@` reaches past the host; an `@`
 * in the query, `application_name=gb@worker`, is no part of it).
 */
export function registerUrlSecret(url: string | undefined): void {
  if (url === undefined) return
  // Cut at the query only when what comes before it has the user info: a `?` or `#` may be in the password.
  const beforeQuery = url.split(/[?#]/, 1)[0] as string
  const authority = /^[a-z][a-z0-9+.-]*:\/\/(.*)@/i.exec(beforeQuery.includes('@') ? beforeQuery : url)?.[1]
  const colon = authority?.indexOf(':') ?? -1
  if (authority === undefined || colon === -1) return
  const password = authority.slice(colon + 1)
  registerSecret(password)
  try {
    registerSecret(decodeURIComponent(password))
  } catch {
    // Not percent-encoding: the text as written is what a message would quote.
  }
}

/** A registered credential as a whole token: not a part of a longer word (`test` in `test_users`). */
const wordChar = /[A-Za-z0-9_]/

function withoutKnownSecrets(text: string): string {
  let out = text
  // Longest first: a piece must not cut a whole value in two.
  for (const secret of [...knownSecrets].sort((a, b) => b.length - a.length)) out = replaceWhole(out, secret)
  return out
}

/** `text` with `secret` replaced where it stands as a whole token, not inside a longer word. */
function replaceWhole(text: string, secret: string): string {
  if (!text.includes(secret)) return text
  let result = ''
  let from = 0
  for (let at = text.indexOf(secret); at !== -1; at = text.indexOf(secret, at + 1)) {
    const before = at === 0 ? '' : (text[at - 1] as string)
    const after = text[at + secret.length] ?? ''
    if ((before !== '' && wordChar.test(before) && wordChar.test(secret[0] as string)) || (after !== '' && wordChar.test(after) && wordChar.test(secret[secret.length - 1] as string))) continue
    if (at < from) continue
    result += text.slice(from, at) + REDACTED
    from = at + secret.length
  }
  return result + text.slice(from)
}

/**
 * A message about a record (`<origin>: …`) with the text after its origin redacted: the origin
 * names the record (a hex key, a file and line), which the report and dead letter give in clear.
 */
export function redactMessage(message: string, origin: string, secretValues?: readonly string[]): string {
  const prefix = `${origin}: `
  return message.startsWith(prefix) ? `${prefix}${redactText(withoutSecretValues(message.slice(prefix.length), secretValues))}` : redactText(withoutSecretValues(message, secretValues))
}

/** A word of free text that may be a secret: from 16 characters, at most 1 KiB. */
const textWord = /[^\s"',;()[\]{}=]{16,1024}={0,2}/g

/** `\"key\":\"value\"`: JSON quoted into a JSON string, its quotes escaped (plain JSON is a `quotedPair`). */
const escapedJsonPair = /\\"([A-Za-z0-9_$.-]{1,64})\\"\s*:\s*\\"(.*?)\\"/g

/** `key=value` in a message or log line (`hash=…`, `password=…`). */
const keyValue = /\b([A-Za-z][A-Za-z0-9_]{0,63})=([^\s"',;)&]+)/g

/** HTTP basic credentials: base64 of `user:password`, which is how they are told from an English word after "Basic". */
function isBasicCredential(encoded: string): boolean {
  const decoded = Buffer.from(encoded, 'base64').toString('latin1')
  return decoded.includes(':') && /^[\x20-\x7e]+$/.test(decoded)
}

/** `key='value'` and `key="value"`: a quoted value may hold spaces. */
const quotedKeyValue = /\b([A-Za-z][A-Za-z0-9_]{0,63})=(['"])((?:(?!\2)[^\\]|\\.){0,1024})\2/g

/** `"key": 123` and `'key': 123`: a secret that is all digits (an OTP seed, a PIN) in JSON or a Python dict. */
const numberPair = /(["'])([A-Za-z0-9_$.-]{1,64})\1(\s*:\s*)(\d[\d.]*)/g

/**
 * `"key": "value"` (JSON quoted into text), and `'key': 'value'`, `key: 'value'`, `'key': "it's"`
 * as Python or Node's `inspect` print an object in an error message (a mapping module's own error
 * quoting the row); `inspect` quotes a string holding both quotes with backticks, and prints a
 * Map's entries as `'key' => 'value'`. The value must be quoted: unquoted, `key: value` is a
 * sentence's (`no password: the export has no line …`).
 */
const quotedPair = /(['"]?)\b([A-Za-z_$][A-Za-z0-9_$.-]{0,63})\1(\s*(?::|=>)\s*)(['"`])((?:(?!\4)[^\\\r\n]|\\.){0,8192})\4/g

/**
 * `key: value` opening a line after the first (YAML, headers a proxy echoes after its status
 * line: `X-Api-Key: …`): the rest of the line is the value. Not on the first line, whose
 * `field: what is wrong` is how the mapping words a rejection (`pwd: not a string`), nor inside a
 * sentence (`no password: the export has no line …`). Not a dotted key either: `source.password:
 * expected string` is a message about a setting.
 */
const linePair = /(?<=\n)([ \t]*(?:-[ \t]+)?)([A-Za-z][A-Za-z0-9_-]{0,63})([ \t]*:[ \t]+)([^\r\n]+)/g

/** A value as `isSecretEntry` judges it: digits alone are a number (`token_count=3` stays). */
const asValue = (text: string): unknown => (/^\d{1,15}$/.test(text) ? Number(text) : text)

/**
 * Free text (an error page quoted into a message, a mapping module's error) with bearer tokens,
 * JWTs, password hashes and the values of secret keys replaced: a proxy in front of Authgear may
 * echo the request, Authorization header and TOTP secrets included, and a module's error may
 * quote the row it failed on.
 */
export function redactText(text: string): string {
  // Registered credentials last: replaced first, a password that is also a key's name (`secret`)
  // would hide that key from the rules that take out its value.
  return withoutKnownSecrets(
    text
      .replace(/Bearer\s+[^\s"',;]+/gi, `Bearer ${REDACTED}`)
      // librdkafka quotes a setting's value when it refuses it: a password put under the wrong key.
      // Anchored on the words after it: the value is not escaped, and may hold a quote itself.
      .replace(/Invalid value ".*?" for configuration property "/g, `Invalid value "${REDACTED}" for configuration property "`)
      .replace(/\bBasic\s+([A-Za-z0-9+/]{4,}={0,2})/g, (credential, encoded: string) => (isBasicCredential(encoded) ? `Basic ${REDACTED}` : credential))
      .replace(/eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g, REDACTED)
      // Argon2's parameters are separated by commas (`m=65536,t=3,p=4`).
      .replace(/\$(2[abxy]?|argon2(id|i|d)|pbkdf2[^$\s"]*|[156]|[PH]|scrypt|wp)\$[^\s"';)]+/g, REDACTED)
      .replace(/otpauth:\/\/[^\s"',;)]+/gi, REDACTED)
      .replace(/-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(-----END [A-Z ]*PRIVATE KEY-----|$)/g, REDACTED)
      .replace(escapedJsonPair, (pair, key: string, value: string) => (isSecretEntry(key, asValue(value), undefined) ? `\\"${key}\\":\\"${REDACTED}\\"` : pair))
      .replace(quotedPair, (pair, keyQuote: string, key: string, colon: string, quote: string, value: string) => (value !== REDACTED && isSecretEntry(key, asValue(value), undefined) ? `${keyQuote}${key}${keyQuote}${colon}${quote}${REDACTED}${quote}` : pair))
      .replace(numberPair, (pair, quote: string, key: string, colon: string, digits: string) => (isSecretEntry(key, Number(digits), undefined) ? `${quote}${key}${quote}${colon}${REDACTED}` : pair))
      .replace(quotedKeyValue, (pair, key: string, quote: string, value: string) => (value !== REDACTED && isSecretEntry(key, asValue(value), undefined) ? `${key}=${quote}${REDACTED}${quote}` : pair))
      .replace(keyValue, (pair, key: string, value: string) => (value !== REDACTED && isSecretEntry(key, asValue(value), undefined) ? `${key}=${REDACTED}` : pair))
      .replace(linePair, (pair, indent: string, key: string, colon: string, value: string) => (!value.includes(REDACTED) && isSecretEntry(key, asValue(value.trim()), undefined) ? `${indent}${key}${colon}${REDACTED}` : pair))
      // A scheme-prefixed value (`{SSHA}…`, `{noop}plaintext`, `{bcrypt}…`), as the hash lanes read it.
      .replace(/\{[A-Za-z0-9_.-]{1,32}\}[^\s"',;)]+/g, REDACTED)
      // Any other word a password lane would take for a hash (Django's pbkdf2_sha256$…, Werkzeug,
      // hex digests), also with the sentence's punctuation after it.
      .replace(textWord, (word) => {
        const core = word.replace(/[.:!?]+$/, '')
        return isSecretValue(word) || (core !== word && isSecretValue(core)) ? `${REDACTED}${word.slice(core.length)}` : word
      })
  )
}
