import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestEmulator, type TestEmulator } from '../../support/emulator-harness.ts'
import { runCli, type CliResult } from '../../support/run-cli.ts'
import { readNdjson, writeTestConfig } from '../../support/write-config.ts'

const bcrypt = (c: string) => `$2b$10$${c.repeat(53).slice(0, 53)}`
const TOTP_OK = 'JBSWY3DPEHPK3PXPJBSWY3DP'
const TOTP_REJECTED = 'KRUGKIDROVUWG2ZAMJZG653O'
const db = (id: string) => ({ identities: [{ connection: 'Username-Password-Authentication', provider: 'auth0', user_id: id, isSocial: false }] })

const users: string[] = [
  JSON.stringify({ user_id: 'auth0|000000000000000000000001', email: 'Mixed.Case@Example.COM', email_verified: true, ...db('000000000000000000000001') }),
  JSON.stringify({ user_id: 'sms|phone1', phone_number: '+14155550101', phone_verified: true }),
  JSON.stringify({ user_id: 'auth0|000000000000000000000003', username: 'JaneDoe', ...db('000000000000000000000003') }),
  JSON.stringify({ user_id: 'google-oauth2|1234567890', email: 'social@example.com', email_verified: true, identities: [{ connection: 'google-oauth2', provider: 'google-oauth2', user_id: '1234567890', isSocial: true }] }),
  JSON.stringify({ user_id: 'auth0|000000000000000000000005', email: 'blocked@example.com', blocked: true, ...db('000000000000000000000005') }),
  JSON.stringify({ user_id: 'auth0|000000000000000000000006', email: 'empty@example.com', given_name: '', family_name: '   ', nickname: '', ...db('000000000000000000000006') }),
  JSON.stringify({ user_id: 'auth0|000000000000000000000007', email: 'badlocale@example.com', locale: 'not a locale!', ...db('000000000000000000000007') }),
  JSON.stringify({ user_id: 'windowslive|abc', email: 'enus@example.com', locale: 'en_US' }),
  JSON.stringify({ user_id: 'auth0|000000000000000000000008', email: 'huge@example.com', user_metadata: { bio: 'x'.repeat(600_000) }, ...db('000000000000000000000008') }),
  '{"user_id": "auth0|000000000000000000000009", "email": ',
  JSON.stringify({ user_id: 'auth0|000000000000000000000010', name: 'No Login At All', ...db('000000000000000000000010') }),
  JSON.stringify({ user_id: 'auth0|000000000000000000000012', email: 'ghost-role@example.com', app_metadata: { roles: ['ghost'] }, ...db('000000000000000000000012') }),
  JSON.stringify({ user_id: 'auth0|000000000000000000000013', email: 'argon@example.com', ...db('000000000000000000000013') }),
  JSON.stringify({ user_id: 'auth0|000000000000000000000014', email: 'not-an-email', ...db('000000000000000000000014') }),
  JSON.stringify({ user_id: 'auth0|000000000000000000000015', email: 'member@example.com', app_metadata: { roles: ['member'], plan: 'pro' }, ...db('000000000000000000000015') }),
  '',
  JSON.stringify({ user_id: 'auth0|000000000000000000000011', email: 'MIXED.case@example.com', email_verified: true, given_name: 'Later', ...db('000000000000000000000011') }),
  JSON.stringify({ user_id: 'auth0|000000000000000000000016', email: 'totp@example.com', mfa_factors: [{ totp: { secret: TOTP_OK } }], ...db('000000000000000000000016') }),
  JSON.stringify({ user_id: 'auth0|000000000000000000000017', email: 'not an email', password_hash: bcrypt('z'), mfa_factors: [{ totp: { secret: TOTP_REJECTED } }], ...db('000000000000000000000017') }),
]
const hashes = [
  { _id: { $oid: '000000000000000000000001' }, email: 'mixed.case@example.com', passwordHash: bcrypt('a'), connection: 'Username-Password-Authentication' },
  { _id: { $oid: '000000000000000000000013' }, email: 'argon@example.com', passwordHash: '$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG', connection: 'Username-Password-Authentication' },
  { _id: { $oid: '000000000000000000000015' }, email: 'member@example.com', passwordHash: bcrypt('m'), connection: 'Username-Password-Authentication' },
  { _id: { $oid: '000000000000000000000011' }, email: 'mixed.case@example.com', passwordHash: bcrypt('l'), connection: 'Username-Password-Authentication' },
]

