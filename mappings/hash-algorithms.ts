/**
 * The closed list of password-hash algorithm names the recogniser reports. They are metric label
 * values, so the list is fixed and short; anything the recogniser cannot name is `unknown`.
 */
export const HashAlgorithms = [
  /** No password in the source (social, passwordless users). */
  'none',
  /** bcrypt `$2a$`/`$2b$`/`$2y$` (also behind `{bcrypt}`, `{CRYPT}`, Django `bcrypt$`): importable. */
  'bcrypt',
  /**
   * bcrypt `$2x$`: PHP crypt_blowfish's marker for hashes made by the pre-2011 sign-extension bug.
   * They do not verify under a correct bcrypt for passwords with non-ASCII bytes, so they are not
   * imported (Auth0 refuses them too).
   */
  'bcrypt_2x',
  /**
   * bcrypt `$2$`, the original 1999 prefix: the password was hashed without its closing NUL byte,
   * which Go's bcrypt (Authgear) always adds, so the old password would never verify.
   */
  'bcrypt_2',
  /** bcrypt with an extra salt or pepper mixed into the input (Auth0 `custom_password_hash` with `salt`). */
  'bcrypt_salted',
  /**
   * bcrypt of the password's UTF-16 or Latin-1 bytes (Auth0 `custom_password_hash` with a
   * `password.encoding` other than utf8/ascii): Authgear's bcrypt hashes the UTF-8 bytes.
   */
  'bcrypt_other_encoding',
  /** bcrypt over a SHA-256 pre-hash (Django `bcrypt_sha256$`, passlib `$bcrypt-sha256$`). */
  'bcrypt_sha256',
  /** WordPress 6.8+ `$wp$2y$…`: bcrypt over an HMAC-SHA384 pre-hash. */
  'wordpress_bcrypt',
  'argon2',
  'django_pbkdf2_sha256',
  'django_pbkdf2_sha1',
  'django_sha1',
  'django_md5',
  'django_unsalted_md5',
  'django_unsalted_sha1',
  /** Django 4+ `scrypt$N$salt$r$p$…`. */
  'django_scrypt',
  /** PHC / passlib `$pbkdf2…$` (also Auth0's `pbkdf2` custom hash). */
  'pbkdf2',
  'werkzeug_pbkdf2',
  'werkzeug_scrypt',
  /** Werkzeug before 2.3 (and Flask-Security): `sha256$salt$hex`, a salted HMAC or digest. */
  'werkzeug_sha',
  'aspnet_identity_v2',
  'aspnet_identity_v3',
  'phpass',
  /** Drupal 7 `$S$` (SHA-512, phpass-style stretching), also `U$S$` for an upgraded MD5 one. */
  'drupal_sha512',
  'md5_crypt',
  'sha256_crypt',
  'sha512_crypt',
  /** yescrypt `$y$` (and `$gy$`), the default crypt(3) of current Debian, Ubuntu and Fedora. */
  'yescrypt',
  /** scrypt in crypt(3) form, `$7$`. */
  'scrypt_crypt',
  /** Apache htpasswd `$apr1$` (MD5 crypt with its own magic). */
  'apr1_md5',
  'ldap_md5',
  'ldap_smd5',
  'ldap_sha',
  'ldap_ssha',
  'ldap_sha256',
  'ldap_ssha256',
  'ldap_sha384',
  'ldap_ssha384',
  'ldap_sha512',
  'ldap_ssha512',
  /** `{CRYPT}` with an inner crypt string that is none of the above (traditional DES crypt). */
  'ldap_crypt',
  /**
   * Bare digests in hex (or base64 of the same byte lengths), named by length only: 32 hex may equally be MD4 or NTLM, 40 hex RIPEMD-160,
   * 64 hex SHA3-256 or a salted SHA-256; the salt and its position cannot be inferred either.
   * None of them is importable, so the ambiguity changes only the label.
   */
  'md5',
  'sha1',
  'sha256',
  'sha512',
  /** Auth0 `custom_password_hash` algorithms that have no more specific name above. */
  'md4',
  'hmac',
  'ldap',
  'scrypt',
  'firebase_scrypt',
  /** Spring `{id}` prefix whose inner value is not otherwise recognised. */
  'spring_delegating',
  /** Spring `{noop}`: a plain-text password. Not imported: Authgear takes hashes only. */
  'plaintext',
  'unknown',
] as const

export type HashAlgorithm = (typeof HashAlgorithms)[number]

/** What the recogniser made of a password value. */
export interface HashRecognition {
  readonly algorithm: HashAlgorithm
  /** Whether Authgear's import can take it as `password: {type: "bcrypt", password_hash: bcrypt}`. */
  readonly importable: boolean
  /** The bcrypt string to import, with any wrapping prefix removed; set exactly when `importable`. */
  readonly bcrypt?: string
}
