import { Pool, type Dispatcher } from 'undici'
import { AbortedError, ConfigError } from '../../src/core/errors.ts'
import { backoffDelay, type RetryOptions } from './backoff.ts'
import { WindDown } from './wind-down.ts'
import { dropEchoedRecords } from './drop-echoed-records.ts'
import { AdminApiRoutes, ApiRequestError, ApiUnavailableError, TaskNotFoundError, type AdminApiRoute, type RetryReason } from './errors.ts'
import { ImportJobStatuses, ImportOutcomes, type ImportJobView } from './import-job.ts'
import { classifyNetworkError, errorCodeOf, mayHaveReachedServer } from './network-errors.ts'
import { mapReply, type RawReply } from './reply-mapper.ts'
import type { AdminTokenSigner } from './token.ts'

export type { ApiErrorBody, ImportDetail, ImportJobView, ImportSummary } from './import-job.ts'

const IMPORT_PATH = '/_api/admin/users/import'
/** A well-formed job id no job will ever have: its GET proves authentication with a 404 `TaskNotFound`. */
const PROBE_JOB_ID = `userimport_${'0'.repeat(32)}`

/** Observability callbacks; called synchronously, so they must be cheap and must not throw. */
export interface ClientHooks {
  /** Before waiting `delayMs` to retry; `attempt` is the 1-based attempt that just failed. */
  onRetry?(reason: RetryReason, attempt: number, delayMs: number): void
  /** After every attempt, with the HTTP status or `network_error` (timeouts included) and its duration. */
  onRequest?(route: AdminApiRoute, status: number | 'network_error', seconds: number): void
}

export interface AdminApiClientOptions {
  /** The project's Admin API base URL, e.g. `https://myapp.authgear.cloud` (a path prefix is kept). */
  readonly endpoint: string
  /** Authgear project id, for diagnostics (the signer puts it in `aud`). */
  readonly projectId: string
  readonly signer: AdminTokenSigner
  /** Deadline of one attempt, from sending to the last byte of the reply. */
  readonly timeoutMs: number
  readonly retry: RetryOptions
  readonly hooks?: ClientHooks
  /** Use this dispatcher instead of an own keep-alive pool; the caller owns it and closes it. */
  readonly dispatcher?: Dispatcher
  /** Connections of the own pool; default 8 (jobs in flight plus their polls). */
  readonly connections?: number
  /** Clock for Retry-After dates, quota reset times and the 403 clock check; default `Date.now`. */
  readonly now?: () => number
  /** Jitter source in [0, 1); default `Math.random`. */
  readonly random?: () => number
}

type AttemptResult =
  | { readonly kind: 'reply'; readonly reply: RawReply }
  | { readonly kind: 'transport'; readonly reason: 'network' | 'timeout'; readonly error: unknown }

/**
 * Client of Authgear's Admin API import endpoints over one keep-alive pool. Each call signs with
 * the cached Admin API JWT, unwraps `{"result": …}`, retries transient failures (network errors,
 * timeouts, 5xx, 429 other than quota) with exponential backoff and full jitter, honouring
 * `Retry-After`, and maps the rest to typed errors. Methods may be called concurrently.
 * Aborting `signal` rejects with `AbortedError` promptly, also during a backoff wait.
 */
export class AdminApiClient {
  readonly #origin: string
  readonly #basePath: string
  readonly #projectId: string
  readonly #signer: AdminTokenSigner
  readonly #timeoutMs: number
  readonly #retry: RetryOptions
  readonly #hooks: ClientHooks
  readonly #dispatcher: Dispatcher
  readonly #ownsDispatcher: boolean
  readonly #now: () => number
  readonly #random: () => number
  #closed = false

  readonly #windDown: WindDown

