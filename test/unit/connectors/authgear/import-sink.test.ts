import { describe, expect, it } from 'vitest'
import { ImportSink, type ImportApi } from '../../../../connectors/authgear/import-sink.ts'
import { ApiRequestError, BodyRejectedError, RequestTooLargeError, TaskNotFoundError } from '../../../../connectors/authgear/errors.ts'
import type { ImportDetail, ImportJobView } from '../../../../connectors/authgear/import-job.ts'
import { QuotaExceededError } from '../../../../src/core/errors.ts'
import type { MappedRecord } from '../../../../src/core/mapped-record.ts'
import type { Outcome } from '../../../../src/core/outcome.ts'
import type { Logger } from '../../../../src/core/run-context.ts'
import { Metrics } from '../../../../src/observability/metrics.ts'
import { Checkpointer } from '../../../../src/runtime/checkpointer.ts'
import type { OutcomeRecorder } from '../../../../src/runtime/outcome-recorder.ts'
import { createWorkItem, type Settleable, type WorkItem } from '../../../../src/runtime/work-item.ts'

const silent: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => silent }

function items(n: number, extra: Record<string, unknown> = {}): WorkItem[] {
  const checkpointer = new Checkpointer<number>()
  const ticket = checkpointer.track(1, n)
  return Array.from({ length: n }, (_, i) => {
    const email = `u${i}@example.com`
    const mapped: MappedRecord = { identifier: 'email', identifierValue: email, record: { email, ...extra } as MappedRecord['record'], passwordAlgorithm: 'none', passwordLane: 'none', warnings: [] }
    return createWorkItem({ kind: 'data', key: `k${i}`, origin: `f:${i}`, data: {} }, mapped, ticket)
  })
}

/** A fake Admin API: jobs complete on the first poll with details from `answer`. */
class FakeApi implements ImportApi {
  readonly bodies: { records: Record<string, unknown>[] }[] = []
  submitFault: ((records: unknown[], attempt: number) => Error | undefined) | undefined
  getFault: ((id: string, polls: number) => Error | undefined) | undefined
  /** The index (or indices) of records whose 100-record chunk crashes. */
  crash: ((records: unknown[]) => number | readonly number[] | undefined) | undefined
  answer: (record: Record<string, unknown>, index: number) => Partial<ImportDetail> = () => ({ outcome: 'inserted', user_id: 'u' })
  #jobs = new Map<string, { records: Record<string, unknown>[]; polls: number }>()

  async submitImport(body: string): Promise<ImportJobView> {
    const parsed = JSON.parse(body) as { records: Record<string, unknown>[] }
    this.bodies.push(parsed)
    const fault = this.submitFault?.(parsed.records, this.bodies.length)
    if (fault) throw fault
    const id = `userimport_${this.bodies.length}`
    this.#jobs.set(id, { records: parsed.records, polls: 0 })
    return { id, created_at: 'now', status: 'pending' }
  }

  /** Polls a job answers `pending` to before it completes. */
  pendingPolls = 0

  async getImport(id: string): Promise<ImportJobView> {
    const job = this.#jobs.get(id)!
    job.polls++
    if (job.polls <= this.pendingPolls) return { id, created_at: 'now', status: 'pending' }
    const fault = this.getFault?.(id, job.polls)
    if (fault) throw fault
    const crashed = this.crash?.(job.records)
    const crashAt = crashed === undefined ? [] : typeof crashed === 'number' ? [crashed] : crashed
    const chunks = new Set(crashAt.map((index) => Math.floor(index / 100)))
    const details = job.records.map((record, index) => ({ index, outcome: 'inserted' as const, ...this.answer(record, index) }))
    return {
      id, created_at: 'now', status: 'completed',
      details: details.filter((d) => !chunks.has(Math.floor(d.index / 100))),
      ...(chunks.size === 0 ? {} : { error: { name: 'InternalError', reason: 'UnexpectedError', message: 'unexpected error occurred', code: 500 } }),
    }
  }
}

function harness(api: FakeApi, maxSends = 3) {
  const outcomes = new Map<string, Outcome>()
  const recorder = { complete: (item: Settleable, outcome: Outcome) => { outcomes.set(item.source.key, outcome); item.ticket.settle() } } as unknown as OutcomeRecorder
  const sink = new ImportSink(api, { upsert: false, pollInitialMs: 1, pollMaxMs: 2, maxSends }, { recorder, metrics: new Metrics({ defaultMetrics: false }), logger: silent })
  return { sink, outcomes }
}

