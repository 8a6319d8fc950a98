import { spawn } from 'node:child_process'
import { gzipSync } from 'node:zlib'
import { createServer } from 'node:net'
import type { AddressInfo } from 'node:net'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { Ajv2020 } from 'ajv/dist/2020.js'
import { parse as parseYaml } from 'yaml'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestEmulator, type TestEmulator } from '../../support/emulator-harness.ts'
import { cliPath, runCli } from '../../support/run-cli.ts'
import { readNdjson, writeTestConfig } from '../../support/write-config.ts'

let dir: string
let target: TestEmulator
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gb-cli-'))
  target = await startTestEmulator(dir, { roles: ['admin', 'billing', 'member'], custom_attributes: [{ name: 'plan', type: 'string' }] })
})
afterAll(async () => {
  await target.emulator.close()
  await rm(dir, { recursive: true, force: true })
})

describe('gearbridge validate', () => {
  it('prints every config problem with file, line and key, and exits 78', async () => {
    const path = join(dir, 'bad.yaml')
    await writeFile(path, ['name: Bad Name', 'source:', '  type: auth0', '  files: x.ndjson', '  colour: blue', 'sink:', '  endpoint: ftp://nowhere', '  project_id: ${NOT_SET_ANYWHERE}', ''].join('\n'))
    const result = await runCli(['validate', '--config', path])
    expect(result.code).toBe(78)
    expect(result.stderr).toContain(`${path}:8: sink.project_id: environment variable NOT_SET_ANYWHERE is not set`)
    // Not again as the empty text it reads as.
    expect(result.stderr).not.toMatch(/sink\.project_id: Too small/)
    const fixed = await runCli(['validate', '--config', path], { NOT_SET_ANYWHERE: 'myapp' })
    expect(fixed.code).toBe(78)
    expect(fixed.stderr).toMatch(new RegExp(`${path}:1: name: `))
    expect(fixed.stderr).toMatch(/:5: source\.colour: unknown key/)
    expect(fixed.stderr).toMatch(/:7: sink\.endpoint: /)
  })

  it('dry-runs the bundled example offline: counts per identifier and password lane, and the failures with their reasons', async () => {
    const result = await runCli(['validate', '--config', 'config.example.yaml'])
    expect(result.code).toBe(3)
    expect(result.stdout).toContain('config config.example.yaml: valid')
    expect(result.stdout).toMatch(/35 records read, 33 would be sent, 2 would be dead-lettered/)
    expect(result.stdout).toMatch(/email\s+29/)
    expect(result.stdout).toMatch(/bcrypt:imported\s+22/)
    expect(result.stdout).toMatch(/malformed_json\s+1\n\s+e\.g\. examples\/auth0\/users\.ndjson:21:/)
    expect(result.stdout).toMatch(/invalid_phone_number\s+1/)
    // The sample maps app_metadata.plan (a custom attribute) and the roles: the rest is listed, not dropped quietly.
    expect(result.stdout).toMatch(/metadata no mapping reads \(not imported; map a key with mapping\.custom_attributes\):\n\s+user_metadata\.theme\s+5 users\n/)
    expect(result.stdout).toMatch(/app_metadata\.legacy_id\s+1 user\n/)
    expect(result.stdout).not.toMatch(/app_metadata\.(plan|roles)\b/)
  })
})

describe('gearbridge validate counts', () => {
  it('counts by identifier and password only what would be sent, so the tables add up as a backfill summary does', async () => {
    const argon2 = '$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG'
    const bcrypt = '$2b$10$nFguVi9LsCAcvTZFKQlRKeLVydo8ETv483lkNsSFI/Wl1Rz1Ypo1K'
    const users = [
      { user_id: 'auth0|1', email: 'a@example.com', password_hash: bcrypt },
      { user_id: 'auth0|2', email: 'b@example.com', password_hash: argon2 },
      { user_id: 'auth0|3', email: 'not-an-email', password_hash: bcrypt },
    ]
    await writeFile(join(dir, 'counted.ndjson'), users.map((u) => JSON.stringify(u)).join('\n') + '\n')
    const config = await writeTestConfig(dir, target, { source: { type: 'auth0', files: 'counted.ndjson' }, mapping: { passwords: { non_bcrypt: 'dead_letter' } } })
    const result = await runCli(['validate', '--config', config])
    expect(result.code).toBe(3)
    expect(result.stdout).toMatch(/3 records read, 1 would be sent, 2 would be dead-lettered/)
    const table = result.stdout.slice(result.stdout.indexOf('by password'), result.stdout.indexOf('would be dead-lettered:'))
    expect(table).toMatch(/bcrypt:imported\s+1\n/)
    expect(table).not.toMatch(/rejected/)
    expect(result.stdout).toMatch(/password_policy\s+1/)
    expect(result.stdout).toMatch(/invalid_email\s+1/)
  })
})

