/**
 * Recognition of password-hash strings, following the hash-format catalogue in the order it gives:
 * prefixed formats first, bare digests last. A string that matches no rule is `unknown`; it is never
 * guessed to be bcrypt.
 */
import { bcryptMinor, isBcryptHash } from './bcrypt.ts'
import type { HashAlgorithm, HashRecognition } from './hash-algorithms.ts'

const notImportable = (algorithm: HashAlgorithm): HashRecognition => ({ algorithm, importable: false })

const bcryptLike = /^\$2([a-z])?\$\d\d\$[./A-Za-z0-9]{53}$/

const importableMinors = ['a', 'b', 'y']

function recognizeBcrypt(value: string): HashRecognition | undefined {
  // `$2a$`, `$2b$`, `$2y$` are one algorithm, which Go's bcrypt (Authgear) verifies, with the
  // shape Authgear accepts: the pattern the record check applies again (and then finds cached).
  if (isBcryptHash(value) && importableMinors.includes(bcryptMinor(value))) return { algorithm: 'bcrypt', importable: true, bcrypt: value }
  const match = bcryptLike.exec(value)
  if (match === null) return undefined
  const minor = match[1] ?? ''
  if (minor === 'x') return notImportable('bcrypt_2x')
  // The original `$2$` hashed the password without its closing NUL byte; Go's bcrypt always adds
  // it, so Authgear accepts such a hash and then never verifies the password against it.
  if (minor === '') return notImportable('bcrypt_2')
  // Any other bcrypt shape the first test refused: a cost outside 04-31, or a minor letter Go's
  // bcrypt (Authgear) does not read. Still bcrypt, but Authgear refuses it.
  return notImportable('bcrypt')
}

const ldapSchemes: Record<string, { readonly digestBytes: number; readonly salted: HashAlgorithm; readonly plain: HashAlgorithm }> = {
  MD5: { digestBytes: 16, salted: 'ldap_smd5', plain: 'ldap_md5' },
  SHA: { digestBytes: 20, salted: 'ldap_ssha', plain: 'ldap_sha' },
  SHA256: { digestBytes: 32, salted: 'ldap_ssha256', plain: 'ldap_sha256' },
  SHA384: { digestBytes: 48, salted: 'ldap_ssha384', plain: 'ldap_sha384' },
  SHA512: { digestBytes: 64, salted: 'ldap_ssha512', plain: 'ldap_sha512' },
}

const base64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/
const hex = /^[0-9a-fA-F]+$/

function decodeBase64(value: string): Buffer | undefined {
  return value.length > 0 && base64.test(value) ? Buffer.from(value, 'base64') : undefined
}

/** `{SCHEME}payload`: LDAP RFC 2307 values, `{CRYPT}` wrappers and Spring's delegating `{id}` prefix. */
function recognizeBraced(value: string): HashRecognition | undefined {
  const match = /^\{([A-Za-z0-9_-]+)\}(.*)$/s.exec(value)
  if (match === null) return undefined
  const id = match[1] ?? ''
  const payload = match[2] ?? ''
  const upper = id.toUpperCase()
  if (upper === 'CRYPT') {
    const inner = recognizeHashString(payload)
    const crypt: readonly HashAlgorithm[] = ['bcrypt', 'bcrypt_2x', 'bcrypt_2', 'md5_crypt', 'sha256_crypt', 'sha512_crypt', 'yescrypt', 'scrypt_crypt', 'apr1_md5']
    return crypt.includes(inner.algorithm) ? inner : notImportable('ldap_crypt')
  }
  const salted = upper.startsWith('S') && upper !== 'SHA' && !upper.startsWith('SHA')
  const scheme = ldapSchemes[salted ? upper.slice(1) : upper]
  // Spring's `{sha256}` carries hex, LDAP carries base64: a hex payload is not read as LDAP.
  const bytes = scheme !== undefined && !hex.test(payload) ? decodeBase64(payload) : undefined
  if (scheme !== undefined && bytes !== undefined) {
    if (!salted && bytes.length === scheme.digestBytes) return notImportable(scheme.plain)
    if (salted && bytes.length > scheme.digestBytes) return notImportable(scheme.salted)
  }
  // Spring Security's DelegatingPasswordEncoder: strip `{id}` and classify what is inside.
  const inner = recognizeHashString(payload)
  if (inner.algorithm !== 'unknown') return inner
  return notImportable(id === 'noop' ? 'plaintext' : 'spring_delegating')
}

/** ASP.NET Identity: base64 of `0x00‖salt16‖subkey32` (v2) or `0x01‖prf‖iter‖saltLen‖salt‖subkey` (v3). */
function recognizeAspNet(value: string): HashRecognition | undefined {
  const bytes = decodeBase64(value)
  if (bytes === undefined) return undefined
  if (bytes[0] === 0x00 && bytes.length === 49) return notImportable('aspnet_identity_v2')
  if (bytes[0] === 0x01 && bytes.length >= 13) {
    const prf = bytes.readUInt32BE(1)
    const iterations = bytes.readUInt32BE(5)
    const saltLength = bytes.readUInt32BE(9)
    // The same bounds ASP.NET's own verifier applies: salt and subkey of at least 128 bits.
    if (prf <= 2 && iterations > 0 && saltLength >= 16 && bytes.length - 13 - saltLength >= 16) {
      return notImportable('aspnet_identity_v3')
    }
  }
  return undefined
}