  constructor(opts: AdminApiClientOptions) {
    let url: URL
    try {
      url = new URL(opts.endpoint)
    } catch {
      throw new ConfigError(`sink.endpoint must be an http(s) URL, got ${JSON.stringify(opts.endpoint)}`)
    }
    if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.username !== '' || url.password !== '') {
      throw new ConfigError(`sink.endpoint must be an http(s) URL without credentials, got ${url.protocol}//${url.host}`)
    }
    if (opts.retry.maxAttempts < 1) throw new ConfigError('sink.retry.max_attempts must be at least 1')
    this.#origin = url.origin
    this.#basePath = url.pathname.replace(/\/+$/, '')
    this.#projectId = opts.projectId
    this.#signer = opts.signer
    this.#timeoutMs = opts.timeoutMs
    this.#retry = opts.retry
    this.#hooks = opts.hooks ?? {}
    this.#ownsDispatcher = opts.dispatcher === undefined
    this.#dispatcher = opts.dispatcher ?? new Pool(url.origin, { connections: opts.connections ?? 8, keepAliveTimeout: 30_000 })
    this.#now = opts.now ?? Date.now
    this.#random = opts.random ?? Math.random
    this.#windDown = new WindDown(this.#now)
  }

  /** Scheme, host and base path of the Admin API, for logs (no credentials). */
  get endpoint(): string {
    return this.#origin + this.#basePath
  }

  /**
   * POST /_api/admin/users/import with `body`, the exact serialized request JSON (the batcher
   * measured its bytes). Resolves with the job, normally `pending`.
   * Rejects with `RequestTooLargeError` (split and resend), `QuotaExceededError`, `AuthError`,
   * `ApiRequestError` (the request as a whole is invalid), `ApiUnavailableError` or `AbortedError`.
   */
  async submitImport(body: string | Uint8Array, signal?: AbortSignal, onAmbiguous?: (retrying: boolean) => void): Promise<ImportJobView> {
    // A POST whose connection drops after the body was sent, that times out, or that gets a 5xx
    // is ambiguous: Authgear may have created the job, which then runs beside the one the retry
    // creates, unseen. It is retried all the same (the users end up in Authgear once: imports
    // match by identifier), but `onAmbiguous` is told first (with whether a retry follows), so that outcomes the unseen job
    // shaped (a user found existing, or one both jobs inserted at once) are read for what they are.
    const result = await this.#call(AdminApiRoutes.importCreate, 'POST', IMPORT_PATH, body, signal, undefined, onAmbiguous)
    try {
      return asJobView(result, AdminApiRoutes.importCreate)
    } catch (error) {
      // A 200 Authgear sent: the job may exist, unreadable as its reply is.
      onAmbiguous?.(false)
      throw error
    }
  }

  /**
   * GET /_api/admin/users/import/:id. Rejects with `TaskNotFoundError` when the job is unknown
   * or expired (resubmit its records), and otherwise as `submitImport`.
   */
  async getImport(id: string, signal?: AbortSignal): Promise<ImportJobView> {
    const result = await this.#call(AdminApiRoutes.importGet, 'GET', `${IMPORT_PATH}/${encodeURIComponent(id)}`, undefined, signal, id)
    return asJobView(result, AdminApiRoutes.importGet)
  }

  /**
   * Proves that Authgear accepts the JWT with a GET of a job id that cannot exist: Authgear checks
   * the token before routing, so 404 `TaskNotFound` means the token passed. Resolves on success;
   * rejects with `AuthError` (with a diagnosis) or the errors of `getImport`.
   */
  async checkAuth(signal?: AbortSignal): Promise<void> {
    try {
      await this.#call(AdminApiRoutes.checkAuth, 'GET', `${IMPORT_PATH}/${PROBE_JOB_ID}`, undefined, signal, PROBE_JOB_ID)
    } catch (error) {
      if (error instanceof TaskNotFoundError) return
      throw error
    }
  }

  /**
   * One authenticated Admin API call with this client's retries, envelope unwrapping and typed
   * errors, for endpoints other than import (the User Export API). `resourceId` names the task a
   * GET reads, so a 404 `TaskNotFound` becomes a `TaskNotFoundError` for it.
   */
  request(route: AdminApiRoute, method: 'GET' | 'POST', path: string, body?: string, signal?: AbortSignal, resourceId?: string): Promise<unknown> {
    return this.#call(route, method, path, body, signal, resourceId)
  }

  /**
   * A graceful stop has begun: calls that fail are retried only within `windowMs` of it. A stalled
   * Authgear would otherwise hold the stop for `max_attempts` × (`request_timeout_ms` + backoff),
   * minutes past any orchestrator's grace period; their records, without an outcome, are read
   * again by the next run.
   */
  windDown(windowMs: number): void {
    this.#windDown.begin(windowMs)
  }

  /** Closes the own connection pool after in-flight requests finish. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    if (this.#ownsDispatcher) await this.#dispatcher.close()
  }

  async #call(route: AdminApiRoute, method: 'GET' | 'POST', path: string, body: string | Uint8Array | undefined, signal?: AbortSignal, jobId?: string, onAmbiguous?: (retrying: boolean) => void): Promise<unknown> {
    for (let attempt = 1; ; attempt++) {
      throwIfAborted(signal)
      const token = await this.#signer.token()
      let outcome: AttemptResult
      try {
        outcome = await this.#attempt(route, method, path, body, token, attempt, signal)
      } catch (error) {
        // Aborted (a second signal) while the request was out, or a transport failure not told
        // apart (a reply cut short, a parser error) after it connected: it may have been received.
        if (error instanceof AbortedError || (error instanceof ApiUnavailableError && mayHaveReachedServer(error.cause))) onAmbiguous?.(false)
        throw error
      }
      let retry: { reason: RetryReason; retryAfterMs?: number | undefined; exhausted: () => ApiUnavailableError }
      let reached: boolean
      if (outcome.kind === 'transport') {
        const { reason, error } = outcome
        // The client's own deadline carries no code: counted as reached. A connect timeout is not.
        reached = mayHaveReachedServer(error)
        const what = reason === 'timeout' ? `timed out (${errorCodeOf(error)})` : errorCodeOf(error)
        retry = {
          reason,
          exhausted: () =>
            new ApiUnavailableError(route, reason, `Authgear Admin API at ${this.endpoint} unreachable after ${attempt} attempt(s): ${what}`, {
              attempts: attempt,
              cause: error,
            }),
        }
      } else {
        const decision = mapReply(outcome.reply, {
          route,
          endpoint: this.endpoint,
          keyId: this.#signer.keyId,
          audience: this.#projectId,
          nowMs: this.#now(),
          ...(jobId === undefined ? {} : { jobId }),
        })
        if (decision.type === 'ok') return decision.result
        if (decision.type === 'fail') {
          // A 2xx whose body cannot be read (cut short, no envelope): the request was handled.
          if (outcome.reply.status >= 200 && outcome.reply.status < 300) onAmbiguous?.(false)
          throw decision.error
        }
        // A rate limit answers before the request is handled; a 5xx may come after it was.
        reached = decision.reason !== '429'
        retry = {
          reason: decision.reason,
          retryAfterMs: decision.retryAfterMs,
          exhausted: () =>
            new ApiUnavailableError(route, decision.reason, `Authgear Admin API at ${this.endpoint} kept failing after ${attempt} attempt(s): ${decision.summary}`, {
              attempts: attempt,
              status: decision.status,
              ...(decision.body === undefined ? {} : { body: decision.body }),
            }),
        }
      }
      // Said before giving up too: the job the last attempt may have created outlives this run.
      if (reached) onAmbiguous?.(attempt < this.#retry.maxAttempts)
      if (attempt >= this.#retry.maxAttempts) throw retry.exhausted()
      const delayMs = retry.retryAfterMs ?? backoffDelay(attempt, this.#retry, this.#random)
      this.#hooks.onRetry?.(retry.reason, attempt, delayMs)
      await this.#windDown.beforeRetry(delayMs, `a failed ${route} call to ${this.endpoint} (${retry.exhausted().message})`, signal)
    }
  }

  async #attempt(route: AdminApiRoute, method: 'GET' | 'POST', path: string, body: string | Uint8Array | undefined, token: string, attempt: number, signal?: AbortSignal): Promise<AttemptResult> {
    const deadline = new AbortController()
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      deadline.abort()
    }, this.#timeoutMs)
    const combined = signal === undefined ? deadline.signal : AbortSignal.any([signal, deadline.signal])
    const started = performance.now()
    let status: number | 'network_error' = 'network_error'
    try {
      const res = await this.#dispatcher.request({
        origin: this.#origin,
        path: this.#basePath + path,
        method,
        headers: {
          authorization: `Bearer ${token}`,
          accept: 'application/json',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body ?? null,
        signal: combined,
      })
      const text = route === AdminApiRoutes.importGet ? await jobReplyText(res.body) : await res.body.text()
      status = res.statusCode
      return { kind: 'reply', reply: { status: res.statusCode, text, date: header(res.headers, 'date'), retryAfter: header(res.headers, 'retry-after') } }
    } catch (error) {
      if (signal?.aborted) throw new AbortedError('Admin API request aborted')
      if (timedOut) return { kind: 'transport', reason: 'timeout', error }
      const reason = classifyNetworkError(error)
      if (reason !== undefined) return { kind: 'transport', reason, error }
      throw new ApiUnavailableError(route, 'network', `Authgear Admin API at ${this.endpoint} could not be called: ${errorCodeOf(error)}`, {
        attempts: attempt,
        retryable: false,
        cause: error,
      })
    } finally {
      clearTimeout(timer)
      this.#hooks.onRequest?.(route, status, (performance.now() - started) / 1000)
    }
  }
}

/** A job's reply without the records it echoes (the sink never reads them, see `dropEchoedRecords`). */
async function jobReplyText(body: { arrayBuffer(): Promise<ArrayBuffer> }): Promise<string> {
  const text = dropEchoedRecords(Buffer.from(await body.arrayBuffer())).toString('utf8')
  // As `text()` would: a byte-order mark is not part of the JSON.
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new AbortedError('Admin API request aborted')
}