describe('gearbridge validate role and group keys', () => {
  it('lists the role and group keys and custom attributes the records send; with the embedded emulator counts a record its project refuses as sent and dead-lettered, for the reason Authgear checks first, as the backfill then does', async () => {
    const users = [
      { user_id: 'auth0|r1', email: 'r1@example.com', app_metadata: { roles: ['admin'] } },
      { user_id: 'auth0|r2', email: 'r2@example.com', app_metadata: { roles: ['admin', 'ghost'] } },
      { user_id: 'auth0|r3', email: 'r3@example.com' },
      { user_id: 'auth0|r4', email: 'r4@example.com', app_metadata: { plan: 5 } },
      // Both an unknown role and a custom attribute of the wrong type: Authgear checks attributes first.
      { user_id: 'auth0|r5', email: 'r5@example.com', app_metadata: { roles: ['ghost'], plan: 6 } },
    ]
    await writeFile(join(dir, 'roles.ndjson'), users.map((u) => JSON.stringify(u)).join('\n') + '\n')
    const mapping = { custom_attributes: { plan: 'app_metadata.plan' } }
    const remote = await writeTestConfig(dir, target, { name: 'roles', source: { type: 'auth0', files: 'roles.ndjson' }, mapping }, 'roles-remote.yaml')
    const listed = await runCli(['validate', '--config', remote])
    expect(listed.code).toBe(0)
    expect(listed.stdout).toContain('5 records read, 5 would be sent, 0 would be dead-lettered')
    expect(listed.stdout).toMatch(/what the records need the Authgear project to define before the import .*\n  role +admin\s+2 records\n  role +ghost\s+2 records\n  attribute +plan\s+2 records \(number 2\)\n/)

    const embedded = await writeTestConfig(dir, target, { name: 'roles', source: { type: 'auth0', files: 'roles.ndjson' }, mapping, sink: { endpoint: 'embedded' }, emulator: { roles: ['admin'], custom_attributes: [{ name: 'plan', type: 'string' }] } }, 'roles-embedded.yaml')
    const predicted = await runCli(['validate', '--config', embedded])
    expect(predicted.code).toBe(3)
    expect(predicted.stdout).toContain('5 records read, 5 would be sent, 3 would be dead-lettered (3 of them sent and refused by Authgear)')
    expect(predicted.stdout).toMatch(/RoleUnknownKeys\s+1\n\s+e\.g\. roles\.ndjson:2: unknown role keys \(RoleUnknownKeys\): ghost/)
    expect(predicted.stdout).toMatch(/ValidationFailed\s+2\n\s+e\.g\. roles\.ndjson:4: \/custom_attributes\/plan: invalid value \(ValidationFailed: type\)/)
    expect(predicted.stdout).toMatch(/role +ghost\s+2 records \(not in the emulated project\)/)
    const run = await runCli(['backfill', '--config', embedded])
    expect(run.code).toBe(3)
    const dead = await readNdjson(join(dir, 'state', 'roles.dead-letter.ndjson'))
    expect(dead.map((d) => [d['origin'], d['code']])).toEqual([['roles.ndjson:2', 'RoleUnknownKeys'], ['roles.ndjson:4', 'ValidationFailed'], ['roles.ndjson:5', 'ValidationFailed']])
    expect(run.stdout).toMatch(/inserted +2\n/)
    expect(run.stdout).toMatch(/failed +3\n/)
  })
})

