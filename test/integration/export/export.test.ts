import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { AdminApiClient } from '../../../connectors/authgear/client.ts'
import { ExportApi } from '../../../connectors/authgear/export-api.ts'
import { ExportClient } from '../../../connectors/authgear/export-client.ts'
import { AdminTokenSigner } from '../../../connectors/authgear/token.ts'
import { ExportTaskMemo } from '../../../src/runtime/export-task-memo.ts'
import { startTestEmulator, type TestEmulator } from '../../support/emulator-harness.ts'
import { runCli, startCli } from '../../support/run-cli.ts'
import { writeTestConfig } from '../../support/write-config.ts'

let dir: string
let target: TestEmulator
let config: string

const users = [
  { email: 'ann@example.com', email_verified: true, given_name: 'Ann', family_name: 'Lee', roles: ['member'], custom_attributes: { plan: 'pro' } },
  { email: 'bob@example.com', name: 'Bob, "the builder"', address: { locality: 'Oslo' }, disabled: true },
  { email: 'cy@example.com', preferred_username: 'cy', phone_number: '+14155550123', phone_number_verified: true },
]

async function importUsers(t: TestEmulator): Promise<void> {
  const signer = new AdminTokenSigner({ projectId: 'myapp', keyId: t.keyId, privateKeyPem: t.privateKeyPem })
  const res = await fetch(`${t.emulator.url}/_api/admin/users/import`, {
    method: 'POST',
    headers: { authorization: `Bearer ${await signer.token()}`, 'content-type': 'application/json' },
    body: JSON.stringify({ identifier: 'email', records: users }),
  })
  expect(res.status).toBe(200)
  for (let i = 0; i < 100 && t.emulator.store.count() < users.length; i++) await new Promise((r) => setTimeout(r, 20))
}

function client(t: TestEmulator): ExportClient {
  const signer = new AdminTokenSigner({ projectId: 'myapp', keyId: t.keyId, privateKeyPem: t.privateKeyPem })
  const api = new ExportApi(new AdminApiClient({ endpoint: t.emulator.url, projectId: 'myapp', signer, timeoutMs: 5000, retry: { maxAttempts: 2, baseMs: 10, maxMs: 50 } }))
  return new ExportClient(api, { pollInitialMs: 10, pollMaxMs: 50, downloadTimeoutMs: 5000 })
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gb-export-'))
  target = await startTestEmulator(dir, {
    roles: ['member'],
    custom_attributes: [{ name: 'plan', type: 'string' }],
    export: { delay_ms: 50, download_url_ttl_seconds: 0.3 },
  })
  await importUsers(target)
  config = await writeTestConfig(dir, target, { source: { type: 'auth0', files: 'none.ndjson' } })
})

afterAll(async () => {
  await target?.emulator.close()
  await rm(dir, { recursive: true, force: true })
})