let dir: string
let target: TestEmulator
let config: string
let first: CliResult

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gb-edge-'))
  await writeFile(join(dir, 'users.ndjson'), `\uFEFF${users.join('\r\n')}\r\n`)
  await writeFile(join(dir, 'hashes.ndjson'), hashes.map((h) => JSON.stringify(h)).join('\n'))
  target = await startTestEmulator(dir, { roles: ['member', 'admin'], custom_attributes: [{ name: 'bio', type: 'string' }, { name: 'plan', type: 'string' }] })
  config = await writeTestConfig(dir, target, {
    source: { type: 'auth0', files: 'users.ndjson', password_hashes: { files: 'hashes.ndjson' } },
    mapping: { default_phone_region: 'US', custom_attributes: { bio: 'user_metadata.bio', plan: 'app_metadata.plan' } },
    // The most verbose level, so that the leak test covers every log line.
    observability: { log_level: 'debug' },
  })
  first = await runCli(['backfill', '--config', config])
})

afterAll(async () => {
  await target?.emulator.close()
  await rm(dir, { recursive: true, force: true })
})

describe('backfill of an export full of edge cases', () => {
  it('finishes with exit code 3 (dead letters) and a summary whose counts add up', () => {
    expect(first.stderr).not.toMatch(/"level":50/)
    expect(first.code).toBe(3)
    const count = (label: string) => Number(new RegExp(`^\\s+${label}\\s+(\\d+)`, 'm').exec(first.stdout)?.[1])
    expect(count('read')).toBe(18)
    expect(count('inserted')).toBe(11)
    expect(count('superseded')).toBe(1)
    expect(count('failed')).toBe(1)
    expect(count('rejected')).toBe(5)
    expect(count('inserted') + count('updated') + count('skipped') + count('superseded') + count('failed') + count('rejected')).toBe(count('read'))
    // The password table counts the records sent, as validate's does: not the one too large to send.
    const passwords = /^\s+passwords\s+(.*)$/m.exec(first.stdout)?.[1] ?? ''
    const sent = passwords.split(' ').reduce((n, entry) => n + Number(entry.split('=')[1]), 0)
    expect(sent).toBe(count('inserted') + count('updated') + count('skipped') + count('superseded') + count('failed'))
  })

  it('puts every user in the emulator with normalized identifiers and mapped attributes', () => {
    const store = target.emulator.store
    expect(store.count()).toBe(11)
    const mixed = store.findByLoginId('email', 'mixed.case@example.com')!
    expect(mixed.email?.value).toBe('mixed.case@example.com')
    expect(mixed.standard?.['given_name']).toBe('Later')
    expect(mixed.hasPassword).toBe(true)
    expect(store.findByLoginId('phone', '+14155550101')?.phone?.verified).toBe(true)
    expect(store.findByLoginId('username', 'janedoe')).toBeDefined()
    expect(store.findByLoginId('email', 'social@example.com')?.hasPassword).toBeFalsy()
    expect(store.findByLoginId('email', 'blocked@example.com')?.status).toBe('disabled')
    const empty = store.findByLoginId('email', 'empty@example.com')!
    expect(empty.standard?.['given_name']).toBeUndefined()
    expect(empty.standard?.['family_name']).toBeUndefined()
    expect(store.findByLoginId('email', 'badlocale@example.com')?.standard?.['locale']).toBeUndefined()
    expect(store.findByLoginId('email', 'enus@example.com')?.standard?.['locale']).toBe('en-US')
    expect(store.findByLoginId('email', 'argon@example.com')?.hasPassword).toBeFalsy()
    const member = store.findByLoginId('email', 'member@example.com')!
    expect(member.roles).toEqual(['member'])
    expect(member.custom?.['plan']).toBe('pro')
    expect(member.hasPassword).toBe(true)
    expect(store.findByLoginId('email', 'totp@example.com')?.mfa?.totpSecrets).toEqual([TOTP_OK])
  })

  it('dead-letters each failure with its origin, stage and reason', async () => {
    const dead = await readNdjson(join(dir, 'state', 'test.dead-letter.ndjson'))
    const byKey = new Map(dead.map((d) => [d['source_key'], d]))
    expect(byKey.get('auth0|000000000000000000000008')).toMatchObject({ stage: 'processing', code: 'record_too_large' })
    // Worded as validate words it, and with the sizes that add up to the limit.
    const tooLarge = /^users\.ndjson:9: the record serializes to \d+ bytes; with the request's own \d+ bytes that is over the 499999-byte request limit$/
    expect(byKey.get('auth0|000000000000000000000008')!['message']).toMatch(tooLarge)
    const validated = await runCli(['validate', '--config', config])
    expect(validated.stdout.split('\n').map((line) => line.replace(/^\s+e\.g\. /, ''))).toContainEqual(expect.stringMatching(tooLarge))
    // A record Authgear refused names where it was read, the field, and Authgear's words.
    expect(byKey.get('auth0|000000000000000000000012')!['message']).toBe('users.ndjson:12: unknown role keys (RoleUnknownKeys)')
    expect(byKey.get('users.ndjson:10') ?? dead.find((d) => d['code'] === 'malformed_json')).toMatchObject({ stage: 'receiving', code: 'malformed_json', origin: 'users.ndjson:10' })
    expect(byKey.get('auth0|000000000000000000000010')).toMatchObject({ stage: 'processing', code: 'no_identifier' })
    expect(byKey.get('auth0|000000000000000000000014')).toMatchObject({ stage: 'processing', code: 'invalid_email' })
    const ghost = byKey.get('auth0|000000000000000000000012')!
    expect(ghost).toMatchObject({ stage: 'sending', code: 'RoleUnknownKeys', attempts: 1 })
    expect(JSON.stringify(ghost['authgear'])).toContain('ghost')
    for (const entry of dead) expect(entry['message']).toEqual(expect.any(String))
    expect(dead).toHaveLength(6)
  })

  it('writes the report and the dead letter, which quote emails and profiles, readable by their owner only', async () => {
    for (const file of ['test.report.ndjson', 'test.dead-letter.ndjson']) expect((await stat(join(dir, 'state', file))).mode & 0o777, file).toBe(0o600)
  })

  it('reports every source key with its Authgear user id and outcome', async () => {
    const report = await readNdjson(join(dir, 'state', 'test.report.ndjson'))
    expect(report).toHaveLength(18)
    const later = report.find((r) => r['source_key'] === 'auth0|000000000000000000000011')!
    expect(later).toMatchObject({ outcome: 'inserted', identifier: 'email', login: 'mixed.case@example.com' })
    expect(later['user_id']).toBe(target.emulator.store.findByLoginId('email', 'mixed.case@example.com')!.id)
    expect(report.find((r) => r['source_key'] === 'auth0|000000000000000000000001')).toMatchObject({ outcome: 'superseded' })
  })

  it('leaks no password hash, private key or token into output, report or dead letter', async () => {
    const files = await Promise.all(['test.report.ndjson', 'test.dead-letter.ndjson'].map((f) => readFile(join(dir, 'state', f), 'utf8')))
    const everything = [first.stdout, first.stderr, ...files].join('\n')
    // The debug lines are there: each import job and each checkpoint commit.
    expect(everything).toMatch(/"msg":"Import job submitted\."/)
    expect(everything).toMatch(/"msg":"Import job completed\."/)
    expect(everything).toMatch(/"msg":"Checkpoint committed\."/)
    for (const h of hashes) expect(everything).not.toContain(h.passwordHash)
    expect(everything).not.toContain(bcrypt('z'))
    expect(everything).not.toContain(TOTP_OK)
    expect(everything).not.toContain(TOTP_REJECTED)
    expect(everything).not.toContain('PRIVATE KEY')
    expect(everything).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\.eyJ/)
  })

  it('inserts nothing on a second run of the same command, and skips everyone when forced from the start', async () => {
    const again = await runCli(['backfill', '--config', config])
    // Still exit 3: the import this command ran left records in the dead letter, whichever run it was.
    expect(again.code).toBe(3)
    expect(again.stdout).toContain('already complete')
    expect(again.stdout).toMatch(/^\s+dead-lettered by earlier runs\s+6\b/m)
    expect(again.stdout).toContain(join(dir, 'state', 'test.dead-letter.ndjson'))
    expect(target.emulator.store.count()).toBe(11)
    const forced = await runCli(['backfill', '--config', config, '--from-start'])
    expect(forced.stdout).toMatch(/^\s+inserted\s+0$/m)
    expect(forced.stdout).toMatch(/^\s+skipped\s+11$/m)
    expect(target.emulator.store.count()).toBe(11)
  })
})