describe('gearbridge validate with the embedded project', () => {
  it('checks a record\'s login IDs before the project\'s roles and attributes, as Authgear does: a repeat is skipped, a taken login ID refused, whatever else it sends', async () => {
    const users = [
      { user_id: 'auth0|a1', email: 'a@example.com', phone_number: '+14155552671', app_metadata: { roles: ['admin'] } },
      // A repeat of a1 (one job a record, no upsert): skipped before its unknown role is looked at.
      { user_id: 'google-oauth2|a2', email: 'a@example.com', app_metadata: { roles: ['ghost'], plan: 3 } },
      // a1's phone as a second login ID: refused for it, not for its attribute.
      { user_id: 'auth0|b1', email: 'b@example.com', phone_number: '+14155552671', app_metadata: { plan: 4 } },
      { user_id: 'auth0|c1', email: 'c@example.com', app_metadata: { roles: ['ghost'] } },
    ]
    await writeFile(join(dir, 'order.ndjson'), users.map((u) => JSON.stringify(u)).join('\n') + '\n')
    const config = await writeTestConfig(dir, target, { name: 'order', source: { type: 'auth0', files: 'order.ndjson' }, mapping: { custom_attributes: { plan: 'app_metadata.plan' } }, sink: { endpoint: 'embedded', batch: { max_records: 1 } }, emulator: { roles: ['admin'], custom_attributes: [{ name: 'plan', type: 'string' }] } }, 'order.yaml')
    const predicted = await runCli(['validate', '--config', config])
    expect(predicted.stdout).toContain('4 records read, 4 would be sent, 2 would be dead-lettered (2 of them sent and refused by Authgear)')
    expect(predicted.stdout).toMatch(/InvariantViolated\s+1\n\s+e\.g\. order\.ndjson:3:/)
    expect(predicted.stdout).toMatch(/RoleUnknownKeys\s+1\n\s+e\.g\. order\.ndjson:4:/)
    expect(predicted.stdout).not.toMatch(/ValidationFailed +\d/)
    const run = await runCli(['backfill', '--config', config])
    expect(run.code).toBe(3)
    const dead = await readNdjson(join(dir, 'state', 'order.dead-letter.ndjson'))
    // One job a record: jobs run side by side and their outcomes land in the order they finish.
    expect(dead.map((d) => [d['origin'], d['code']]).sort()).toEqual([['order.ndjson:3', 'InvariantViolated'], ['order.ndjson:4', 'RoleUnknownKeys']])
    expect(run.stdout).toMatch(/skipped +1\n/)
  })
})