describe('gearbridge export', () => {
  it('writes the ndjson export with every user the emulator holds, in creation order', async () => {
    const out = join(dir, 'users.ndjson')
    // An earlier export left readable by anyone is replaced by one only its owner can read (it holds PII and TOTP secrets).
    await writeFile(out, 'old\n', { mode: 0o644 })
    const result = await runCli(['export', '--config', config, '--format', 'ndjson', '--out', out])
    expect(result.stderr).not.toMatch(/"level":50/)
    expect(result.code).toBe(0)
    expect(result.stdout).toMatch(/^export userexport_\w{32}: \d+ bytes of ndjson written to /)
    expect((await stat(out)).mode & 0o777).toBe(0o600)
    const lines = (await readFile(out, 'utf8')).split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>)
    const held = [...target.emulator.store.list()]
    expect(lines.map((l) => l.sub)).toEqual(held.map((u) => u.id))
    expect(lines.map((l) => l.email)).toEqual(['ann@example.com', 'bob@example.com', 'cy@example.com'])
    const [ann, bob, cy] = lines
    expect(Object.keys(ann!)).toEqual([
      'sub', 'email', 'email_verified', 'phone_number_verified', 'given_name', 'family_name', 'address', 'custom_attributes', 'roles',
      'created_at', 'disabled', 'is_anonymized', 'identities', 'mfa', 'biometric_count', 'passkey_count',
    ])
    expect(ann).toMatchObject({ email_verified: true, roles: ['member'], custom_attributes: { plan: 'pro' }, address: {}, mfa: {} })
    expect(bob).toMatchObject({ disabled: true, name: 'Bob, "the builder"', address: { locality: 'Oslo' } })
    expect(cy).toMatchObject({ preferred_username: 'cy', phone_number: '+14155550123', phone_number_verified: true })
    expect(cy!.identities).toContainEqual({ type: 'login_id', login_id: { key: 'username', type: 'username', value: 'cy', original_value: 'cy' }, claims: { preferred_username: 'cy' } })
  })

  it('picks up the task a stopped run started instead of starting another, and forgets it once downloaded', async () => {
    const memo = new ExportTaskMemo(join(dir, 'state', 'test.export-task.json'))
    const request = { format: 'ndjson' as const }
    const stop = new AbortController()
    const c = client(target)
    try {
      // Stopped while Authgear is still exporting: the task is remembered.
      const stopped = await c.exportTo(request, join(dir, 'resumed.ndjson'), { onPoll: () => stop.abort() }, stop.signal, memo).catch((e: unknown) => e)
      expect(stopped).toBeInstanceOf(Error)
      const started = await memo.load(request)
      expect(started).toMatch(/^userexport_/)
      // Another request does not match it, and an export of another request meanwhile keeps it.
      expect(await memo.load({ format: 'csv' })).toBeUndefined()
      const csv = await c.exportTo({ format: 'csv' }, join(dir, 'between.csv'), {}, undefined, memo)
      expect(csv.task.id).not.toBe(started)
      expect(await memo.load(request)).toBe(started)
      const { task, bytes } = await c.exportTo(request, join(dir, 'resumed.ndjson'), {}, undefined, memo)
      expect(task.id).toBe(started)
      expect(bytes).toBeGreaterThan(0)
      expect(await memo.load(request)).toBeUndefined()
    } finally {
      await c.close()
    }
  })

  it('does not use a picked-up task that completed longer ago than the memo allows (reconcile): it starts a new one', async () => {
    const path = join(dir, 'state', 'test.reconcile-export-task.json')
    const request = { format: 'ndjson' as const }
    const c = client(target)
    try {
      const first = await c.exportTo(request, join(dir, 'first.ndjson'), {}, undefined, new ExportTaskMemo(path))
      // As a stopped reconcile leaves it: the task saved, completed since.
      await new ExportTaskMemo(path).save(first.task.id, request)
      const later = Date.parse(first.task.completed_at!) + 16 * 60_000
      const strict = new ExportTaskMemo(path, { completedWithinMs: 15 * 60_000 })
      expect(strict.current(first.task, later)).toBe(false)
      expect(strict.current(first.task, Date.parse(first.task.completed_at!) + 60_000)).toBe(true)
      // Fresh enough: the same task is used.
      const again = await c.exportTo(request, join(dir, 'again.ndjson'), {}, undefined, strict)
      expect(again.task.id).toBe(first.task.id)
      // Too old: a new task, whose export holds Authgear as it is now.
      await new ExportTaskMemo(path).save(first.task.id, request)
      const stale = { load: (r: unknown) => strict.load(r), save: (id: string, r: unknown) => strict.save(id, r), clear: (r: unknown) => strict.clear(r), current: (task: { completed_at?: string }) => strict.current(task, later) }
      const renewed = await c.exportTo(request, join(dir, 'renewed.ndjson'), {}, undefined, stale)
      expect(renewed.task.id).not.toBe(first.task.id)
      expect(await strict.load(request)).toBeUndefined()
    } finally {
      await c.close()
    }
  })

  it('writes the CSV with the default columns (no family_name, custom attributes last)', async () => {
    const out = join(dir, 'users.csv')
    // No --format: an --out ending in .csv asks for CSV.
    const result = await runCli(['export', '--config', config, '--out', out])
    expect(result.code).toBe(0)
    const text = await readFile(out, 'utf8')
    expect(text).not.toContain('\r\n')
    const [header, ann, bob] = text.split('\n')
    expect(header!.split(',')).not.toContain('family_name')
    expect(header!.startsWith('sub,preferred_username,email,phone_number,email_verified,')).toBe(true)
    expect(header!.endsWith(',biometric_count,passkey_count,custom_attributes.plan')).toBe(true)
    const annUser = target.emulator.store.findByLoginId('email', 'ann@example.com')!
    expect(ann!.startsWith(`${annUser.id},,ann@example.com,,true,false,,Ann,`)).toBe(true)
    expect(ann).toContain('"[""member""]"')
    expect(ann!.endsWith(',0,0,pro')).toBe(true)
    expect(bob).toContain(',"Bob, ""the builder""",')
  })

  it('writes the CSV with the requested columns and names', async () => {
    const out = join(dir, 'picked.csv')
    const result = await runCli(['export', '--config', config, '--format', 'csv', '--field', '/sub=user_id', '--field', '/email', '--field', '/family_name', '--field', '/roles/0', '--out', out])
    expect(result.code).toBe(0)
    const ids = [...target.emulator.store.list()].map((u) => u.id)
    expect(await readFile(out, 'utf8')).toBe(
      `user_id,email,family_name,roles.0\n${ids[0]},ann@example.com,Lee,member\n${ids[1]},bob@example.com,,\n${ids[2]},cy@example.com,,\n`,
    )
  })

  it('refuses duplicate column names and a pointer with a bad ~ escape before starting a task, exit 2, naming them', async () => {
    const dup = await runCli(['export', '--config', config, '--format', 'csv', '--field', '/email=x', '--field', '/sub=x', '--out', join(dir, 'dup.csv')])
    expect(dup.code).toBe(2)
    expect(dup.stderr).toContain('two columns would be named "x"')
    // A column without a name is named by its pointer's tokens joined with ".".
    for (const fields of [['/email', '/email'], ['/email', '/sub=email'], ['/address/formatted', '/address.formatted']]) {
      const same = await runCli(['export', '--config', config, '--format', 'csv', ...fields.flatMap((f) => ['--field', f]), '--out', join(dir, 'dup.csv')])
      expect(same.code, fields.join(' ')).toBe(2)
    }
    const tilde = await runCli(['export', '--config', config, '--format', 'csv', '--field', '/a~2b', '--out', join(dir, 'dup.csv')])
    expect(tilde.code).toBe(2)
    expect(tilde.stderr).toContain('"~" in a JSON pointer must be followed by 0')
  })

  it('refuses a command line it cannot run with exit 2 and what to change', async () => {
    for (const [args, message] of [
      [['--format', 'csv', '--field', 'email'], '--field "email": a field is a JSON pointer into the user record, starting with "/"'],
      [['--format', 'xml'], '--format must be ndjson or csv, got "xml"'],
      [['--format', 'ndjson', '--field', '/email'], '--field picks CSV columns: use it with --format csv'],
      [['--out', join(dir, 'no-such-dir', 'x.ndjson')], `the directory ${join(dir, 'no-such-dir')} does not exist`],
      [['--format', 'csv', '--field', '/email='], '--field "/email=": the column name after "=" is empty'],
      [['--out', dir], `-o ${dir}: is a directory`],
    ] as const) {
      const result = await runCli(['export', '--config', config, ...args, ...((args as readonly string[]).includes('--out') ? [] : ['--out', join(dir, 'x.out')])])
      expect(result.code, args.join(' ')).toBe(2)
      expect(result.stderr, args.join(' ')).toContain(message)
    }
  })

  it('renews an expired download URL and never sends the Admin API token to it', async () => {
    const c = client(target)
    try {
      const started = await c.start({ format: 'ndjson' })
      const done = await c.waitForCompletion(started.id)
      await new Promise((r) => setTimeout(r, 400))
      const before = target.emulator.exports.downloads.length
      const renewals: (number | undefined)[] = []
      const bytes = await c.download(done, join(dir, 'renewed.ndjson'), { onRenew: (s) => renewals.push(s) })
      const seen = target.emulator.exports.downloads.slice(before)
      expect(seen.map((d) => d.status)).toEqual([403, 200])
      expect(renewals).toEqual([403])
      expect(bytes).toBe((await readFile(join(dir, 'renewed.ndjson'))).length)
    } finally {
      await c.close()
    }
    expect(target.emulator.exports.downloads.length).toBeGreaterThan(3)
    for (const d of target.emulator.exports.downloads) expect(d.headers.authorization).toBeUndefined()
  })
})

