import { createHash, randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { isBcryptHash } from '../../../mappings/bcrypt.ts'
import { HashAlgorithms, recognizeHash } from '../../../mappings/hashes.ts'

const auth0Bcrypt = '$2b$10$nFguVi9LsCAcvTZFKQlRKeLVydo8ETv483lkNsSFI/Wl1Rz1Ypo1K'
const springBcrypt = '$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy'
const b64 = (bytes: number): string => randomBytes(bytes).toString('base64')
const ab64 = (bytes: number): string => b64(bytes).replaceAll('+', '.').replace(/=+$/, '')
const cryptChars = (n: number): string => 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789./'.repeat(3).slice(0, n)
const u32 = (n: number): Buffer => {
  const b = Buffer.alloc(4)
  b.writeUInt32BE(n)
  return b
}

const notImportable = (algorithm: string) => ({ algorithm, importable: false })

describe('recognizeHash: bcrypt', () => {
  it.each([auth0Bcrypt, springBcrypt, auth0Bcrypt.replace('$2b$', '$2y$')])('imports %s as is', (hash) => {
    expect(recognizeHash(hash)).toEqual({ algorithm: 'bcrypt', importable: true, bcrypt: hash })
  })

  it('does not import $2x$ (crypt_blowfish sign-extension bug marker)', () => {
    expect(recognizeHash(auth0Bcrypt.replace('$2b$', '$2x$'))).toEqual(notImportable('bcrypt_2x'))
  })

  it('does not import $2$: hashed without the closing NUL byte that Go\'s bcrypt adds, it never verifies in Authgear', () => {
    const original = auth0Bcrypt.replace('$2b$', '$2$')
    expect(recognizeHash(original)).toEqual(notImportable('bcrypt_2'))
    expect(recognizeHash(`{CRYPT}${original}`)).toEqual(notImportable('bcrypt_2'))
    expect(recognizeHash({ algorithm: 'bcrypt', hash: { value: original } })).toEqual(notImportable('bcrypt_2'))
  })

  it('recognises bcrypt that Authgear refuses for its cost', () => {
    expect(recognizeHash(auth0Bcrypt.replace('$10$', '$03$'))).toEqual(notImportable('bcrypt'))
    expect(recognizeHash(auth0Bcrypt.replace('$10$', '$32$'))).toEqual(notImportable('bcrypt'))
  })

  it('strips wrapping prefixes and re-classifies', () => {
    expect(recognizeHash(`{bcrypt}${springBcrypt}`)).toEqual({ algorithm: 'bcrypt', importable: true, bcrypt: springBcrypt })
    expect(recognizeHash(`{CRYPT}${auth0Bcrypt}`)).toEqual({ algorithm: 'bcrypt', importable: true, bcrypt: auth0Bcrypt })
    expect(recognizeHash(`bcrypt$${auth0Bcrypt}`)).toEqual({ algorithm: 'bcrypt', importable: true, bcrypt: auth0Bcrypt })
    expect(recognizeHash(`  ${auth0Bcrypt}\n`)).toEqual({ algorithm: 'bcrypt', importable: true, bcrypt: auth0Bcrypt })
  })

  it('never imports a truncated or damaged bcrypt string', () => {
    expect(recognizeHash(auth0Bcrypt.slice(0, -1))).toEqual(notImportable('unknown'))
    expect(recognizeHash(auth0Bcrypt.slice(0, -1) + '!')).toEqual(notImportable('unknown'))
  })
})

describe('recognizeHash: the hash-format catalogue', () => {
  const md5Hex = createHash('md5').update('password').digest('hex')
  const cases: readonly (readonly [string, string])[] = [
    ['{pbkdf2}5d923b44a6d129f3ddf3e3c8d29412723dcbde72445e8ef6bf3b508fbf17fa4ed4d6b99ca763d8dc', 'spring_delegating'],
    ['{noop}password', 'plaintext'],
    [`{argon2}$argon2id$v=19$m=65536,t=2,p=1$${ab64(16)}$${ab64(32)}`, 'argon2'],
    [`$argon2id$v=19$m=65536,t=2,p=1$${ab64(16)}$${ab64(32)}`, 'argon2'],
    [`$argon2i$v=19$m=4096,t=3,p=1$${ab64(16)}$${ab64(32)}`, 'argon2'],
    [`argon2$argon2id$v=19$m=102400,t=2,p=8$${ab64(16)}$${ab64(16)}`, 'argon2'],
    [`pbkdf2_sha256$870000$XSFJbG2Tz5nHnv1V$${b64(32)}`, 'django_pbkdf2_sha256'],
    [`pbkdf2_sha1$260000$abcdef$${b64(20)}`, 'django_pbkdf2_sha1'],
    [`bcrypt_sha256$$2b$12$${cryptChars(53)}`, 'bcrypt_sha256'],
    [`$bcrypt-sha256$v=2,t=2b,r=12$${cryptChars(22)}$${cryptChars(31)}`, 'bcrypt_sha256'],
    [`sha1$abc12$${createHash('sha1').update('abc12password').digest('hex')}`, 'django_sha1'],
    [`md5$abc12$${md5Hex}`, 'django_md5'],
    [`unsalted_md5$$${md5Hex}`, 'django_unsalted_md5'],
    [`unsalted_sha1$$${createHash('sha1').update('x').digest('hex')}`, 'django_unsalted_sha1'],
    [`$pbkdf2-sha256$29000$${ab64(16)}$${ab64(32)}`, 'pbkdf2'],
    [`$pbkdf2$29000$${ab64(16)}$${ab64(20)}`, 'pbkdf2'],
    [`$pbkdf2-sha512$i=100000,l=64$${ab64(16)}$${ab64(64)}`, 'pbkdf2'],
    [`pbkdf2:sha256:600000$Hd2jBL8m$${'ab'.repeat(32)}`, 'werkzeug_pbkdf2'],
    [`scrypt:32768:8:1$SaltSalt$${'cd'.repeat(64)}`, 'werkzeug_scrypt'],
    [`$wp$2y$10$${cryptChars(53)}`, 'wordpress_bcrypt'],
    ['$P$BZlPX7NIx8MYpXokBW2AGsN7i.aUOt0', 'phpass'],
    ['$H$9IQRaTwmfeRo7ud9Fh4E2PdI0S3r.L0', 'phpass'],
    [`$1$saltsalt$${cryptChars(22)}`, 'md5_crypt'],
    [`$5$rounds=5000$saltstring$${cryptChars(43)}`, 'sha256_crypt'],
    [`$6$saltstring$${cryptChars(86)}`, 'sha512_crypt'],
    // Generated with libxcrypt (crypt(3)) and `openssl passwd -apr1`; Django's and Drupal's by their own code.
    ['$y$j9T$abcdefghijklmnop$wRwvHNqzMkHLG74uLLCRVTwaZ.a1aIothEUeYGf9oED', 'yescrypt'],
    ['$gy$j9T$abcdefghijklmnop$FsKX1p0E7/YAeYYYk8JwEoSmY2j55FT86HbjrAKDjV9', 'yescrypt'],
    ['{CRYPT}$y$j9T$abcdefghijklmnop$wRwvHNqzMkHLG74uLLCRVTwaZ.a1aIothEUeYGf9oED', 'yescrypt'],
    ['$7$CU..../....abcdefghijklmnop$k4rB/qE/dLYU9kop78l/c1wzA0fBVPCRz06ApUewLKC', 'scrypt_crypt'],
    ['$apr1$NC8udvjP$1QDzTMyJGI1fzNIu5sGF00', 'apr1_md5'],
    ['$S$Dabcdefghne9TSsPzjG7qvarccp1Jp7lIwFoJuENQPpJJD5Hwpmo', 'drupal_sha512'],
    ['U$S$Dabcdefghne9TSsPzjG7qvarccp1Jp7lIwFoJuENQPpJJD5Hwpmo', 'drupal_sha512'],
    ['scrypt$16384$abcdefghijklmnopqrstuv$8$1$8tzJHIia4thuNqFH5zjLsOJeWM1M7IOxvoDWsiu71BlTJe4mh2xBogXsOCpJctSg2uPqb3YJMlQv3LWvQYDxmw==', 'django_scrypt'],
    [`sha256$Zx9k2LmN$${createHash('sha256').update('x').digest('hex')}`, 'werkzeug_sha'],
    [`{SHA}${b64(20)}`, 'ldap_sha'],
    [`{SSHA}${b64(24)}`, 'ldap_ssha'],
    [`{ssha}${b64(28)}`, 'ldap_ssha'],
    [`{MD5}${b64(16)}`, 'ldap_md5'],
    [`{SMD5}${b64(20)}`, 'ldap_smd5'],
    [`{SHA256}${b64(32)}`, 'ldap_sha256'],
    [`{SSHA384}${b64(56)}`, 'ldap_ssha384'],
    [`{SSHA512}${b64(72)}`, 'ldap_ssha512'],
    ['{CRYPT}ab01FAX.bQRSU', 'ldap_crypt'],
    [`{CRYPT}$6$saltstring$${cryptChars(86)}`, 'sha512_crypt'],
    [md5Hex, 'md5'],
    [md5Hex.toUpperCase(), 'md5'],
    [createHash('sha1').update('x').digest('hex'), 'sha1'],
    [createHash('sha256').update('x').digest('hex'), 'sha256'],
    [createHash('sha512').update('x').digest('hex'), 'sha512'],
    ['hunter2', 'unknown'],
    [createHash('sha256').update('x').digest('hex').slice(0, 50), 'unknown'],
    ['$argon2id$garbage', 'unknown'],
    [b64(33), 'unknown'],
  ]

  it.each(cases)('%s → %s', (value, algorithm) => {
    expect(recognizeHash(value)).toEqual(notImportable(algorithm))
  })

  it('recognises ASP.NET Identity v2 and v3 hashes by their decoded header', () => {
    const v2 = Buffer.concat([Buffer.from([0x00]), randomBytes(16), randomBytes(32)]).toString('base64')
    const v3 = Buffer.concat([Buffer.from([0x01]), u32(1), u32(10_000), u32(16), randomBytes(16), randomBytes(32)]).toString('base64')
    const v3Sha512 = Buffer.concat([Buffer.from([0x01]), u32(2), u32(100_000), u32(16), randomBytes(16), randomBytes(32)]).toString('base64')
    expect(recognizeHash(v2)).toEqual(notImportable('aspnet_identity_v2'))
    expect(recognizeHash(v3)).toEqual(notImportable('aspnet_identity_v3'))
    expect(recognizeHash(v3Sha512)).toEqual(notImportable('aspnet_identity_v3'))
  })

  it('does not take random base64 with a v3-like first byte for ASP.NET', () => {
    const badPrf = Buffer.concat([Buffer.from([0x01]), u32(7), u32(10_000), u32(16), randomBytes(48)]).toString('base64')
    const saltTooLong = Buffer.concat([Buffer.from([0x01]), u32(1), u32(10_000), u32(64), randomBytes(48)]).toString('base64')
    expect(recognizeHash(badPrf)).toEqual(notImportable('unknown'))
    expect(recognizeHash(saltTooLong)).toEqual(notImportable('unknown'))
  })

  it('names bare digests written in base64 by their length, as hex ones', () => {
    expect(recognizeHash(b64(16))).toEqual(notImportable('md5'))
    expect(recognizeHash(b64(20))).toEqual(notImportable('sha1'))
    expect(recognizeHash(b64(32))).toEqual(notImportable('sha256'))
    expect(recognizeHash(b64(64))).toEqual(notImportable('sha512'))
    // Other lengths, unpadded text and plain words stay unknown.
    expect(recognizeHash(b64(24))).toEqual(notImportable('unknown'))
    expect(recognizeHash(b64(32).replace(/=+$/, ''))).toEqual(notImportable('unknown'))
    expect(recognizeHash('correcthorsebatterystaple')).toEqual(notImportable('unknown'))
  })

  it('names every result from the closed list', () => {
    for (const [value] of cases) expect(HashAlgorithms).toContain(recognizeHash(value).algorithm)
  })
})

describe('recognizeHash: absent values and objects', () => {
  it.each([undefined, null, '', '   '])('%j → none', (value) => {
    expect(recognizeHash(value)).toEqual(notImportable('none'))
  })

  it.each([42, true, ['$2b$'], {}])('%j → unknown', (value) => {
    expect(recognizeHash(value)).toEqual(notImportable('unknown'))
  })

  it('recognises Firebase scrypt objects', () => {
    const firebase = { algorithm: 'SCRYPT', passwordHash: b64(64), salt: b64(16), rounds: 8, mem_cost: 14 }
    expect(recognizeHash(firebase)).toEqual(notImportable('firebase_scrypt'))
    expect(recognizeHash({ algorithm: 'firebase_scrypt', hash: 'x' })).toEqual(notImportable('firebase_scrypt'))
  })

  describe('Auth0 custom_password_hash', () => {
    it('imports bcrypt without a salt', () => {
      const custom = { algorithm: 'bcrypt', hash: { value: auth0Bcrypt, encoding: 'utf8' } }
      expect(recognizeHash(custom)).toEqual({ algorithm: 'bcrypt', importable: true, bcrypt: auth0Bcrypt })
    })

    it('does not import bcrypt with an extra salt, $2x$, or a non-bcrypt value', () => {
      const salted = { algorithm: 'bcrypt', hash: { value: auth0Bcrypt }, salt: { value: 'pepper', position: 'suffix' } }
      expect(recognizeHash(salted)).toEqual(notImportable('bcrypt_salted'))
      expect(recognizeHash({ algorithm: 'bcrypt', hash: { value: auth0Bcrypt.replace('$2b$', '$2x$') } })).toEqual(notImportable('bcrypt_2x'))
      expect(recognizeHash({ algorithm: 'bcrypt', hash: { value: 'abc' } })).toEqual(notImportable('unknown'))
    })

    it('does not import bcrypt of the password\'s UTF-16 or Latin-1 bytes: Authgear hashes its UTF-8 bytes', () => {
      // Node's `ascii` (the encodings Auth0 names are Node's) keeps each character's low byte: Latin-1.
      for (const encoding of ['utf16le', 'ucs2', 'latin1', 'binary', 'ascii']) {
        expect(recognizeHash({ algorithm: 'bcrypt', hash: { value: auth0Bcrypt, encoding: 'utf8' }, password: { encoding } }), encoding).toEqual(notImportable('bcrypt_other_encoding'))
      }
      for (const encoding of ['utf8', 'utf-8']) {
        expect(recognizeHash({ algorithm: 'bcrypt', hash: { value: auth0Bcrypt }, password: { encoding } }), encoding).toEqual({ algorithm: 'bcrypt', importable: true, bcrypt: auth0Bcrypt })
      }
    })

    it.each([
      [{ algorithm: 'md5', hash: { value: '5f4dcc3b5aa765d61d8327deb882cf99', encoding: 'hex' } }, 'md5'],
      [{ algorithm: 'sha256', hash: { value: b64(32), encoding: 'base64' }, salt: { value: 'abc', position: 'prefix' } }, 'sha256'],
      [{ algorithm: 'hmac', hash: { value: 'ab'.repeat(32), encoding: 'hex', digest: 'sha256', key: { value: 'k' } } }, 'hmac'],
      [{ algorithm: 'md4', hash: { value: 'ab'.repeat(16), encoding: 'hex' } }, 'md4'],
      [{ algorithm: 'scrypt', hash: { value: b64(64), encoding: 'base64' }, salt: { value: 's' }, keylen: 64 }, 'scrypt'],
      [{ algorithm: 'argon2', hash: { value: `$argon2id$v=19$m=65536,t=2,p=1$${ab64(16)}$${ab64(32)}`, encoding: 'utf8' } }, 'argon2'],
      [{ algorithm: 'pbkdf2', hash: { value: `$pbkdf2-sha256$i=100000,l=32$${ab64(16)}$${ab64(32)}`, encoding: 'utf8' } }, 'pbkdf2'],
      [{ algorithm: 'ldap', hash: { value: `{SSHA384}${b64(56)}`, encoding: 'utf8' } }, 'ldap_ssha384'],
      [{ algorithm: 'ldap', hash: { value: 'not ldap', encoding: 'utf8' } }, 'ldap'],
      // A braced scheme whose payload does not fit it (too short for a salted SHA-1) is still LDAP.
      [{ algorithm: 'ldap', hash: { value: '{SSHA}c2hvcnQ=', encoding: 'utf8' } }, 'ldap'],
      [{ algorithm: 'whirlpool', hash: { value: 'x' } }, 'unknown'],
    ])('%j → %s', (custom, algorithm) => {
      expect(recognizeHash(custom)).toEqual(notImportable(algorithm))
    })
  })
})

describe('isBcryptHash', () => {
  it('follows Authgear\'s bcrypt check', () => {
    expect(isBcryptHash(auth0Bcrypt)).toBe(true)
    expect(isBcryptHash(auth0Bcrypt.replace('$2b$', '$2$'))).toBe(true)
    expect(isBcryptHash(auth0Bcrypt.replace('$10$', '$04$'))).toBe(true)
    expect(isBcryptHash(auth0Bcrypt.replace('$10$', '$31$'))).toBe(true)
    expect(isBcryptHash(auth0Bcrypt.replace('$10$', '$03$'))).toBe(false)
    expect(isBcryptHash(auth0Bcrypt.replace('$10$', '$32$'))).toBe(false)
    expect(isBcryptHash(auth0Bcrypt.replace('$2b$', '$3b$'))).toBe(false)
    expect(isBcryptHash(auth0Bcrypt.slice(0, 58))).toBe(false)
    expect(isBcryptHash(`x${auth0Bcrypt}`)).toBe(false)
    expect(isBcryptHash(42)).toBe(false)
  })
})
