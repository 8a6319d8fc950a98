import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { AdminTokenSigner } from '../../../connectors/authgear/token.ts'
import type { UserStore } from '../../../src/emulator/user-store.ts'
import { startTestEmulator, type TestEmulator } from '../../support/emulator-harness.ts'
import { runCli } from '../../support/run-cli.ts'
import { readNdjson, writeTestConfig } from '../../support/write-config.ts'

const bcrypt = (c: string) => `$2b$10$${c.repeat(53).slice(0, 53)}`
const db = (id: string) => ({ identities: [{ connection: 'Username-Password-Authentication', provider: 'auth0', user_id: id, isSocial: false }] })
const id = (n: number) => String(n).padStart(24, '0')

const users = [
  { user_id: `auth0|${id(1)}`, email: 'Ann@Example.com', email_verified: true, name: 'Ann Lee', given_name: 'Ann', app_metadata: { roles: ['member'], plan: 'pro' }, ...db(id(1)) },
  { user_id: `auth0|${id(2)}`, email: 'bob@example.com', name: 'Bob Stone', ...db(id(2)) },
  { user_id: `auth0|${id(3)}`, email: 'cy@example.com', blocked: true, ...db(id(3)) },
  { user_id: 'sms|1', phone_number: '+14155550101', phone_verified: true },
  { user_id: `auth0|${id(5)}`, username: 'dana', name: 'Dana', ...db(id(5)) },
  { user_id: `auth0|${id(6)}`, email: 'eve@example.com', nickname: 'eve', ...db(id(6)) },
  { user_id: `auth0|${id(7)}`, name: 'Nobody To Log In', ...db(id(7)) },
]
const hashes = [{ _id: { $oid: id(1) }, email: 'ann@example.com', passwordHash: bcrypt('a'), connection: 'Username-Password-Authentication' }]

let dir: string
let target: TestEmulator
let config: string

const summaryCount = (stdout: string, label: string) => Number(new RegExp(`^\\s+${label}\\s+(\\d+)`, 'm').exec(stdout)?.[1])

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gb-reconcile-'))
  await writeFile(join(dir, 'users.ndjson'), users.map((u) => JSON.stringify(u)).join('\n'))
  await writeFile(join(dir, 'hashes.ndjson'), hashes.map((h) => JSON.stringify(h)).join('\n'))
  target = await startTestEmulator(dir, { roles: ['member'], custom_attributes: [{ name: 'plan', type: 'string' }] })
  config = await writeTestConfig(dir, target, {
    source: { type: 'auth0', files: 'users.ndjson', password_hashes: { files: 'hashes.ndjson' } },
    mapping: { custom_attributes: { plan: 'app_metadata.plan' } },
    reconcile: { threshold: 0 },
  })
  const backfill = await runCli(['backfill', '--config', config])
  expect(backfill.code).toBe(3) // the user without a login is dead-lettered
}, 60_000)

afterAll(async () => {
  await target?.emulator.close()
  await rm(dir, { recursive: true, force: true })
})