describe('failed and refused exports', () => {
  let failing: TestEmulator
  let failingConfig: string
  let fdir: string

  beforeAll(async () => {
    fdir = await mkdtemp(join(tmpdir(), 'gb-export-fail-'))
    failing = await startTestEmulator(fdir, { export: { fail_rate: 1 }, quota: { user_export: [{ quota: 1, period: 'day' }] } })
    failingConfig = await writeTestConfig(fdir, failing, { source: { type: 'auth0', files: 'none.ndjson' } })
  })
  afterAll(async () => {
    await failing?.emulator.close()
    await rm(fdir, { recursive: true, force: true })
  })

  it('reports a task completed with error as a failure (1), then the spent quota as a stop to run again after the reset (75), reconcile too', async () => {
    const first = await runCli(['export', '--config', failingConfig, '--out', join(fdir, 'x.ndjson')])
    expect(first.code).toBe(1)
    expect(first.stderr).toMatch(/export userexport_[0-9A-Z]{32} failed: InternalError\/UnexpectedError/)
    const second = await runCli(['export', '--config', failingConfig, '--out', join(fdir, 'x.ndjson')])
    expect(second.code).toBe(75)
    expect(second.stderr).toMatch(/user_export usage quota/)
    await writeFile(join(fdir, 'none.ndjson'), `${JSON.stringify({ user_id: 'auth0|1', email: 'a@example.com' })}\n`)
    const reconcile = await runCli(['reconcile', '--config', failingConfig])
    expect(reconcile.code).toBe(75)
    expect(reconcile.stderr).toMatch(/user_export usage quota/)
    // It compared nothing: no empty partial report is left, nor pointed at.
    expect(reconcile.stderr).not.toContain('partial')
  })
})