describe('gearbridge validate warnings', () => {
  it('says when the password-hash export matches none of the database users (another tenant\'s, say)', async () => {
    const users = Array.from({ length: 5 }, (_, i) => JSON.stringify({ user_id: `auth0|${String(i).padStart(24, '0')}`, email: `u${i}@example.com`, identities: [{ provider: 'auth0', user_id: String(i).padStart(24, '0'), connection: 'Username-Password-Authentication' }] }))
    const hashes = Array.from({ length: 5 }, (_, i) => JSON.stringify({ _id: { $oid: String(i + 100).padStart(24, '0') }, email: `other${i}@example.com`, passwordHash: `$2b$10$${'a'.repeat(53)}`, connection: 'Username-Password-Authentication' }))
    await writeFile(join(dir, 'tenant-users.ndjson'), `${users.join('\n')}\n`)
    await writeFile(join(dir, 'other-tenant-hashes.ndjson'), `${hashes.join('\n')}\n`)
    const config = await writeTestConfig(dir, target, { source: { type: 'auth0', files: 'tenant-users.ndjson', password_hashes: { files: 'other-tenant-hashes.ndjson' } } })
    const result = await runCli(['validate', '--config', config])
    expect(result.code).toBe(0)
    expect(result.stdout).toContain('warnings:\n  password-hash join: 5 of 5 database users (100%) have no line in the password-hash export')
    expect(result.stdout).toContain('(none matched at all)')
  })

  it('says when records repeat a user (and may lose its password), are matched to another user, or are refused for a login ID another holds; backfill does what it said', async () => {
    const bcrypt = `$2b$10$${'b'.repeat(53)}`
    const users = [
      { user_id: 'auth0|db', email: 'Ann@example.com', password_hash: bcrypt, identities: [{ provider: 'auth0', user_id: 'db', connection: 'db' }] },
      { user_id: 'google-oauth2|1', email: 'ann@example.com', identities: [{ provider: 'google-oauth2', user_id: '1', connection: 'google' }] },
      { user_id: 'auth0|u1', email: 'one@example.com', username: 'sam' },
      { user_id: 'auth0|u2', email: 'two@example.com', username: 'sam' },
      { user_id: 'auth0|u3', email: 'three@example.com' },
      { user_id: 'auth0|dana', email: 'dana@example.com', phone_number: '+14155552671' },
      { user_id: 'sms|dana', phone_number: '+14155552671', name: 'Someone Else' },
      { user_id: 'google-oauth2|2', email: 'eve@example.com', identities: [{ provider: 'google-oauth2', user_id: '2', connection: 'google' }] },
      { user_id: 'auth0|eve', email: 'eve@example.com', password_hash: bcrypt, identities: [{ provider: 'auth0', user_id: 'eve', connection: 'db' }] },
    ]
    await writeFile(join(dir, 'shared.ndjson'), users.map((u) => JSON.stringify(u)).join('\n') + '\n')
    const config = await writeTestConfig(dir, target, { name: 'shared', source: { type: 'auth0', files: 'shared.ndjson' }, sink: { batch: { max_records: 1 }, max_in_flight: 1 } }, 'shared.yaml')
    const result = await runCli(['validate', '--config', config])
    expect(result.code).toBe(3)
    expect(result.stdout).toContain('9 records read, 9 would be sent, 1 would be dead-lettered (1 of them sent and refused by Authgear)')
    expect(result.stdout).toMatch(/^  InvariantViolated\s+1\n\s+e\.g\. shared\.ndjson:4: holds a login ID/m)
    expect(result.stdout).toContain('  2 records repeat the identifier of an earlier one: they are one user in Authgear, which keeps one version (the last of an import job; a later job skips an existing user, or updates it under upsert) (e.g. shared.ndjson:2, shared.ndjson:9)')
    // Either order: a version with a password after one without loses it just the same across jobs.
    expect(result.stdout).toContain('  2 of them differ from the version before in carrying a password Authgear imports')
    expect(result.stdout).toMatch(/\(e\.g\. shared\.ndjson:2, shared\.ndjson:9\)\n  1 record has as identifier a login ID an earlier user's record holds besides its own .* \(e\.g\. shared\.ndjson:7\)/)
    // The backfill, one record per job, does what validate said.
    const backfill = await runCli(['backfill', '--config', config])
    expect(backfill.code).toBe(3)
    const report = new Map((await readNdjson(join(dir, 'state', 'shared.report.ndjson'))).map((line) => [line['source_key'], line]))
    expect(report.get('auth0|u2')).toMatchObject({ outcome: 'failed', code: 'InvariantViolated' })
    expect(report.get('sms|dana')).toMatchObject({ outcome: 'skipped', user_id: report.get('auth0|dana')!['user_id'] })
    expect(report.get('auth0|eve')).toMatchObject({ outcome: 'skipped' })
    expect(target.emulator.store.findByLoginId('email', 'eve@example.com')!.hasPassword).toBeFalsy()
  })

  it('does not count login IDs of a record Authgear refuses or matches to another user: they create nothing', async () => {
    const users = [
      // x is refused (sam is a's): its phone stays free, so y is inserted.
      { user_id: 'auth0|a', email: 'chain-a@example.com', username: 'chain-sam' },
      { user_id: 'auth0|x', email: 'chain-x@example.com', username: 'chain-sam', phone_number: '+14155550111' },
      { user_id: 'auth0|y', email: 'chain-y@example.com', phone_number: '+14155550111' },
      // b is matched to d (its phone is d's): its username stays free, so c is inserted.
      { user_id: 'auth0|d', email: 'chain-d@example.com', phone_number: '+14155550122' },
      { user_id: 'sms|b', phone_number: '+14155550122', username: 'chain-bob' },
      { user_id: 'auth0|c', email: 'chain-c@example.com', username: 'chain-bob' },
    ]
    await writeFile(join(dir, 'chain.ndjson'), users.map((u) => JSON.stringify(u)).join('\n') + '\n')
    const config = await writeTestConfig(dir, target, { name: 'chain', source: { type: 'auth0', files: 'chain.ndjson' }, sink: { batch: { max_records: 1 }, max_in_flight: 1 } }, 'chain.yaml')
    const result = await runCli(['validate', '--config', config])
    expect(result.stdout).toContain('6 records read, 6 would be sent, 1 would be dead-lettered (1 of them sent and refused by Authgear)')
    expect(result.stdout).toMatch(/e\.g\. chain\.ndjson:2: holds a login ID/)
    expect(result.stdout).toMatch(/1 record has as identifier a login ID an earlier user's record holds .*\(e\.g\. chain\.ndjson:5\)/)
    const backfill = await runCli(['backfill', '--config', config])
    const report = new Map((await readNdjson(join(dir, 'state', 'chain.report.ndjson'))).map((line) => [line['source_key'], line['outcome']]))
    expect(Object.fromEntries(report)).toEqual({ 'auth0|a': 'inserted', 'auth0|x': 'failed', 'auth0|y': 'inserted', 'auth0|d': 'inserted', 'sms|b': 'skipped', 'auth0|c': 'inserted' })
    expect(backfill.code).toBe(3)
  })

  it.each([
    // d's phone is b's identifier: under upsert b updates d and gives it username U, so c (U) and e (d's phone) are refused.
    ['upsert', true, (p: string) => [{ user_id: `auth0|${p}d`, email: `${p}d@example.com`, phone_number: '+14155550133' }, { user_id: `sms|${p}b`, phone_number: '+14155550133', username: `${p}u` }, { user_id: `auth0|${p}c`, email: `${p}c@example.com`, username: `${p}u` }, { user_id: `auth0|${p}e`, email: `${p}e@example.com`, phone_number: '+14155550133' }], 2],
    // Without upsert a repeat of a is skipped: its new username T is no one's, so c may have it.
    ['insert, a repeat', false, (p: string) => [{ user_id: `auth0|${p}a`, email: `${p}a@example.com` }, { user_id: `auth0|${p}b`, email: `${p}b@example.com`, username: `${p}s` }, { user_id: `auth0|${p}a`, email: `${p}a@example.com`, username: `${p}t` }, { user_id: `auth0|${p}c`, email: `${p}c@example.com`, username: `${p}t` }], 0],
    // Without upsert a repeat carrying another's username is skipped, not refused.
    ['insert, a repeat with a taken username', false, (p: string) => [{ user_id: `auth0|${p}b`, username: `${p}s` }, { user_id: `auth0|${p}a`, email: `${p}a@example.com` }, { user_id: `auth0|${p}a`, email: `${p}a@example.com`, username: `${p}s` }], 0],
  ] as const)('predicts the records Authgear refuses as backfill meets them (%s)', async (name, upsert, users, refused) => {
    const prefix = `p${name.length}${upsert ? 'u' : 'i'}`
    await writeFile(join(dir, `${prefix}.ndjson`), users(prefix).map((u) => JSON.stringify(u)).join('\n') + '\n')
    const config = await writeTestConfig(dir, target, { name: prefix, source: { type: 'auth0', files: `${prefix}.ndjson` }, sink: { upsert, batch: { max_records: 1 }, max_in_flight: 1 } }, `${prefix}.yaml`)
    const validate = await runCli(['validate', '--config', config])
    expect(validate.stdout).toContain(`, ${refused} would be dead-lettered`)
    await runCli(['backfill', '--config', config])
    const failed = (await readNdjson(join(dir, 'state', `${prefix}.report.ndjson`))).filter((line) => line['outcome'] === 'failed')
    expect(failed.map((line) => line['code'])).toEqual(Array.from({ length: refused }, () => 'InvariantViolated'))
  })

  it('counts a later version whose hash Authgear cannot import (argon2) as losing the password', async () => {
    const versions = [
      { user_id: 'auth0|bob', email: 'bob@example.com', password_hash: `$2b$10$${'b'.repeat(53)}` },
      { user_id: 'auth0|bob', email: 'BOB@example.com', password_hash: '$argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHRzYWx0$RdescudvJCsgt3ub+b+dWRWJTmaaJObGRdescudvJCs' },
    ]
    await writeFile(join(dir, 'rehashed.ndjson'), versions.map((u) => JSON.stringify(u)).join('\n') + '\n')
    const config = await writeTestConfig(dir, target, { source: { type: 'auth0', files: 'rehashed.ndjson' } })
    const result = await runCli(['validate', '--config', config])
    expect(result.stdout).toContain('  1 of them differs from the version before in carrying a password Authgear imports (one has it, the other has none or a hash it cannot import): Authgear keeps the last version of an import job but the first across jobs, so the user may end up without a password (e.g. rehashed.ndjson:2)')
  })

  it('says when an export file is empty, as a failed download leaves it', async () => {
    await writeFile(join(dir, 'empty-export.ndjson'), '')
    const config = await writeTestConfig(dir, target, { source: { type: 'auth0', files: 'empty-export.ndjson' } })
    const result = await runCli(['validate', '--config', config])
    expect(result.stdout).toContain('0 records read')
    expect(result.stdout).toContain('warnings:\n  empty-export.ndjson is empty (0 bytes): no user was read from it')
  })
})

describe('observability.listen', () => {
  it('names the setting when its address is taken, as by a second gearbridge on the default port', async () => {
    const taken = createServer()
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve))
    const { port } = taken.address() as AddressInfo
    try {
      await writeFile(join(dir, 'one-user.ndjson'), `${JSON.stringify({ user_id: 'auth0|1', email: 'one@example.com' })}\n`)
      const config = await writeTestConfig(dir, target, { source: { type: 'auth0', files: 'one-user.ndjson' }, observability: { listen: `127.0.0.1:${port}` } })
      const result = await runCli(['backfill', '--config', config])
      expect(result.code).toBe(78)
      expect(result.stderr).toContain(`observability.listen 127.0.0.1:${port}: the address is in use (another gearbridge?); set another host:port, or null`)
      // `--listen` overrides the config's address, as for a command run beside a sync in one
      // container (`docker exec … reconcile`): another address, or off.
      const own = await writeTestConfig(dir, target, { name: 'listen', source: { type: 'auth0', files: 'one-user.ndjson' }, observability: { listen: `127.0.0.1:${port}` } }, 'listen.yaml')
      const elsewhere = await runCli(['backfill', '--config', own, '--listen', '127.0.0.1:0'])
      expect(elsewhere.code, elsewhere.stderr).toBe(0)
      expect(elsewhere.stderr).toMatch(/"url":"http:\/\/127\.0\.0\.1:\d+","msg":"Serving \/metrics/)
      expect(elsewhere.stderr).not.toContain(`127.0.0.1:${port}`)
      const off = await runCli(['backfill', '--config', own, '--from-start', '--listen', 'off'])
      expect(off.code, off.stderr).toBe(0)
      expect(off.stderr).not.toContain('Serving /metrics')
      const bad = await runCli(['reconcile', '--config', own, '--listen', '127.0.0.1:99999'])
      expect(bad.code).toBe(2)
      expect(bad.stderr).toContain("option '--listen <host:port|off>' argument '127.0.0.1:99999' is invalid. expected host:port (port 0–65535), or off")
    } finally {
      taken.close()
    }
  })
})

describe('observability.listen that cannot work', () => {
  it('is a config error (78) naming the setting: a port past 65535, a host that does not resolve', async () => {
    await writeFile(join(dir, 'one-user.ndjson'), `${JSON.stringify({ user_id: 'auth0|1', email: 'one@example.com' })}\n`)
    const badPort = await writeTestConfig(dir, target, { source: { type: 'auth0', files: 'one-user.ndjson' }, observability: { listen: '127.0.0.1:99999' } })
    const validate = await runCli(['validate', '--config', badPort])
    expect(validate.code).toBe(78)
    expect(validate.stderr).toContain('the port must be 0–65535')
    const badHost = await writeTestConfig(dir, target, { source: { type: 'auth0', files: 'one-user.ndjson' }, observability: { listen: 'no-such-host.invalid:9464' } })
    const backfill = await runCli(['backfill', '--config', badHost])
    expect(backfill.code, backfill.stderr).toBe(78)
    expect(backfill.stderr).toContain('observability.listen no-such-host.invalid:9464: the host does not resolve')
  })
})

describe('commands that do not fit the source', () => {
  it('refuse backfill --since and sync on an export file instead of quietly reading it all once', async () => {
    const config = await writeTestConfig(dir, target, { source: { type: 'auth0', files: 'examples-missing.ndjson' } })
    const since = await runCli(['backfill', '--config', config, '--since', '2099-01-01T00:00:00Z'])
    expect(since.code).toBe(78)
    expect(since.stderr).toContain('backfill --since is for SQL sources')
    const sync = await runCli(['sync', '--config', config])
    expect(sync.code).toBe(78)
    expect(sync.stderr).toContain('an Auth0 export file is read once, with backfill')
  })

  it('refuse --from-start on a Kafka source, whose position is the consumer group offsets, and say how to read again', async () => {
    const config = await writeTestConfig(dir, target, { source: { type: 'kafka', brokers: '127.0.0.1:1', topics: 'users', group_id: 'replicas' } })
    const result = await runCli(['sync', '--config', config, '--from-start'])
    expect(result.code).toBe(78)
    expect(result.stderr).toContain('--from-start cannot rewind a kafka source: it reads from the committed offsets of group replicas')
    expect(result.stderr).toContain('--reset-offsets --to-earliest')
  })
})

describe('gearbridge check', () => {
  it('confirms a readable source and an accepted JWT', async () => {
    await writeFile(join(dir, 'users.ndjson'), '{"user_id":"auth0|1","email":"a@example.com"}\n')
    const config = await writeTestConfig(dir, target, { source: { type: 'auth0', files: 'users.ndjson' } })
    const result = await runCli(['check', '--config', config])
    expect(result.stdout).toMatch(/^source: ok/m)
    expect(result.stdout).toMatch(/^authgear: ok .*accepted the Admin API JWT for project myapp/m)
    expect(result.code).toBe(0)
  })

  it('reads the start of the export and hash files: a still-encrypted download fails the check, files that match nothing are a config problem (78)', async () => {
    const noise = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) % 256))
    await writeFile(join(dir, 'users.json.pgp'), noise)
    const encrypted = await writeTestConfig(dir, target, { source: { type: 'auth0', files: 'users.json.pgp', format: 'ndjson' } })
    const users = await runCli(['check', '--config', encrypted])
    expect(users.code).toBe(1)
    expect(users.stdout).toMatch(/^source: FAILED: users\.json\.pgp: no record of its first \d+ can be read .*still encrypted/m)
    // An empty export file passes, with the warning validate and a run give.
    await writeFile(join(dir, 'empty.ndjson'), '')
    const empty = await runCli(['check', '--config', await writeTestConfig(dir, target, { source: { type: 'auth0', files: 'empty.ndjson' } })])
    expect(empty.stdout).toMatch(/^source: ok .*warning: empty\.ndjson is empty \(0 bytes\)/m)
    await writeFile(join(dir, 'hashes.ndjson.pgp'), noise)
    const hashes = await writeTestConfig(dir, target, { source: { type: 'auth0', files: 'users.ndjson', password_hashes: { files: 'hashes.ndjson.pgp' } } })
    const hashResult = await runCli(['check', '--config', hashes])
    // A hash file a run would refuse (78) is a config problem here too.
    expect(hashResult.code).toBe(78)
    expect(hashResult.stdout).toMatch(/^source: FAILED: source\.password_hashes\.files: password-hash export hashes\.ndjson\.pgp: none of its first \d+ lines is a JSON object; is it still PGP-encrypted/m)
    // One bad line before good ones is the run's to report, not a failed check.
    await writeFile(join(dir, 'hashes-one-bad.ndjson'), ['garbage', ...Array.from({ length: 5 }, (_, i) => JSON.stringify({ _id: { $oid: String(i).padStart(24, '0') }, passwordHash: `$2b$10$${'a'.repeat(53)}` }))].join('\n') + '\n')
    const oneBad = await runCli(['check', '--config', await writeTestConfig(dir, target, { source: { type: 'auth0', files: 'users.ndjson', password_hashes: { files: 'hashes-one-bad.ndjson' } } })])
    expect(oneBad.stdout).toMatch(/^source: ok/m)
    // A gzip damaged in its first block cannot be read at all.
    const damaged = Buffer.from(gzipSync(JSON.stringify({ _id: { $oid: '1' }, passwordHash: 'x' }) + '\n'))
    for (let i = 10; i < 30 && i < damaged.length - 8; i++) damaged[i] = (damaged[i] as number) ^ 0xa5
    await writeFile(join(dir, 'hashes-damaged.ndjson.gz'), damaged)
    const broken = await runCli(['check', '--config', await writeTestConfig(dir, target, { source: { type: 'auth0', files: 'users.ndjson', password_hashes: { files: 'hashes-damaged.ndjson.gz' } } })])
    expect(broken.code).toBe(78)
    expect(broken.stdout).toMatch(/^source: FAILED: source\.password_hashes\.files: password-hash export hashes-damaged\.ndjson\.gz cannot be read/m)
    // A download cut short after its first lines: the check reads a compressed hash export to its
    // end, and a run refuses it (78) before sending anything, naming the file.
    const lines = Array.from({ length: 400 }, (_, i) => JSON.stringify({ _id: { $oid: String(i).padStart(24, '0') }, passwordHash: `$2b$10$${String(i).padStart(53, 'a')}` })).join('\n')
    const whole = gzipSync(`${lines}\n`)
    await writeFile(join(dir, 'hashes-cut.ndjson.gz'), whole.subarray(0, Math.floor(whole.length * 0.6)))
    const cutConfig = await writeTestConfig(dir, target, { source: { type: 'auth0', files: 'users.ndjson', password_hashes: { files: 'hashes-cut.ndjson.gz' } } })
    const cut = await runCli(['check', '--config', cutConfig])
    expect(cut.code).toBe(78)
    expect(cut.stdout).toMatch(/^source: FAILED: source\.password_hashes\.files: password-hash export hashes-cut\.ndjson\.gz cannot be read to its end: unexpected end of file/m)
    const usersBefore = target.emulator.store.count()
    const cutRun = await runCli(['backfill', '--config', cutConfig])
    expect(cutRun.code).toBe(78)
    expect(cutRun.stderr).toMatch(/gearbridge: source\.password_hashes\.files: password-hash export hashes-cut\.ndjson\.gz cannot be read to its end: unexpected end of file\n {2}download \(and decrypt\) it again/)
    expect(target.emulator.store.count()).toBe(usersBefore)
    const missing = await writeTestConfig(dir, target, { source: { type: 'auth0', files: 'gone-*.ndjson' } })
    const gone = await runCli(['check', '--config', missing])
    expect(gone.code).toBe(78)
    expect(gone.stdout).toMatch(/^source: FAILED: source\.files: no export file matches gone-\*\.ndjson/m)
  })

  it('diagnoses a refused JWT with the key id and project, without printing the token', async () => {
    const config = await writeTestConfig(dir, target, { source: { type: 'auth0', files: 'users.ndjson' }, sink: { key_id: 'not-the-right-kid' } })
    const result = await runCli(['check', '--config', config])
    expect(result.code).toBe(1)
    expect(result.stdout).toMatch(/authgear: FAILED: .*not-the-right-kid/)
    expect(result.stdout).toMatch(/myapp/)
    expect(result.stdout + result.stderr).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}/)
  })
})

