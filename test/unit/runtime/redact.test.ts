import { describe, expect, it } from 'vitest'
import { maxRedactDepth, redact, redactMessage, redactText, registerSecret, registerUrlSecret } from '../../../src/runtime/redact.ts'

describe('redact', () => {
  it('redacts a record holding a string of megabytes in the base64 alphabet (the hash check overflowed the regex stack and stopped the run)', () => {
    const record = { email: 'not-an-email', user_metadata: { bio: 'a'.repeat(8 * 1024 * 1024) }, name: 'Zz+/'.repeat(2 * 1024 * 1024) }
    const out = redact(record) as typeof record
    expect(out.user_metadata.bio).toHaveLength(8 * 1024 * 1024)
    expect(out.name).toHaveLength(8 * 1024 * 1024)
  })

  it('keeps a __proto__ field as a field, and cuts off nesting too deep to write', () => {
    const record = JSON.parse('{"__proto__":{"email":"carol@example.com"},"name":"Carol","user_metadata":{"__proto__":{"note":"keep me"},"plan":"pro"}}')
    expect(JSON.stringify(redact(record))).toBe('{"__proto__":{"email":"carol@example.com"},"name":"Carol","user_metadata":{"__proto__":{"note":"keep me"},"plan":"pro"}}')
    const deep = JSON.parse(`{"email":"a@example.com","user_metadata":${'['.repeat(20000)}1${']'.repeat(20000)}}`)
    const text = JSON.stringify(redact(deep))
    expect(text).toContain(`"user_metadata":${'['.repeat(maxRedactDepth - 1)}"[nested deeper than ${maxRedactDepth} levels]"`)
    expect(text.startsWith('{"email":"a@example.com"')).toBe(true)
  })

  it('replaces secrets by key and by shape, and leaves the rest', () => {
    const input = {
      email: 'a@example.com',
      password: { type: 'bcrypt', password_hash: '$2b$10$nFguVi9LsCAcvTZFKQlRKeLVydo8ETv483lkNsSFI/Wl1Rz1Ypo1K' },
      mfa: { totp: { secret: 'JBSWY3DPEHPK3PXP' }, email: 'b@example.com' },
      custom_attributes: { note: 'pbkdf2_sha256$600000$salt$aGFzaA==', token_count: 3 },
      nested: [{ passwordHash: 'x' }, 'eyJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJteWFwcCJ9.c2ln'],
    }
    const out = JSON.stringify(redact(input))
    expect(out).not.toContain('$2b$10$')
    expect(out).not.toContain('JBSWY3DPEHPK3PXP')
    expect(out).not.toContain('pbkdf2_sha256$')
    expect(out).not.toContain('eyJhbGci')
    expect(out).toContain('a@example.com')
    expect(out).toContain('b@example.com')
    expect(out).toContain('"token_count":3')
  })

  it('catches the secret columns of legacy tables under any naming, and every hash format the password lanes know', () => {
    const row = {
      id: 7, email: 'a@example.com', pwd: 'hunter2-plaintext', user_pass: '$P$BPpK7CZVfSqzbGzBZTfDc2lHTkzVv8/', encryptedPassword: 'x9y8z7w6',
      otp_secret: 'JBSWY3DPEHPK3PXP', reset_password_token: '9f86d081884c7d65', api_key: 'k-123456', clientSecret: 'c-654321', recovery_codes: ['r1-r2-r3'],
      profile: {
        a: '$wp$2y$10$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234', b: 'bcrypt$$2b$12$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234',
        c: 'pbkdf2:sha256:600000$saltsalt$deadbeefdeadbeef', d: 'scrypt:32768:8:1$saltsalt$deadbeefdeadbeef', e: 'a94a8fe5ccb19ba61c4c0873d391e987982fbbd3',
        f: 'AQAAAAEAACcQAAAAEKu1LbzOZ9f5cs6fsM5UrmMoQ7CdRbSbFwPFSzHgEGNXBpGe0cTzZeIKIm7RIAVVHQ==', g: 'otpauth://totp/X?secret=JBSWY3DPEHPK3PXQ',
      },
      passport_number: 'P1234', login_count: 3, footprint: 'left',
    }
    const out = JSON.stringify(redact(row))
    for (const secret of ['hunter2', '$P$B', 'x9y8z7', 'JBSWY3DPEHPK3PX', '9f86d0', 'k-123456', 'c-654321', 'r1-r2', '$wp$', 'bcrypt$', 'pbkdf2:', 'scrypt:', 'a94a8fe5', 'AQAAAAEAACcQ', 'otpauth']) expect(out).not.toContain(secret)
    expect(redact(row)).toMatchObject({ id: 7, email: 'a@example.com', passport_number: 'P1234', login_count: 3, footprint: 'left' })
  })

  it('catches password columns whose words run together or are not English, TOTP seeds, and any column the config names as the password', () => {
    const row = { id: 1, email: 'a@example.com', userpassword: 'hunter2', hashedpassword: 'x1', pwhash: 'x2', kennwort: 'x3', senha: 'x4', Contrasena: 'x5', legacy_col: 'x6', hashtag_count: 4, mfa: { seed: 'JBSWY3DPEHPK3PXP' }, authenticator_key: 'x7' }
    const out = JSON.stringify(redact(row, new Set(['legacy_col'])))
    for (const secret of ['hunter2', 'x1', 'x2', 'x3', 'x4', 'x5', 'x6', 'JBSWY3DPEHPK3PXP', 'x7']) expect(out).not.toContain(`"${secret}"`)
    expect(redact(row)).toMatchObject({ legacy_col: 'x6', hashtag_count: 4 })
  })

  it('takes a hash or token out of a longer string in a record, keeping the rest of it', () => {
    const record = { user_metadata: { note: 'old login hash=$2b$10$nFguVi9LsCAcvTZFKQlRKeLVydo8ETv483lkNsSFI/Wl1Rz1Ypo1K (migrated)' }, app_metadata: { auth: 'Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln' } }
    const out = redact(record) as typeof record
    expect(out.user_metadata.note).toBe('old login hash=REDACTED (migrated)')
    expect(out.app_metadata.auth).toBe('Bearer REDACTED')
  })

  it('takes bearer tokens, JWTs and hashes out of free text', () => {
    const page = 'HTTP 400 from the proxy: Authorization: Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln; body {"password":{"password_hash":"$2b$10$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234"}}'
    const text = redactText(page)
    for (const secret of ['eyJhbGci', '$2b$10$abc']) expect(text).not.toContain(secret)
    expect(text).toContain('HTTP 400 from the proxy')
    // Any word a password lane takes for a hash, as a module's error quoting the row might hold.
    const quoted = redactText('the mapping module failed: {"id":1,"pw":"pbkdf2_sha256$260000$abc$ZGVmZ2hpamtsbW5vcA==","name":"Zoë"}')
    expect(quoted).not.toContain('pbkdf2_sha256')
    expect(quoted).toContain('"name":"Zoë"')
  })

  it('takes out of free text the values of secret keys, scheme-prefixed and argon2 hashes, and TOTP secrets an error page echoes', () => {
    const cases: [string, string][] = [
      ['legacy hash not migrated (id=1 hash=$argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG)', 'legacy hash not migrated (id=1 hash=REDACTED)'],
      ['(id=2 hash={SSHA}W6ph5Mm5Pz8GgiULbPgzG37mj9hzYWx0MTIz)', '(id=2 hash=REDACTED)'],
      ['(id=3 pw={noop}Hunter2-plain)', '(id=3 pw=REDACTED)'],
      ['digest 5f4dcc3b5aa765d61d8327deb882cf99.', 'digest REDACTED.'],
      ['x=otpauth://totp/a?secret=JBSWY3DPEHPK3PXP', 'x=REDACTED'],
      ['body={"records":[{"mfa":{"totp":{"secret":"JBSWY3DPEHPK3PXPMARK"}}}]}', 'body={"records":[{"mfa":{"totp":{"secret":"REDACTED"}}}]}'],
      ['HTTP 502 "body={\\"totp\\":{\\"secret\\":\\"JBSWY3DPEHPK3PXPMARK\\"}}"', 'HTTP 502 "body={\\"totp\\":{\\"secret\\":\\"REDACTED\\"}}"'],
    ]
    for (const [text, expected] of cases) expect(redactText(text)).toBe(expected)
    // Messages that only name a secret setting or count stay as they are.
    for (const text of ['mapping.columns.password_hash: column pw not found in table users', 'token_count=3 id=7', 'c.yaml:9: source.password: expected string']) expect(redactText(text)).toBe(text)
  })

  it('takes out secrets quoted into text as YAML, headers, Python dicts, quoted key=value and digits under a secret key', () => {
    const cases: [string, string][] = [
      ['users:\n  - email: a@example.com\n    password: hunter22 and more', 'users:\n  - email: a@example.com\n    password: REDACTED'],
      ['HTTP/1.1 502\r\nAuthorization: Basic dXNlcjpwYXNzd29yZA==\r\nX-Api-Key: sk_live_4eC39HqLyjWDarjtT1zdp7dc', 'HTTP/1.1 502\r\nAuthorization: Basic REDACTED\r\nX-Api-Key: REDACTED'],
      ['proxy said: credentials Basic dXNlcjpwYXNzd29yZA== refused', 'proxy said: credentials Basic REDACTED refused'],
      ["KeyError in {'email': 'a@example.com', 'password': 'hunter22'}", "KeyError in {'email': 'a@example.com', 'password': 'REDACTED'}"],
      ["connect failed (password='hunter 22', user=app)", "connect failed (password='REDACTED', user=app)"],
      ['{"totp_secret":123456789012,"email":"a@example.com"}', '{"totp_secret":REDACTED,"email":"a@example.com"}'],
      // A mapping module's own error quoting the row as Node's inspect prints it, on one line or several.
      ["unexpected status in { id: 7, email: 'a@example.com', passwd: 'Winter2024!pw', status: 'x' }", "unexpected status in { id: 7, email: 'a@example.com', passwd: 'REDACTED', status: 'x' }"],
      ["unexpected status in {\n  id: 7,\n  passwd: 'Winter2024!pw',\n  status: 'x'\n}", "unexpected status in {\n  id: 7,\n  passwd: 'REDACTED',\n  status: 'x'\n}"],
      // inspect quotes a string holding both quotes with backticks, and prints Map entries with =>.
      ["cannot migrate { id: 1, password: `it's \"Tr0ub4dor\"` }", 'cannot migrate { id: 1, password: `REDACTED` }'],
      ["Map(1) { 'password' => 'hunter2pw' }", "Map(1) { 'password' => 'REDACTED' }"],
      ["cannot migrate {\n  id: 1,\n  password: `it's \"Tr0ub4dor\"`,\n}", 'cannot migrate {\n  id: 1,\n  password: `REDACTED`,\n}'],
      // Python quotes a string holding ' with "; logfmt and Go's %q escape an inner ".
      ["KeyError in {'password': \"it's-hunter22\"}", "KeyError in {'password': \"REDACTED\"}"],
      ['msg="db connect" password="p4\\"ss w0rd" user=app', 'msg="db connect" password="REDACTED" user=app'],
    ]
    for (const [text, expected] of cases) expect(redactText(text)).toBe(expected)
    // Our own sentences and messages about settings keep their words.
    for (const text of [
      'no password: the password-hash export has no line for this database user',
      'custom_password_hash left out: password_hash is used',
      'source.password: expected string',
      'Basic authentication required',
      '"token_count": 3, token_count=\'3\'',
      'Passed: 3',
    ]) expect(redactText(text)).toBe(text)
    // A rejection names its field first: `field: what is wrong`.
    expect(redactMessage('t id=5: pwd: not a string', 't id=5')).toBe('t id=5: pwd: not a string')
    expect(redactMessage('users.ndjson:4: password_hash: password_hash holds a password hash of type argon2, which Authgear cannot import', 'users.ndjson:4')).toBe('users.ndjson:4: password_hash: password_hash holds a password hash of type argon2, which Authgear cannot import')
  })

  it('takes out a connection URL\'s password, also the pieces of one whose @ or / was not encoded, which a DNS error names as a host', () => {
    registerUrlSecret('postgres://gb_reader:Tr0ub@dor-x9Qz/42@127.0.0.1:40543/gearbridge_test')
    expect(redactText('getaddrinfo ENOTFOUND dor-x9Qz')).toBe('getaddrinfo ENOTFOUND REDACTED')
    expect(redactText('password Tr0ub@dor-x9Qz/42 refused')).toBe('password REDACTED refused')
    registerUrlSecret('mysql://app:s%40fe-pass-99@db:3306/app')
    expect(redactText('bad auth for s@fe-pass-99')).toBe('bad auth for REDACTED')
  })

  it('takes out no host when an @ stands in the query string, only the password', () => {
    registerUrlSecret('postgres://gb:Secret123@dbhost-primary.invalid:5432/db?application_name=gb@worker')
    expect(redactText('getaddrinfo ENOTFOUND dbhost-primary.invalid')).toBe('getaddrinfo ENOTFOUND dbhost-primary.invalid')
    expect(redactText('password authentication failed: Secret123')).toBe('password authentication failed: REDACTED')
    // A `?` or `#` in the password itself.
    registerUrlSecret('postgres://gb:Qw3rtyZ9?x#7z@db.internal:5432/app')
    expect(redactText('password Qw3rtyZ9?x#7z refused')).toBe('password REDACTED refused')
  })

  it('replaces a secret used as a key (a hash keying a map), numbered, with its value', () => {
    const hash = `$2b$10$${'h'.repeat(53)}`
    expect(redact({ user_metadata: { devices: { [hash]: true, phone: 'x' } }, a: { [`other ${'$2a$10$' + 'g'.repeat(53)}`]: 1, [`$2y$10$${'f'.repeat(53)}`]: 2 } })).toEqual({
      user_metadata: { devices: { 'REDACTED#1': 'REDACTED', phone: 'x' } },
      a: { 'REDACTED#1': 'REDACTED', 'REDACTED#2': 'REDACTED' },
    })
  })

  it('knows a password column by more of its names: passcode, pword, contraseña, hasło, şifre, clave', () => {
    const row = { id: 1, passcode: '111111', user_pword: 'a', 'contraseña': 'b', haslo: 'c', sifre: 'd', clave_usuario: 'e', passport: 'X1', compass: 'N' }
    expect(redact(row)).toEqual({ id: 1, passcode: 'REDACTED', user_pword: 'REDACTED', 'contraseña': 'REDACTED', haslo: 'REDACTED', sifre: 'REDACTED', clave_usuario: 'REDACTED', passport: 'X1', compass: 'N' })
  })

  it('takes out the value librdkafka quotes when it refuses a setting', () => {
    expect(redactText('Invalid value "SCRAM-pa55word!" for configuration property "security.protocol"')).toBe('Invalid value "REDACTED" for configuration property "security.protocol"')
    expect(redactText('Invalid value "hunter"2-Sup3r" for configuration property "security.protocol"')).toBe('Invalid value "REDACTED" for configuration property "security.protocol"')
  })

  it('keeps what an object under a secret-shaped key holds (a device map keyed by hex ids), redacted as any value', () => {
    const id = 'a'.repeat(32)
    expect(redact({ devices: { [id]: { model: 'Pixel', last_seen: '2026-01-01' } } })).toEqual({ devices: { 'REDACTED#1': { model: 'Pixel', last_seen: '2026-01-01' } } })
  })

  it('redacts by value, as a whole word from 6 characters, a padded copy and bytes too; a shorter value is left, and so are the fields that merely equal it', () => {
    expect(redact({ userpass: 'Tr0ub4dor&3     ', note: 'was Tr0ub4dor&3.', raw: Buffer.from('Tr0ub4dor&3'), other: 'Tr0ub4dor&35' }, undefined, ['Tr0ub4dor&3'])).toEqual({ userpass: 'REDACTED', note: 'REDACTED', raw: 'REDACTED', other: 'Tr0ub4dor&35' })
    expect(redact({ id: 10, pw: '1', plan: '1', status: '1' }, undefined, ['1'])).toEqual({ id: 10, pw: 'REDACTED', plan: '1', status: '1' })
    expect(redactMessage('users id=10: password_hash holds 1, which is no hash', 'users id=10', ['1'])).toBe('users id=10: password_hash holds 1, which is no hash')
    expect(redactMessage('users id=10: password_hash holds Tr0ub4dor&3', 'users id=10', ['Tr0ub4dor&3'])).toBe('users id=10: password_hash holds REDACTED')
  })

  it('takes out a base64 digest with its padding in free text', () => {
    expect(redactText('old hash X03MO1qnZdYdgyfeuILPmQ== was refused')).toBe('old hash REDACTED was refused')
    expect(redactText("Input:\n\n'X03MO1qnZdYdgyfeuILPmQ=='")).not.toContain('X03MO1qn')
  })

  it('takes a registered password out only as a whole word, after the rules by key: a password that is a key\'s name or part of a table\'s hides nothing', () => {
    registerSecret('secret')
    registerSecret('tests1')
    expect(redactText('{"totp":{"secret":"JBSWY3DPEHPK3PXP"}}')).not.toContain('JBSWY3DPEHPK3PXP')
    expect(redactText('relation "tests1_usres" does not exist')).toBe('relation "tests1_usres" does not exist')
    expect(redactText('password tests1 refused')).toBe('password REDACTED refused')
    // Too short to look for: it would mangle ordinary words.
    registerSecret('test')
    expect(redactText('cannot read table test')).toBe('cannot read table test')
  })

  it('leaves a message\'s origin as it is: a hex key names the row', () => {
    const origin = 'hexusers id=0a1b2c3d4e5f60718293a4b5c6d7e8f9'
    expect(redactMessage(`${origin}: email: not an address (hash=5f4dcc3b5aa765d61d8327deb882cf99)`, origin)).toBe(`${origin}: email: not an address (hash=REDACTED)`)
  })
})