describe('an export stopped by a signal', () => {
  it('exits 75 and the next run picks up the same task', async () => {
    const sdir = await mkdtemp(join(tmpdir(), 'gb-export-stop-'))
    // One export a day: a second task would be refused with 429, so the rerun must reuse the first.
    const slow = await startTestEmulator(sdir, { export: { delay_ms: 2_500 }, quota: { user_export: [{ quota: 1, period: 'day' }] } })
    try {
      const slowConfig = await writeTestConfig(sdir, slow, { source: { type: 'auth0', files: 'none.ndjson' } })
      const out = join(sdir, 'users.ndjson')
      const run = startCli(['export', '--config', slowConfig, '--out', out])
      // Stopped while Authgear prepares the file: the task exists, nothing is downloaded yet.
      for (let i = 0; i < 500 && slow.emulator.quota.used('user_export', 'day') === 0; i++) await new Promise((r) => setTimeout(r, 20))
      expect(slow.emulator.quota.used('user_export', 'day')).toBe(1)
      run.child.kill('SIGINT')
      const stopped = await run.done
      expect(stopped.code, stopped.stderr).toBe(75)
      expect(stopped.stderr).toContain('run the same command again to pick up its task')
      expect(stopped.stderr).not.toContain('import jobs')
      const again = await runCli(['export', '--config', slowConfig, '--out', out])
      expect(again.code, again.stderr).toBe(0)
      expect(again.stdout).toContain(`written to ${out}`)
    } finally {
      await slow.emulator.close()
      await rm(sdir, { recursive: true, force: true })
    }
  })

  it('a reconcile stopped while its export task runs says it was stopped by a signal and has no verdict (75)', async () => {
    const sdir = await mkdtemp(join(tmpdir(), 'gb-reconcile-stop-'))
    const slow = await startTestEmulator(sdir, { export: { delay_ms: 2_500 }, quota: { user_export: [{ quota: 5, period: 'day' }] } })
    try {
      await writeFile(join(sdir, 'users.ndjson'), '{"user_id":"auth0|1","email":"a@example.com"}\n')
      const slowConfig = await writeTestConfig(sdir, slow, { source: { type: 'auth0', files: 'users.ndjson' } })
      const run = startCli(['reconcile', '--config', slowConfig])
      for (let i = 0; i < 500 && slow.emulator.quota.used('user_export', 'day') === 0; i++) await new Promise((r) => setTimeout(r, 20))
      expect(slow.emulator.quota.used('user_export', 'day')).toBe(1)
      run.child.kill('SIGTERM')
      const stopped = await run.done
      expect(stopped.code, stopped.stderr).toBe(75)
      expect(stopped.stderr).toContain('Stopping: no verdict is given')
      expect(stopped.stderr).toContain('gearbridge: stopped by a signal before the reconcile had a verdict; run it again')
    } finally {
      await slow.emulator.close()
      await rm(sdir, { recursive: true, force: true })
    }
  })
})