const patterns: readonly (readonly [RegExp, HashAlgorithm])[] = [
  [/^\$wp\$2[aby]\$/, 'wordpress_bcrypt'],
  [/^\$argon2(id|i|d)\$(v=\d+\$)?m=\d+,t=\d+,p=\d+\$/, 'argon2'],
  [/^argon2\$argon2(id|i|d)\$/, 'argon2'],
  [/^pbkdf2_sha256\$\d+\$[^$]+\$[A-Za-z0-9+/=]+$/, 'django_pbkdf2_sha256'],
  [/^pbkdf2_sha1\$\d+\$[^$]+\$[A-Za-z0-9+/=]+$/, 'django_pbkdf2_sha1'],
  [/^bcrypt_sha256\$\$2/, 'bcrypt_sha256'],
  [/^\$bcrypt-sha256\$/, 'bcrypt_sha256'],
  [/^sha1\$[^$]*\$[0-9a-f]+$/, 'django_sha1'],
  [/^md5\$[^$]*\$[0-9a-f]+$/, 'django_md5'],
  [/^unsalted_md5\$/, 'django_unsalted_md5'],
  [/^unsalted_sha1\$/, 'django_unsalted_sha1'],
  [/^\$pbkdf2(-sha(1|256|512))?\$(\d+|i=\d+)/, 'pbkdf2'],
  [/^pbkdf2:sha\d+(:\d+)?\$/, 'werkzeug_pbkdf2'],
  [/^scrypt:\d+:\d+:\d+\$/, 'werkzeug_scrypt'],
  [/^scrypt\$\d+\$[^$]+\$\d+\$\d+\$[A-Za-z0-9+/=]+$/, 'django_scrypt'],
  // Werkzeug's old `method$salt$hex`: sha1 and md5 have Django's form and name, above.
  [/^sha(224|256|384|512)\$[^$]*\$[0-9a-f]+$/, 'werkzeug_sha'],
]

const unixCrypt: readonly (readonly [RegExp, HashAlgorithm])[] = [
  [/^\$[PH]\$[./0-9A-Za-z]{31}$/, 'phpass'],
  [/^U?\$S\$[./0-9A-Za-z]{52}$/, 'drupal_sha512'],
  [/^\$apr1\$[^$]{0,8}\$[./0-9A-Za-z]{22}$/, 'apr1_md5'],
  [/^\$g?y\$[./0-9A-Za-z]+\$[./0-9A-Za-z]*\$[./0-9A-Za-z]{43}$/, 'yescrypt'],
  [/^\$7\$[./0-9A-Za-z]{11}[./0-9A-Za-z]*\$[./0-9A-Za-z]{43}$/, 'scrypt_crypt'],
  [/^\$1\$[^$]{0,8}\$[./0-9A-Za-z]{22}$/, 'md5_crypt'],
  [/^\$5\$(rounds=\d+\$)?[^$]{0,16}\$[./0-9A-Za-z]{43}$/, 'sha256_crypt'],
  [/^\$6\$(rounds=\d+\$)?[^$]{0,16}\$[./0-9A-Za-z]{86}$/, 'sha512_crypt'],
]

const hexDigests: Record<number, HashAlgorithm> = { 32: 'md5', 40: 'sha1', 64: 'sha256', 128: 'sha512' }

/**
 * A bare digest written in base64, as generic exports (FusionAuth's samples among them) store a
 * salted SHA-256: exactly the padded base64 of a 16, 20, 32 or 64-byte digest. Named by length,
 * as the hex digests are.
 */
function base64Digest(value: string): HashAlgorithm | undefined {
  const bytes = decodeBase64(value)
  if (bytes === undefined || bytes.toString('base64') !== value) return undefined
  return hexDigests[bytes.length * 2]
}

/**
 * Longer than any hash format in the catalogue (argon2 and PBKDF2 strings with long salts stay
 * under 300 characters). A longer string is no hash, and the base64 test below would overflow
 * V8's regular-expression stack on one of several megabytes, stopping the run.
 */
export const maxHashStringLength = 1024

/** Classifies one hash string. */
export function recognizeHashString(value: string): HashRecognition {
  if (value.length > maxHashStringLength) return notImportable('unknown')
  const bcrypt = recognizeBcrypt(value)
  if (bcrypt !== undefined) return bcrypt
  const braced = recognizeBraced(value)
  if (braced !== undefined) return braced
  // Django's plain BCryptPasswordHasher stores `bcrypt$` + an unmodified bcrypt hash.
  if (value.startsWith('bcrypt$')) {
    const inner = recognizeBcrypt(value.slice('bcrypt$'.length))
    if (inner !== undefined) return inner
  }
  for (const [pattern, algorithm] of patterns) if (pattern.test(value)) return notImportable(algorithm)
  const aspNet = recognizeAspNet(value)
  if (aspNet !== undefined) return aspNet
  for (const [pattern, algorithm] of unixCrypt) if (pattern.test(value)) return notImportable(algorithm)
  const digest = (hex.test(value) ? hexDigests[value.length] : undefined) ?? base64Digest(value)
  return notImportable(digest ?? 'unknown')
}
