import { setTimeout as sleep } from 'node:timers/promises'
import type { IdentifierType } from '../../src/core/mapped-record.ts'
import type { Outcome } from '../../src/core/outcome.ts'
import type { Logger } from '../../src/core/run-context.ts'
import type { Metrics } from '../../src/observability/metrics.ts'
import { requestBody } from '../../src/runtime/batcher.ts'
import type { OutcomeRecorder } from '../../src/runtime/outcome-recorder.ts'
import { releaseBuffer } from '../../src/runtime/release-buffer.ts'
import type { WorkItem } from '../../src/runtime/work-item.ts'
import { QuotaExceededError } from '../../src/core/errors.ts'
import { markNothingCreated, refusedBeforeAnyJob } from './nothing-created.ts'
import { isDuplicatedIdentity, takenLoginField } from '../../src/core/taken-login.ts'
import { BodyRejectedError, RequestTooLargeError, TaskNotFoundError, type ApiRequestError } from './errors.ts'
import type { ApiErrorBody, ImportDetail, ImportJobView } from './import-job.ts'

/**
 * Warnings Authgear gives for a `disabled` value that changes nothing. Under upsert every record
 * states its disabled state (see createMapping), so these are expected on every run.
 */
const expectedWarnings = new Set([
  'disabled = false has no effect in insert.',
  'invalid account status transition: normal -> normal',
  'invalid account status transition: disabled -> disabled',
  // A normal user past its account_valid_until (or before its account_valid_from) is named by that.
  'invalid account status transition: outside_valid_period -> normal',
  // Under upsert a mapped login column with no value is sent as null (see createSqlMapping's clearEmpty).
  'email = null has no effect in insert.',
  'phone_number = null has no effect in insert.',
  'preferred_username = null has no effect in insert.',
])

/** The two client calls the sink needs (AdminApiClient implements them). */
export interface ImportApi {
  /** `onAmbiguous`: called when a POST may have created a job already, with whether it is retried (not after the last attempt or a hard stop). */
  submitImport(body: string | Uint8Array, signal?: AbortSignal, onAmbiguous?: (retrying: boolean) => void): Promise<ImportJobView>
  getImport(id: string, signal?: AbortSignal): Promise<ImportJobView>
}

export interface ImportSinkOptions {
  readonly upsert: boolean
  readonly pollInitialMs: number
  readonly pollMaxMs: number
  /** Jobs a record may be sent in before it is failed (expired or crashed jobs are resent). */
  readonly maxSends: number
  /** Aborts polling only on a hard stop; a graceful stop lets in-flight jobs finish. */
  readonly hardStop?: AbortSignal
  /** A job still running after this long is logged once as slow, by id (default 5 minutes). */
  readonly slowJobMs?: number
}

const defaultSlowJobMs = 5 * 60_000

/**
 * Crashed jobs in a row past which crashed records are no longer halved. Finding one record in a
 * chunk takes about log2(100) = 7 crashing halves in a row; a failing server crashes them all.
 */
const maxCrashStreak = 12

/**
 * Submits one batch as an Authgear import job, follows it to completion and turns
 * `details[index]` into one terminal outcome per record.
 *
 * - 413: the batch is split in halves and each half sent; a lone record too large fails.
 * - 429 `UsageLimitExceeded`: split the same way, to use what is left of the quota; a lone
 *   record refused stops the run.
 * - 404 `TaskNotFound` while polling: the job expired, its records are resent.
 * - A completed job with a top-level `error` (a crashed chunk): records it did not report are
 *   resent, never counted as done; an idempotent resend is safe because Authgear matches users
 *   by identifier.
 * - A POST retried after a failure that may have created a job (a reset, a timeout, a 5xx): its
 *   records are read as resent, and one that failed as a duplicate of itself goes once more.
 * - Quota, auth and exhausted-retry errors propagate and stop the run; the batch's records stay
 *   without outcome, so the checkpoint does not move past them and a restart resends them.
 */
export class ImportSink {
  readonly #api: ImportApi
  readonly #options: ImportSinkOptions
  readonly #recorder: OutcomeRecorder
  readonly #metrics: Metrics
  readonly #logger: Logger
  /** Jobs in a row that completed with a crashed chunk and reported no record. */
  #crashStreak = 0

  constructor(api: ImportApi, options: ImportSinkOptions, deps: { recorder: OutcomeRecorder; metrics: Metrics; logger: Logger }) {
    this.#api = api
    this.#options = options
    this.#recorder = deps.recorder
    this.#metrics = deps.metrics
    this.#logger = deps.logger
  }