describe('gearbridge reconcile', () => {
  it('reports zero differences after a correct backfill, and exits 0', async () => {
    const metricsOut = join(dir, 'metrics.prom')
    const result = await runCli(['reconcile', '--config', config, '--metrics-out', metricsOut])
    expect(result.stderr).not.toMatch(/"level":50/)
    expect(result.code).toBe(0)
    expect(summaryCount(result.stdout, 'authgear users')).toBe(6)
    expect(summaryCount(result.stdout, 'matched')).toBe(6)
    expect(summaryCount(result.stdout, 'differences')).toBe(0)
    expect(summaryCount(result.stdout, 'not importable')).toBe(1)
    expect(summaryCount(result.stdout, 'password not verifiable')).toBe(1)
    const findings = await readNdjson(join(dir, 'state', 'test.reconcile.ndjson'))
    expect(findings).toEqual([expect.objectContaining({ kind: 'not_importable', source_key: `auth0|${id(7)}` })])
    // Worded as the record's dead letter is: its origin first.
    expect(findings[0]?.['message']).toMatch(new RegExp(`^${String(findings[0]?.['origin']).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: `))
    const metrics = await readFile(metricsOut, 'utf8')
    expect(metrics).toContain('gearbridge_reconcile_passed 1')
    expect(metrics).toContain('gearbridge_reconcile_matched_users_total 6')
    // The scratch space is gone: no export, no run files, no empty directories.
    expect(existsSync(join(dir, 'state', 'reconcile-work'))).toBe(false)
    // The findings quote users' emails, names and phones: readable by their owner only.
    expect((await stat(join(dir, 'state', 'test.reconcile.ndjson'))).mode & 0o777).toBe(0o600)
  })

  it('removes only what it created from a work_dir holding other files, and keeps the export under the config name', async () => {
    const work = join(dir, 'project')
    await mkdir(join(work, 'source'), { recursive: true })
    await mkdir(join(work, 'authgear'), { recursive: true })
    await writeFile(join(work, 'source', 'important.txt'), 'mine')
    await writeFile(join(work, 'authgear', 'notes.md'), 'mine too')
    const kept = await writeTestConfig(dir, target, {
      name: 'kept',
      source: { type: 'auth0', files: 'users.ndjson', password_hashes: { files: 'hashes.ndjson' } },
      mapping: { custom_attributes: { plan: 'app_metadata.plan' } },
      reconcile: { threshold: 0, work_dir: work, keep_export: true },
    }, 'kept.yaml')
    // What a run killed outright left behind is cleared by the next run of the same config.
    await mkdir(join(work, 'kept.reconcile-abc123'))
    await writeFile(join(work, 'kept.reconcile-abc123', 'run-1.txt'), 'email:someone@example.com\n')
    const result = await runCli(['reconcile', '--config', kept])
    expect(result.code, result.stderr).toBe(0)
    expect(await readFile(join(work, 'source', 'important.txt'), 'utf8')).toBe('mine')
    expect(await readFile(join(work, 'authgear', 'notes.md'), 'utf8')).toBe('mine too')
    expect((await readdir(work)).sort()).toEqual(['authgear', 'kept.authgear-export.ndjson', 'source'])
  })

  it('removes the whole-project download a run killed outright left, also when the next run compares a file of its own', async () => {
    const work = join(dir, 'state', 'reconcile-work')
    await mkdir(work, { recursive: true })
    await writeFile(join(work, 'test.authgear-export.ndjson'), '{"sub":"left","mfa":{"totps":[{"secret":"JBSWY3DPEHPK3PXP"}]}}\n')
    await writeFile(join(work, 'test.authgear-export.ndjson.part'), '{"sub":"half')
    const own = join(dir, 'own-export.ndjson')
    const fresh = await runCli(['reconcile', '--config', config])
    expect(fresh.code, fresh.stderr).toBe(0)
    await mkdir(work, { recursive: true })
    await writeFile(join(work, 'test.authgear-export.ndjson'), '{"sub":"left"}\n')
    await writeFile(own, '')
    const withFile = await runCli(['reconcile', '--config', config, '--export-file', own])
    expect(withFile.code).toBe(4)
    expect(existsSync(join(work, 'test.authgear-export.ndjson'))).toBe(false)
    expect(existsSync(join(work, 'test.authgear-export.ndjson.part'))).toBe(false)
    expect(await readFile(own, 'utf8')).toBe('')
    // The file given to compare is never removed, even named through a symlink to the work dir.
    await mkdir(work, { recursive: true })
    await writeFile(join(work, 'test.authgear-export.ndjson'), '')
    await symlink(work, join(dir, 'work-link'))
    const viaLink = await runCli(['reconcile', '--config', config, '--export-file', join(dir, 'work-link', 'test.authgear-export.ndjson')])
    expect(viaLink.code, viaLink.stderr).toBe(4)
    expect(existsSync(join(work, 'test.authgear-export.ndjson'))).toBe(true)
    await rm(join(work, 'test.authgear-export.ndjson'))
    await rm(join(dir, 'work-link'))
    // The summary says when the export compared was taken.
    expect(fresh.stdout).toMatch(/^ {2}export of Authgear completed at \d{4}-\d{2}-\d{2}T/m)
  })

  it('refuses a source that matches no file (exit 78) before an export task spends export quota', async () => {
    target.emulator.quota.setLimits('user_export', [{ quota: 1_000, period: 'day' }])
    const before = target.emulator.quota.used('user_export', 'day')
    const broken = await writeTestConfig(dir, target, { name: 'broken', source: { type: 'auth0', files: 'moved-*.ndjson' } }, 'broken.yaml')
    const result = await runCli(['reconcile', '--config', broken])
    expect(result.code, result.stderr).toBe(78)
    expect(result.stderr).toContain('source.files: no export file matches moved-*.ndjson')
    expect(target.emulator.quota.used('user_export', 'day')).toBe(before)
    target.emulator.quota.setLimits('user_export', [])
  })

  it('after deliberate damage reports exactly the deleted, renamed, disabled and extra users, and exits 4', async () => {
    const store = target.emulator.store as UserStore
    store.delete(store.findByLoginId('email', 'eve@example.com')!)
    store.findByLoginId('email', 'bob@example.com')!.standard!['name'] = 'Robert Stone'
    store.findByLoginId('username', 'dana')!.status = 'disabled'
    // A login ID and a name the source does not have (its profile has no phone and no family name):
    // an insert leaves them unset, so Authgear holding them is a difference.
    const bob = store.findByLoginId('email', 'bob@example.com')!
    store.setLoginId(bob, 'phone', '+14155550199', false)
    bob.standard!['family_name'] = 'Stone'
    const signer = new AdminTokenSigner({ projectId: 'myapp', keyId: target.keyId, privateKeyPem: target.privateKeyPem })
    const res = await fetch(`${target.emulator.url}/_api/admin/users/import`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await signer.token()}`, 'content-type': 'application/json' },
      body: JSON.stringify({ identifier: 'email', records: [{ email: 'intruder@example.com' }] }),
    })
    expect(res.status).toBe(200)
    for (let i = 0; i < 100 && !store.findByLoginId('email', 'intruder@example.com'); i++) await new Promise((r) => setTimeout(r, 20))

    const result = await runCli(['reconcile', '--config', config])
    expect(result.code).toBe(4)
    expect(summaryCount(result.stdout, 'differences')).toBe(4)
    expect(result.stdout).toContain('FAIL')
    const findings = (await readNdjson(join(dir, 'state', 'test.reconcile.ndjson'))).filter((f) => f.kind !== 'not_importable')
    const intruder = store.findByLoginId('email', 'intruder@example.com')!
    expect(findings).toEqual([
      { kind: 'field_mismatch', key: 'email:bob@example.com', user_id: store.findByLoginId('email', 'bob@example.com')!.id, source_key: `auth0|${id(2)}`, origin: expect.any(String), fields: [{ field: 'phone_number', expected: null, actual: '+14155550199' }, { field: 'name', expected: 'Bob Stone', actual: 'Robert Stone' }, { field: 'family_name', expected: null, actual: 'Stone' }] },
      { kind: 'missing_in_authgear', key: 'email:eve@example.com', source_key: `auth0|${id(6)}`, origin: expect.any(String) },
      { kind: 'extra_in_authgear', key: 'email:intruder@example.com', user_id: intruder.id },
      { kind: 'field_mismatch', key: 'preferred_username:dana', user_id: store.findByLoginId('username', 'dana')!.id, source_key: `auth0|${id(5)}`, origin: expect.any(String), fields: [{ field: 'disabled', expected: false, actual: true }] },
    ])
  })

  it('passes the same damage under a threshold of 4', async () => {
    const lenient = await writeTestConfig(dir, target, {
      source: { type: 'auth0', files: 'users.ndjson', password_hashes: { files: 'hashes.ndjson' } },
      mapping: { custom_attributes: { plan: 'app_metadata.plan' } },
      reconcile: { threshold: 4 },
    })
    const result = await runCli(['reconcile', '--config', lenient])
    expect(result.code).toBe(0)
    expect(result.stdout).toContain('threshold 4: PASS')
  })

  it('leaves no summary or report behind when a run fails, so an earlier PASS is not read as its verdict', async () => {
    const summary = join(dir, 'state', 'test.reconcile-summary.txt')
    const report = join(dir, 'state', 'test.reconcile.ndjson')
    expect(await readFile(summary, 'utf8')).toMatch(/threshold/)
    expect(await readFile(report, 'utf8')).toMatch(/missing_in_authgear/)
    const csv = join(dir, 'export.csv')
    await writeFile(csv, 'sub,email\nu1,a@example.com\n')
    const result = await runCli(['reconcile', '--config', config, '--export-file', csv])
    expect(result.code).toBe(1)
    expect(result.stderr).toContain(`${csv}:1: not valid JSON`)
    await expect(readFile(summary, 'utf8')).rejects.toMatchObject({ code: 'ENOENT' })
    await expect(readFile(report, 'utf8')).rejects.toMatchObject({ code: 'ENOENT' })
    // It found nothing before it stopped: no empty partial report is left, nor pointed at.
    expect(result.stderr).not.toContain('.partial')
    expect(existsSync(`${report}.partial`)).toBe(false)
  })
})