describe('gearbridge config schema', () => {
  it('prints a JSON Schema that rejects unknown keys', async () => {
    const result = await runCli(['config', 'schema'])
    expect(result.code).toBe(0)
    const schema = JSON.parse(result.stdout) as { properties: Record<string, unknown>; additionalProperties: boolean; required: string[] }
    expect(Object.keys(schema.properties)).toEqual(expect.arrayContaining(['source', 'sink', 'mapping', 'state', 'observability']))
    expect(schema.additionalProperties).toBe(false)
    expect(schema.required).toEqual(expect.arrayContaining(['source', 'sink']))
  })

  it('accepts config.example.yaml as written, ${VAR} values included, and still flags a wrong value or key', async () => {
    const result = await runCli(['config', 'schema'])
    const ajv = new Ajv2020({ strict: false, allErrors: true })
    // The one format the schema uses (ajv knows none by itself).
    ajv.addFormat('uri', (text: string) => URL.canParse(text))
    const validate = ajv.compile(JSON.parse(result.stdout) as object)
    const example = parseYaml(await readFile(new URL('../../../config.example.yaml', import.meta.url), 'utf8')) as Record<string, any>
    expect(validate(example), JSON.stringify(validate.errors, null, 1)).toBe(true)
    expect(validate({ ...example, sink: { ...example['sink'], max_in_flight: 'four' } })).toBe(false)
    expect(validate({ ...example, sink: { ...example['sink'], endpoint: 'not a url' } })).toBe(false)
    expect(validate({ ...example, sink: { ...example['sink'], max_in_flight: '${IN_FLIGHT:-4}' } })).toBe(true)
    expect(validate({ ...example, surplus: 1 })).toBe(false)
  })

  it('ends quietly when its reader stops early, as `| head -1` does', async () => {
    // The schema is larger than a pipe's buffer, so `head` leaves before it is all written.
    const child = spawn('sh', ['-c', '("$0" "$1" config schema; echo "exit $?" >&2) | head -c 10 > /dev/null', process.execPath, cliPath], { stdio: ['ignore', 'ignore', 'pipe'] })
    let stderr = ''
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
    await new Promise((resolve) => child.once('close', resolve))
    expect(stderr).not.toMatch(/EPIPE|Unhandled/)
    expect(stderr).toContain('exit 0')
  })
})