  /** Runs `items` to terminal outcomes; see the class comment for what it throws. */
  async run(identifier: IdentifierType, items: WorkItem[]): Promise<void> {
    const queue: WorkItem[][] = [items]
    for (let batch = queue.shift(); batch; batch = queue.shift()) {
      const resend = await this.#send(identifier, batch, queue)
      if (resend.length > 0) queue.push(resend)
    }
  }

  /** Sends one job; returns the records that must go again. Splits go onto `queue`. */
  async #send(identifier: IdentifierType, items: WorkItem[], queue: WorkItem[][]): Promise<WorkItem[]> {
    const body = requestBody(identifier, this.#options.upsert, items)
    const now = Date.now()
    for (const item of items) {
      item.attempts++
      item.firstAttemptAt ??= now
    }
    this.#metrics.batchRecords.observe(items.length)
    // Measured now: an accepted body is released (detached) below.
    const bytes = body.byteLength
    this.#metrics.batchBytes.observe(bytes)
    let job: ImportJobView
    let ambiguous = false
    try {
      job = await this.#api.submitImport(body, this.#options.hardStop, (retrying) => {
        ambiguous = true
        this.#markAmbiguous(items, retrying)
      })
      // Accepted: Authgear has read the whole body. After a failure it is left to the collector,
      // as a transport may still be writing it.
      releaseBuffer(body)
      // A job holds them now: if the run stops before their outcomes, the next one reads them as resent.
      for (const item of items) item.ticket.sent?.(item.source.origin)
    } catch (error) {
      if (error instanceof RequestTooLargeError) return this.#split(items, queue, error.limit)
      // Authgear reserves nothing for a refused request: a smaller one may fit in what is left of
      // the period's quota. Halving finds that rest; only a single record refused stops the run.
      if (error instanceof QuotaExceededError && items.length > 1) return this.#halve(items, queue, 'quota_split')
      // Any other refusal (404 "app not found", a proxy's page, a 200 that is not an import job)
      // says the same of every batch: failing them one by one would dead-letter the whole source
      // and mark it complete. It stops the run instead, with the checkpoint before these records.
      if (error instanceof BodyRejectedError) {
        this.#failAll(items, 'request_rejected', error)
        return []
      }
      if (!ambiguous && refusedBeforeAnyJob(error)) markNothingCreated(error)
      throw error
    }
    this.#metrics.jobsInFlight.inc()
    const started = Date.now()
    this.#logger.debug({ job: job.id, identifier, records: items.length, bytes }, 'Import job submitted.')
    try {
      job = await this.#follow(job, { identifier, records: items.length, started })
    } catch (error) {
      if (error instanceof TaskNotFoundError) {
        this.#metrics.jobs.inc({ result: 'expired' })
        this.#logger.warn({ job: job.id, records: items.length }, 'Import job expired before it completed; resending its records.')
        return this.#resendable(items, 'expired', 'job_expired')
      }
      throw error
    } finally {
      this.#metrics.jobsInFlight.dec()
    }
    this.#metrics.jobDuration.observe((Date.now() - started) / 1000)
    this.#logger.debug({ job: job.id, seconds: (Date.now() - started) / 1000, summary: job.summary }, 'Import job completed.')
    return this.#settle(job, items, queue)
  }

  /**
   * Polls `job` until it completes. One still running after `slowJobMs` is logged once by id, so
   * the operator of a run whose checkpoint stalls can name it to Authgear's support.
   */
  async #follow(job: ImportJobView, of: { identifier: IdentifierType; records: number; started: number }): Promise<ImportJobView> {
    let delay = this.#options.pollInitialMs
    let slowSaid = false
    const slowMs = this.#options.slowJobMs ?? defaultSlowJobMs
    while (job.status !== 'completed') {
      await sleep(delay, undefined, { signal: this.#options.hardStop })
      job = await this.#api.getImport(job.id, this.#options.hardStop)
      delay = Math.min(delay * 2, this.#options.pollMaxMs)
      const runningMs = Date.now() - of.started
      if (!slowSaid && job.status !== 'completed' && runningMs >= slowMs) {
        slowSaid = true
        this.#logger.warn({ job: job.id, identifier: of.identifier, records: of.records, seconds: Math.round(runningMs / 1000) }, 'Import job is still running; its records hold back the checkpoint until it completes.')
      }
    }
    return job
  }

  /**
   * The POST of `items` is retried after a failure that may have created a job, which would then
   * run beside the retry's job unseen, on the same users. Their outcomes are read as resends'.
   */
  #markAmbiguous(items: WorkItem[], retrying: boolean): void {
    // A job may hold them whatever happens next: should the run stop, the next one reads them as resent.
    for (const item of items) item.ticket.sent?.(item.source.origin)
    // Given up (the last attempt, or a second signal): nothing is sent again in this run.
    if (!retrying || items.every((item) => item.resent)) return
    for (const item of items) item.resent = true
    this.#metrics.resends.inc({ reason: 'ambiguous_submit' }, items.length)
    this.#logger.warn({ records: items.length }, 'An import request failed after it may have reached Authgear; retrying it. A job it created may import the same users beside the retry: their outcomes say so.')
  }

  #settle(job: ImportJobView, items: WorkItem[], queue: WorkItem[][]): WorkItem[] {
    const details = new Map<number, ImportDetail>()
    for (const detail of job.details ?? []) details.set(detail.index, detail)
    const unreported: WorkItem[] = []
    const raced: WorkItem[] = []
    items.forEach((item, index) => {
      const detail = details.get(index)
      if (!detail) unreported.push(item)
      else if (racedItself(item, detail)) raced.push(item)
      else this.#recorder.complete(item, this.#outcome(item, detail))
    })
    if (raced.length > 0) {
      // An unseen earlier job inserted these users while this one tried to: sent once more, each is
      // found existing, with its user id, instead of being dead-lettered while it is in Authgear.
      for (const item of raced) item.raced = true
      this.#logger.warn({ job: job.id, records: raced.length }, 'Import job found users inserted at the same moment by an earlier job of the same records; sending them once more.')
    }
    // Only a job that reported nothing looks like a failing Authgear: one whose other chunks
    // reported shows the server working, and resets the streak as a clean job does.
    this.#crashStreak = job.error && details.size === 0 ? this.#crashStreak + 1 : 0
    if (job.error) {
      this.#metrics.jobs.inc({ result: 'crashed' })
      this.#logger.warn({ job: job.id, reason: job.error.reason, unreported: unreported.length }, 'Import job completed with a crashed chunk; resending the records it did not report.')
    } else {
      this.#metrics.jobs.inc({ result: 'completed' })
    }
    const again = unreported.length > 0 ? this.#afterCrash(unreported, queue) : []
    return raced.length > 0 ? [...again, ...this.#resendable(raced, 'raced', 'job_raced')] : again
  }

  /**
   * The records of a crashed chunk. The first crash may be passing: they go again together. Records
   * that crash a chunk again likely hold one that crashes the server whenever it is sent (as a null
   * identifier did, Addendum 1): they are sent in halves, without counting the job against them,
   * so the records beside it are imported and only the one that crashes is dead-lettered
   * `job_crashed`, instead of its whole chunk.
   */
  #afterCrash(unreported: WorkItem[], queue: WorkItem[][]): WorkItem[] {
    for (const item of unreported) item.crashes = (item.crashes ?? 0) + 1
    // Every job crashing in a row is Authgear failing, not one record: halving would then only
    // multiply the jobs sent before the records are given up.
    const failing = this.#crashStreak > maxCrashStreak
    if (failing || unreported.length === 1 || unreported.some((item) => item.crashes === 1)) return this.#resendable(unreported, 'crashed', 'job_crashed')
    for (const item of unreported) item.resent = true
    this.#metrics.resends.inc({ reason: 'crashed' }, unreported.length)
    return this.#halve(unreported, queue, 'crash_split')
  }

  #outcome(item: WorkItem, detail: ImportDetail): Outcome {
    const warnings = [...item.mapped.warnings, ...(detail.warnings ?? []).map((w) => w.message).filter((w) => !expectedWarnings.has(w))]
    const base = { attempts: item.attempts, ...(warnings.length > 0 ? { warnings } : {}) }
    if (detail.outcome === 'failed') {
      const error = detail.errors?.[0]
      return { ...base, kind: 'failed', code: error?.reason ?? 'failed', message: failureMessage(item.source.origin, error, item.mapped.record), reason: error }
    }
    // A resent record found existing may be the first send's own import, password and all: what
    // Authgear kept of it is unknown, and saying "not applied" would send users to needless resets.
    if (item.resent && (detail.outcome === 'updated' || detail.outcome === 'skipped')) {
      return { attempts: item.attempts, warnings: [...warnings, resentWarning], kind: detail.outcome, ...(detail.user_id ? { userId: detail.user_id } : {}) }
    }
    // Authgear ignores password, mfa.password and mfa.totp on upsert without a warning. Only an
    // update reads the record: one mapped on a worker thread is parsed back to be read.
    const passwordNotApplied = detail.outcome === 'updated' && carriesSecrets(item.mapped.record as { password?: unknown; mfa?: { totp?: unknown; password?: unknown } })
    return { ...base, kind: detail.outcome, ...(detail.user_id ? { userId: detail.user_id } : {}), ...(passwordNotApplied ? { passwordNotApplied, ...(item.mapped.secretsUnchanged === true ? { passwordUnchanged: true } : {}) } : {}) }
  }

  #split(items: WorkItem[], queue: WorkItem[][], limit: number | undefined): WorkItem[] {
    this.#metrics.jobs.inc({ result: 'split' })
    if (items.length === 1) {
      // A proxy in front of Authgear may cap bodies lower than Authgear's own 500,000 bytes.
      const cap = limit === undefined ? 'the server\'s request limit (no limit given; Authgear\'s own is 500,000 bytes)' : `the server's ${limit.toLocaleString('en-US')}-byte request limit`
      this.#recorder.complete(items[0]!, { kind: 'failed', code: 'record_too_large', message: `the record alone is over ${cap}`, attempts: items[0]!.attempts })
      return []
    }
    return this.#halve(items, queue, undefined)
  }

  /** Puts `items` back as two halves at the front of `queue`, not counting this attempt. */
  #halve(items: WorkItem[], queue: WorkItem[][], result: 'quota_split' | 'crash_split' | undefined): WorkItem[] {
    if (result) this.#metrics.jobs.inc({ result })
    const half = Math.ceil(items.length / 2)
    for (const item of items) item.attempts--
    queue.unshift(items.slice(0, half), items.slice(half))
    return []
  }

  #resendable(items: WorkItem[], reason: 'expired' | 'crashed' | 'raced', code: string): WorkItem[] {
    const again: WorkItem[] = []
    for (const item of items) {
      if (item.attempts < this.#options.maxSends) {
        item.resent = true
        again.push(item)
      }
      else this.#recorder.complete(item, { kind: 'failed', code, message: `no outcome after ${item.attempts} import jobs`, attempts: item.attempts, mayHaveApplied: true })
    }
    this.#metrics.resends.inc({ reason }, again.length)
    return again
  }

  #failAll(items: WorkItem[], code: string, error: ApiRequestError): void {
    for (const item of items) this.#recorder.complete(item, { kind: 'failed', code, message: error.message, reason: error.body, attempts: item.attempts })
  }
}

