import { afterEach, describe, expect, it } from 'vitest'
import { emailRecords, startHarness, type Harness } from './harness.ts'

let h: Harness | undefined
afterEach(async () => {
  await h?.close()
  h = undefined
})

describe('import job lifecycle', () => {
  it('returns a pending job, then a completed one with summary and sorted details', async () => {
    h = await startHarness({ record_delay_ms: 2 })
    const records = [...emailRecords(250), { email: 'bad@example.com', middle_name: '' }]
    const post = await h.importUsers({ identifier: 'email', records })
    expect(post.status).toBe(200)
    const job = post.json.result
    expect(Object.keys(job)).toEqual(['id', 'created_at', 'status'])
    expect(job.id).toMatch(/^userimport_[0-9A-HJKMNP-TV-Z]{32}$/)
    expect(job.status).toBe('pending')
    expect(job.created_at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/)

    const pending = await h.call('GET', `/_api/admin/users/import/${job.id}`)
    expect(pending.json.result).toEqual(job)

    const done = await h.waitForJob(job.id)
    expect(Object.keys(done)).toEqual(['id', 'created_at', 'completed_at', 'status', 'summary', 'details'])
    expect(done.summary).toEqual({ total: 251, inserted: 250, updated: 0, skipped: 0, failed: 1 })
    expect(done.details.map((d: { index: number }) => d.index)).toEqual([...Array(251).keys()])
    expect(done.details[0]).toEqual({
      index: 0,
      record: { email: 'user0@example.com', email_verified: true },
      outcome: 'inserted',
      user_id: expect.stringMatching(/^[0-9a-f-]{36}$/),
    })
    expect(done.details[250]).toEqual({
      index: 250,
      record: { email: 'bad@example.com', middle_name: '' },
      outcome: 'failed',
      errors: [
        {
          name: 'Invalid',
          reason: 'ValidationFailed',
          message: 'invalid value',
          code: 400,
          info: { causes: [{ location: '/middle_name', kind: 'minLength', details: { actual: 0, expected: 1 } }] },
        },
      ],
    })
    expect(h.emulator.store.count()).toBe(250)
    expect(h.emulator.store.findByLoginId('email', 'USER7@example.com')?.email?.verified).toBe(true)
  })

  it('stores an unpaired surrogate escape as U+FFFD, as Go\'s JSON decoder does', async () => {
    h = await startHarness()
    const body = '{"identifier":"email","records":[{"email":"half@example.com","given_name":"Zo\\ud800","family_name":"Ng\\ud83d\\ude00"}]}'
    const post = await h.call('POST', '/_api/admin/users/import', { body })
    const done = await h.waitForJob(post.json.result.id)
    expect(done.details[0].outcome).toBe('inserted')
    expect(h.emulator.store.findByLoginId('email', 'half@example.com')?.standard).toMatchObject({ given_name: 'Zo\ufffd', family_name: 'Ng😀' })
  })

  it('fails an e-mail login ID over 320 bytes, as Authgear\'s login-ID check does', async () => {
    h = await startHarness()
    const domain = `${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(63)}.${'e'.repeat(61)}.com`
    const long = `${'a'.repeat(321 - 1 - domain.length)}@${domain}`
    const post = await h.importUsers({ identifier: 'email', records: [{ email: long }, { email: `${'a'.repeat(320 - 1 - domain.length)}@${domain}` }] })
    const done = await h.waitForJob(post.json.result.id)
    expect(done.details[0]).toMatchObject({ outcome: 'failed', errors: [{ reason: 'ValidationFailed', info: { causes: [{ kind: 'maxLength', details: { actual: 321, expected: 320 } }] } }] })
    expect(done.details[1].outcome).toBe('inserted')
  })

  it('skips existing users without upsert and updates them with it', async () => {
    h = await startHarness()
    const first = await h.importUsers({ identifier: 'email', records: [{ email: 'a@example.com', given_name: 'A' }] })
    const inserted = await h.waitForJob(first.json.result.id)
    const userId = inserted.details[0].user_id

    const again = await h.importUsers({ identifier: 'email', records: [{ email: 'a@example.com', given_name: 'B' }] })
    const skipped = await h.waitForJob(again.json.result.id)
    expect(skipped.details[0]).toMatchObject({
      outcome: 'skipped',
      user_id: userId,
      warnings: [{ message: 'skipping because upsert = false and user exists' }],
    })

    const upsert = await h.importUsers({
      identifier: 'email',
      upsert: true,
      records: [{ email: 'a@example.com', given_name: 'C', password: { type: 'bcrypt', password_hash: 'x' } }],
    })
    const updated = await h.waitForJob(upsert.json.result.id)
    expect(updated.details[0]).toEqual({
      index: 0,
      record: { email: 'a@example.com', given_name: 'C', password: { password_hash: 'REDACTED', type: 'bcrypt' } },
      outcome: 'updated',
      user_id: userId,
    })
    expect(h.emulator.store.get(userId)?.standard?.given_name).toBe('C')
  })

  it('fails an un-normalized duplicate with InvariantViolated / DuplicatedIdentity', async () => {
    h = await startHarness()
    await h.waitForJob((await h.importUsers({ identifier: 'email', records: [{ email: 'john@example.com' }] })).json.result.id)
    const post = await h.importUsers({ identifier: 'email', upsert: true, records: [{ email: 'John@Example.com' }] })
    const done = await h.waitForJob(post.json.result.id)
    expect(done.details[0].outcome).toBe('failed')
    expect(done.details[0].errors[0]).toMatchObject({
      name: 'Invalid',
      reason: 'InvariantViolated',
      message: 'identity already exists',
      code: 400,
      info: { cause: { kind: 'DuplicatedIdentity' }, IdentityTypeIncoming: 'login_id', LoginIDTypeIncoming: 'email' },
    })
    expect(h.emulator.store.count()).toBe(1)
  })

  it('answers 404 TaskNotFound for unknown ids and after the TTL', async () => {
    h = await startHarness({ job_ttl_seconds: 0.3 })
    const unknown = await h.call('GET', '/_api/admin/users/import/userimport_00000000000000000000000000000000')
    expect(unknown.status).toBe(404)
    expect(unknown.json).toEqual({ error: { name: 'NotFound', reason: 'TaskNotFound', message: 'task not found', code: 404 } })
    const post = await h.importUsers({ identifier: 'email', records: emailRecords(1) })
    const id = post.json.result.id
    await h.waitForJob(id)
    await new Promise((r) => setTimeout(r, 400))
    const expired = await h.call('GET', `/_api/admin/users/import/${id}`)
    expect(expired.status).toBe(404)
    expect(expired.json.error.reason).toBe('TaskNotFound')
  })

  it('keeps an export task for the TTL after it completed, not after it was created', async () => {
    h = await startHarness({ job_ttl_seconds: 2, export: { delay_ms: 1000 } })
    const created = Date.now()
    const post = await h.call('POST', '/_api/admin/users/export', { body: JSON.stringify({ format: 'ndjson' }) })
    expect(post.status).toBe(200)
    const id = post.json.result.id as string
    const get = () => h!.call('GET', `/_api/admin/users/export/${id}`)
    while ((await get()).json.result.status !== 'completed') await new Promise((r) => setTimeout(r, 50))
    const completed = Date.now()
    // Past the TTL counted from creation, within the TTL counted from completion: still there.
    await new Promise((r) => setTimeout(r, Math.max(0, created + 2400 - Date.now())))
    const kept = await get()
    expect(kept.status).toBe(200)
    expect(kept.json.result.status).toBe('completed')
    await new Promise((r) => setTimeout(r, Math.max(0, completed + 2300 - Date.now())))
    expect((await get()).status).toBe(404)
  })

  it('completes a job whose chunk met a null identifier with a top-level error and without that chunk', async () => {
    h = await startHarness()
    const records = [...emailRecords(150), { email: null }, ...emailRecords(10, 'tail')]
    const post = await h.importUsers({ identifier: 'email', records })
    const done = await h.waitForJob(post.json.result.id)
    expect(done.status).toBe('completed')
    expect(done.error).toEqual({ name: 'InternalError', reason: 'UnexpectedError', message: 'unexpected error occurred', code: 500 })
    expect(done.summary).toEqual({ total: 100, inserted: 100, updated: 0, skipped: 0, failed: 0 })
    expect(done.details.at(-1).index).toBe(99)
    // Records before the crash point in the crashed chunk stay committed.
    expect(h.emulator.store.count()).toBe(150)
    expect(h.emulator.store.findByLoginId('email', 'tail0@example.com')).toBeUndefined()
  })

  it('gives the crashed chunk\'s error while other chunks are still pending', async () => {
    h = await startHarness({ workers: 1, record_delay_ms: 20 })
    const post = await h.importUsers({ identifier: 'email', records: [{ email: null }, ...emailRecords(150, 'later')] })
    const id = post.json.result.id as string
    let poll = await h.call('GET', `/_api/admin/users/import/${id}`)
    while (poll.json.result.error === undefined && poll.json.result.status === 'pending') poll = await h.call('GET', `/_api/admin/users/import/${id}`)
    expect(poll.json.result.status).toBe('pending')
    expect(Object.keys(poll.json.result)).toEqual(['id', 'created_at', 'status', 'error'])
    expect(poll.json.result.error).toMatchObject({ reason: 'UnexpectedError', code: 500 })
    // Go's json.Encoder ends every envelope with a newline.
    expect(poll.text.endsWith('}}\n')).toBe(true)
  })

  it('leaves out the echo of an empty record and keeps a failed record\'s warnings before its errors', async () => {
    h = await startHarness()
    const post = await h.importUsers({ identifier: 'email', records: [{}, { email: 'w@example.com', email_verified: false, roles: ['nope'] }] })
    const done = await h.waitForJob(post.json.result.id)
    expect(Object.keys(done.details[0])).toEqual(['index', 'outcome', 'errors'])
    expect(Object.keys(done.details[1])).toEqual(['index', 'record', 'outcome', 'warnings', 'errors'])
    expect(done.details[1].warnings).toEqual([{ message: 'email_verified = false has no effect in insert.' }])
    expect(done.details[1].errors[0].reason).toBe('RoleUnknownKeys')
  })

  it('processes a chunk in order but lets duplicates in different chunks race', async () => {
    h = await startHarness({ workers: 2, record_delay_ms: 1 })
    const same = [{ email: 'same@example.com' }, { email: 'same@example.com' }]
    const inChunk = await h.waitForJob((await h.importUsers({ identifier: 'email', records: same })).json.result.id)
    expect(inChunk.details.map((d: { outcome: string }) => d.outcome)).toEqual(['inserted', 'skipped'])

    const first = emailRecords(100, 'race')
    const post = await h.importUsers({ identifier: 'email', records: [...first, ...first] })
    const done = await h.waitForJob(post.json.result.id)
    const secondChunk = done.details.slice(100)
    const racedFailures = secondChunk.filter((d: { outcome: string }) => d.outcome === 'failed')
    // Both chunks ran side by side, so some second copies lost the race at insert time.
    expect(racedFailures.length).toBeGreaterThan(0)
    for (const d of racedFailures) expect(d.errors[0].info.cause.kind).toBe('DuplicatedIdentity')
    expect(done.summary.inserted).toBe(100)
    expect(h.emulator.store.count()).toBe(101)
  })
})