describe('ImportSink', () => {
  it('maps details[index] back to each record', async () => {
    const api = new FakeApi()
    api.answer = (record, index) => (index === 1 ? { outcome: 'failed', errors: [{ name: 'Invalid', reason: 'ValidationFailed', message: 'invalid value', code: 400, info: { causes: [{ location: '/custom_attributes/plan', kind: 'type', details: { actual: 'secret-ish value' } }] } }] } : { outcome: 'inserted', user_id: `id-${String(record['email'])}` })
    const { sink, outcomes } = harness(api)
    const batch = items(3)
    await sink.run('email', batch)
    expect(outcomes.get('k0')).toMatchObject({ kind: 'inserted', userId: 'id-u0@example.com', attempts: 1 })
    // Where it was read and which field Authgear refused, as every other dead letter says; never the value.
    expect(outcomes.get('k1')).toMatchObject({ kind: 'failed', code: 'ValidationFailed', message: `${batch[1]!.source.origin}: /custom_attributes/plan: invalid value (ValidationFailed)` })
    expect(outcomes.get('k2')).toMatchObject({ kind: 'inserted', userId: 'id-u2@example.com' })
  })

  it('names a refused custom attribute by its field in the record, and keeps a failed record\'s warnings', async () => {
    const api = new FakeApi()
    // Authgear locates custom-attribute causes within the attribute map (`/age`), not the record.
    api.answer = () => ({
      outcome: 'failed',
      warnings: [{ message: 'email_verified = false has no effect in insert.' }],
      errors: [{ name: 'Invalid', reason: 'ValidationFailed', message: 'invalid value', code: 400, info: { causes: [{ location: '/age', kind: 'minimum', details: { actual: -1, expected: 0 } }, { location: '/email', kind: 'format', details: {} }] } }],
    })
    const { sink, outcomes } = harness(api)
    // `disabled` is also a record field: the cause is the attribute's all the same.
    const batch = items(1, { disabled: true, custom_attributes: { age: -1, disabled: 'gold' } })
    api.answer = () => ({
      outcome: 'failed',
      warnings: [{ message: 'email_verified = false has no effect in insert.' }],
      errors: [{ name: 'Invalid', reason: 'ValidationFailed', message: 'invalid value', code: 400, info: { causes: [{ location: '/age', kind: 'minimum', details: { actual: -1, expected: 0 } }, { location: '/disabled', kind: 'type', details: {} }, { location: '/email', kind: 'format', details: {} }] } }],
    })
    await sink.run('email', batch)
    expect(outcomes.get('k0')).toMatchObject({
      kind: 'failed',
      message: `${batch[0]!.source.origin}: /custom_attributes/age, /custom_attributes/disabled, /email: invalid value (ValidationFailed)`,
      warnings: ['email_verified = false has no effect in insert.'],
    })
  })

  it('logs a job still running after slowJobMs once, by its id, and settles it when it completes', async () => {
    const api = new FakeApi()
    api.pendingPolls = 6
    const warnings: { obj: Record<string, unknown>; msg: string }[] = []
    const logger: Logger = { ...silent, warn: (obj: Record<string, unknown>, msg: string) => warnings.push({ obj, msg }), child: () => logger }
    const outcomes = new Map<string, Outcome>()
    const recorder = { complete: (item: Settleable, outcome: Outcome) => { outcomes.set(item.source.key, outcome); item.ticket.settle() } } as unknown as OutcomeRecorder
    const sink = new ImportSink(api, { upsert: false, pollInitialMs: 2, pollMaxMs: 4, maxSends: 3, slowJobMs: 5 }, { recorder, metrics: new Metrics({ defaultMetrics: false }), logger })
    await sink.run('email', items(2))
    expect(warnings).toEqual([{ obj: { job: 'userimport_1', identifier: 'email', records: 2, seconds: expect.any(Number) }, msg: expect.stringMatching(/still running/) }])
    expect(outcomes.get('k1')).toMatchObject({ kind: 'inserted' })
  })

  it('splits a batch refused with 413 until the parts fit; a lone record that is too large fails', async () => {
    const api = new FakeApi()
    api.submitFault = (records) => (records.length > 2 ? new RequestTooLargeError('import_create', 'request body too large') : undefined)
    const { sink, outcomes } = harness(api)
    await sink.run('email', items(7))
    expect(api.bodies.filter((b) => b.records.length <= 2).flatMap((b) => b.records)).toHaveLength(7)
    expect([...outcomes.values()].every((o) => o.kind === 'inserted' && o.attempts === 1)).toBe(true)

    const lone = new FakeApi()
    lone.submitFault = () => new RequestTooLargeError('import_create', 'request body too large')
    const second = harness(lone)
    await second.sink.run('email', items(1))
    expect(second.outcomes.get('k0')).toMatchObject({ kind: 'failed', code: 'record_too_large' })

    // A proxy's lower cap, reported in info.limit, is the one the message names.
    const proxied = new FakeApi()
    proxied.submitFault = () => new RequestTooLargeError('import_create', 'request body too large', { name: 'RequestEntityTooLarge', reason: 'RequestEntityTooLarge', message: 'request body too large', code: 413, info: { limit: 65536 } })
    const third = harness(proxied)
    await third.sink.run('email', items(1))
    expect(third.outcomes.get('k0')).toMatchObject({ code: 'record_too_large', message: "the record alone is over the server's 65,536-byte request limit" })
  })

  it('resends the records of a job that expired while being polled (404 TaskNotFound)', async () => {
    const api = new FakeApi()
    api.getFault = (id) => (id === 'userimport_1' ? new TaskNotFoundError(id) : undefined)
    const { sink, outcomes } = harness(api)
    await sink.run('email', items(4))
    expect(api.bodies).toHaveLength(2)
    expect([...outcomes.values()].map((o) => [o.kind, o.attempts])).toEqual(Array(4).fill(['inserted', 2]))
  })

  it('resends only the records a crashed chunk did not report, and fails them after max sends', async () => {
    const api = new FakeApi()
    let jobs = 0
    api.crash = () => (++jobs === 1 ? 150 : undefined)
    const { sink, outcomes } = harness(api)
    await sink.run('email', items(250))
    expect(api.bodies.map((b) => b.records.length)).toEqual([250, 100])
    expect(outcomes.get('k120')).toMatchObject({ kind: 'inserted', attempts: 2 })
    expect(outcomes.get('k20')).toMatchObject({ kind: 'inserted', attempts: 1 })

    const always = new FakeApi()
    always.crash = () => 0
    const doomed = harness(always, 2)
    await doomed.sink.run('email', items(3))
    expect([...doomed.outcomes.values()].map((o) => o.code)).toEqual(['job_crashed', 'job_crashed', 'job_crashed'])
    // Sent together twice, then in halves (each might be the one that crashes), each alone to max sends.
    expect(always.bodies.map((b) => b.records.length)).toEqual([3, 3, 2, 1, 1, 1])
  })

  it('sends the records of a chunk that crashes again in halves, so only the record that crashes it is dead-lettered', async () => {
    const api = new FakeApi()
    // One record crashes whatever chunk holds it; those before it in its chunk are committed but not reported.
    api.crash = (records) => {
      const at = records.findIndex((record) => (record as { email?: string }).email === 'u137@example.com')
      return at === -1 ? undefined : at
    }
    const { sink, outcomes } = harness(api, 3)
    await sink.run('email', items(250))
    expect(outcomes.size).toBe(250)
    const failed = [...outcomes].filter(([, outcome]) => outcome.kind === 'failed')
    expect(failed).toEqual([['k137', expect.objectContaining({ code: 'job_crashed', attempts: 3, mayHaveApplied: true })]])
    expect(outcomes.get('k136')).toMatchObject({ kind: 'inserted' })
    expect(outcomes.get('k138')).toMatchObject({ kind: 'inserted' })
    // 250, the chunk's 100 again, then halves down to the record alone, which is sent until max sends.
    expect(api.bodies.length).toBeLessThan(20)
    expect(api.bodies.at(-1)!.records.map((record) => record['email'])).toEqual(['u137@example.com'])
  })

  it('keeps halving while jobs report their other chunks: several batches in flight, each with records that crash', async () => {
    const api = new FakeApi()
    const batches = [0, 1, 2, 3].map((b) => {
      const checkpointer = new Checkpointer<number>()
      const ticket = checkpointer.track(1, 1000)
      return Array.from({ length: 1000 }, (_, i) => {
        const email = `b${b}u${i}@example.com`
        const mapped: MappedRecord = { identifier: 'email', identifierValue: email, record: { email } as MappedRecord['record'], passwordAlgorithm: 'none', passwordLane: 'none', warnings: [] }
        return createWorkItem({ kind: 'data', key: email, origin: `f:${b}:${i}`, data: {} }, mapped, ticket)
      })
    })
    // Three records of each batch crash whatever chunk holds them; the other chunks report.
    const poison = new Set(batches.flatMap((batch) => [10, 110, 210].map((at) => batch[at]!.source.key)))
    api.crash = (records) => records.flatMap((record, index) => (poison.has((record as { email: string }).email) ? [index] : []))
    const { sink, outcomes } = harness(api, 5)
    await Promise.all(batches.map((batch) => sink.run('email', batch)))
    expect(outcomes.size).toBe(4000)
    const failed = [...outcomes].filter(([, outcome]) => outcome.kind === 'failed')
    expect(new Set(failed.map(([key]) => key))).toEqual(poison)
    expect(failed.every(([, outcome]) => outcome.code === 'job_crashed')).toBe(true)
  })

  it('does not halve crashed records while every job crashes: Authgear is failing, not one record', async () => {
    const api = new FakeApi()
    api.crash = () => 0
    const { sink, outcomes } = harness(api, 3)
    // One chunk: every record of every job is lost to the crash.
    await sink.run('email', items(100))
    expect(new Set([...outcomes.values()].map((o) => o.code))).toEqual(new Set(['job_crashed']))
    expect(outcomes.size).toBe(100)
    // Halving stops after a dozen crashed jobs in a row instead of sending ~200 jobs.
    expect(api.bodies.length).toBeLessThan(40)
  })

  it('reports an update that carried a password as password not applied', async () => {
    const api = new FakeApi()
    api.answer = () => ({ outcome: 'updated', user_id: 'u1' })
    const { sink, outcomes } = harness(api)
    await sink.run('email', items(1, { password: { type: 'bcrypt', password_hash: `$2b$10$${'a'.repeat(53)}` } }))
    expect(outcomes.get('k0')).toMatchObject({ kind: 'updated', passwordNotApplied: true })
  })

  it('does not call the password of a resent record not applied: the job that did not report it may have imported it', async () => {
    const api = new FakeApi()
    let jobs = 0
    // The first job's chunk crashed after importing its records (Authgear keeps them); the resend finds them.
    api.crash = () => (++jobs === 1 ? 0 : undefined)
    api.answer = () => (jobs === 1 ? { outcome: 'inserted', user_id: 'u1' } : { outcome: 'updated', user_id: 'u1' })
    const { sink, outcomes } = harness(api)
    await sink.run('email', items(2, { password: { type: 'bcrypt', password_hash: `$2b$10$${'a'.repeat(53)}` } }))
    for (const outcome of outcomes.values()) {
      expect(outcome).toMatchObject({ kind: 'updated', attempts: 2 })
      expect(outcome.passwordNotApplied).toBeUndefined()
      expect(outcome.warnings?.join()).toContain('sent again after an import job that did not report it')
    }
  })

  it('fails the records of a body Authgear refused as a whole (400) and goes on', async () => {
    const api = new FakeApi()
    api.submitFault = () => new BodyRejectedError('import_create', 400, 'Authgear refused the request with HTTP 400 (the request body was rejected as a whole): invalid request body', { name: 'Invalid', reason: 'ValidationFailed', message: 'invalid request body', code: 400 })
    const { sink, outcomes } = harness(api)
    await sink.run('email', items(2))
    expect([...outcomes.values()]).toMatchObject([{ kind: 'failed', code: 'request_rejected' }, { kind: 'failed', code: 'request_rejected' }])
  })

  it.each([
    ['404 app not found', new ApiRequestError('import_create', 404, 'Authgear serves no project at https://wrong.example ("app not found"): check sink.endpoint')],
    ['a 403 in a JSON envelope (a proxy)', new ApiRequestError('import_create', 403, 'Authgear refused the request with HTTP 403: blocked')],
    ['a 200 that is not an import job', new ApiRequestError('import_create', 200, 'Authgear replied 200 with a result that is not an import job (no id or unknown status)')],
    ["a proxy's plain-text 400", new ApiRequestError('import_create', 400, 'Authgear refused the request with HTTP 400: "Request Header Or Cookie Too Large"')],
  ])('stops the run on %s, which no record of the batch caused, leaving the records without an outcome', async (_name, fault) => {
    const api = new FakeApi()
    api.submitFault = () => fault
    const { sink, outcomes } = harness(api)
    await expect(sink.run('email', items(2))).rejects.toBe(fault)
    expect(outcomes.size).toBe(0)
  })

  it('lets a quota error stop the run with no outcome for the batch', async () => {
    const api = new FakeApi()
    api.submitFault = () => new QuotaExceededError('day', 'quota')
    const { sink, outcomes } = harness(api)
    await expect(sink.run('email', items(2))).rejects.toBeInstanceOf(QuotaExceededError)
    expect(outcomes.size).toBe(0)
  })
})