/**
 * A failed record's message as every other dead letter's: where it was read, which fields Authgear
 * refused (the causes' JSON pointers, never their values), and Authgear's own words.
 */
function failureMessage(origin: string, error: ApiErrorBody | undefined, record: Record<string, unknown>): string {
  if (error === undefined) return `${origin}: Authgear failed the record without an error`
  const causes = (error as { info?: { causes?: { location?: unknown }[] } }).info?.causes ?? []
  const fields = [...new Set(causes.map((cause) => cause.location).filter((location): location is string => typeof location === 'string' && location !== '').map((location) => fieldOf(location, record)))]
  return `${origin}: ${fields.length > 0 ? `${fields.join(', ')}: ` : ''}${takenLogin(error, record)}${error.message} (${error.reason})`
}

/**
 * Which login ID of the record another user holds, for a duplicated identity: Authgear's error
 * names its type (`LoginIDTypeIncoming`), and the operator needs it to find the other row.
 */
function takenLogin(error: ApiErrorBody, record: Record<string, unknown>): string {
  const field = takenLoginField(error)
  if (field === undefined) return ''
  const value = record[field]
  return `${field}${typeof value === 'string' ? ` ${value}` : ''} is another user's: `
}

/**
 * Where a cause points in the record sent. Authgear checks custom attributes as a map of their
 * own, so their causes read `/age`: one that names a custom attribute of the record is given as
 * `/custom_attributes/age`, the field to fix, even where the record has a field of that name
 * (`disabled`): every record passed Authgear's record schema locally before it was sent, so a
 * cause Authgear finds there is the attributes'.
 */
function fieldOf(location: string, record: Record<string, unknown>): string {
  const head = /^\/([^/]*)/.exec(location)?.[1]?.replaceAll('~1', '/').replaceAll('~0', '~')
  const attributes = record['custom_attributes']
  return head !== undefined && attributes !== null && typeof attributes === 'object' && Object.hasOwn(attributes, head) ? `/custom_attributes${location}` : location
}

const resentWarning = 'sent again after an import job that did not report it (a crashed chunk, an expired job, or a request that failed after it may have created a job): that job may have imported it, password included, so this outcome says what the second send found'

/** A resent record that failed because another job (the unseen one it was resent after) inserted the same login at the same moment. */
function racedItself(item: WorkItem, detail: ImportDetail): boolean {
  if (!item.resent || item.raced || detail.outcome !== 'failed') return false
  return isDuplicatedIdentity(detail.errors?.[0])
}

function carriesSecrets(record: { password?: unknown; mfa?: { totp?: unknown; password?: unknown } }): boolean {
  return record.password !== undefined || record.mfa?.totp !== undefined || record.mfa?.password !== undefined
}