function header(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const value = headers[name]
  return Array.isArray(value) ? value[0] : value
}

function asJobView(result: unknown, route: AdminApiRoute): ImportJobView {
  if (
    typeof result === 'object' &&
    result !== null &&
    typeof (result as { id?: unknown }).id === 'string' &&
    (ImportJobStatuses as readonly unknown[]).includes((result as { status?: unknown }).status)
  ) {
    const problem = detailsProblem((result as { details?: unknown }).details)
    if (problem !== undefined) throw new ApiRequestError(route, 200, `Authgear replied 200 with an import job whose details are not readable (${problem})`)
    return result as ImportJobView
  }
  throw new ApiRequestError(route, 200, 'Authgear replied 200 with a result that is not an import job (no id or unknown status)')
}

/**
 * Why a job's `details` cannot be settled from, or undefined. Each record's outcome is decided
 * from its detail alone, so a detail without a position or an outcome must stop the run rather
 * than complete a record with nothing, or count one as unreported and send it again.
 */
function detailsProblem(details: unknown): string | undefined {
  if (details === undefined) return undefined
  if (!Array.isArray(details)) return 'details is not a list'
  for (let i = 0; i < details.length; i++) {
    const detail = details[i] as { index?: unknown; outcome?: unknown; user_id?: unknown; warnings?: unknown; errors?: unknown } | null
    if (typeof detail !== 'object' || detail === null) return `details[${i}] is not an object`
    if (!Number.isInteger(detail.index) || (detail.index as number) < 0) return `details[${i}].index is not a position`
    if (!(ImportOutcomes as readonly unknown[]).includes(detail.outcome)) return `details[${i}].outcome is not one of ${ImportOutcomes.join(', ')}`
    if (detail.user_id !== undefined && typeof detail.user_id !== 'string') return `details[${i}].user_id is not a string`
    if (detail.warnings !== undefined && !Array.isArray(detail.warnings)) return `details[${i}].warnings is not a list`
    if (detail.errors !== undefined && !Array.isArray(detail.errors)) return `details[${i}].errors is not a list`
  }
  return undefined
}
