import { Pool, type Dispatcher } from 'undici'
import { AbortedError, ConfigError } from '../../src/core/errors.ts'
import { backoffDelay, sleep, type RetryOptions } from './backoff.ts'
import { parseReply } from './envelope.ts'
import { ApiRequestError, ApiUnavailableError, type AdminApiRoute } from './errors.ts'
import { ExportTaskNotFoundError } from './export-errors.ts'
import { ExportRoutes, type ExportRequestBody, type ExportRoute, type ExportTaskView } from './export-task.ts'
import { classifyNetworkError, errorCodeOf } from './network-errors.ts'
import { mapReply } from './reply-mapper.ts'
import type { AdminTokenSigner } from './token.ts'

const EXPORT_PATH = '/_api/admin/users/export'

export interface ExportApiOptions {
  /** The project's Admin API base URL (a path prefix is kept). */
  readonly endpoint: string
  readonly projectId: string
  readonly signer: AdminTokenSigner
  readonly timeoutMs: number
  readonly retry: RetryOptions
  /** After every attempt, with the HTTP status or `network_error`, and its duration. */
  readonly onRequest?: (route: ExportRoute, status: number | 'network_error', seconds: number) => void
  readonly onRetry?: (reason: string) => void
}

/**
 * The two authenticated User Export API calls. Same rules as the import client: the cached Admin
 * API JWT, `{"result": …}` unwrapped, transient failures (network, timeout, 5xx, 429 other than
 * quota) retried with jittered backoff, everything else a typed error (`AuthError`,
 * `QuotaExceededError`, `ApiRequestError`, `ExportTaskNotFoundError`, `ApiUnavailableError`).
 */
export class ExportApi {
  readonly #origin: string
  readonly #basePath: string
  readonly #opts: ExportApiOptions
  readonly #pool: Dispatcher

  constructor(opts: ExportApiOptions) {
    let url: URL
    try {
      url = new URL(opts.endpoint)
    } catch {
      throw new ConfigError(`sink.endpoint must be an http(s) URL, got ${JSON.stringify(opts.endpoint)}`)
    }
    this.#origin = url.origin
    this.#basePath = url.pathname.replace(/\/+$/, '')
    this.#opts = opts
    this.#pool = new Pool(url.origin, { connections: 2, keepAliveTimeout: 30_000 })
  }

  get endpoint(): string {
    return this.#origin + this.#basePath
  }

  /** POST: starts an export; resolves with the `pending` task. */
  async create(request: ExportRequestBody, signal?: AbortSignal): Promise<ExportTaskView> {
    return asTask(await this.#call(ExportRoutes.exportCreate, 'POST', EXPORT_PATH, JSON.stringify(request), signal))
  }

  /** GET: the task; a completed successful one carries a fresh `download_url`. */
  async get(id: string, signal?: AbortSignal): Promise<ExportTaskView> {
    return asTask(await this.#call(ExportRoutes.exportGet, 'GET', `${EXPORT_PATH}/${encodeURIComponent(id)}`, undefined, signal, id))
  }

  async close(): Promise<void> {
    await this.#pool.close()
  }

  async #call(route: ExportRoute, method: 'GET' | 'POST', path: string, body: string | undefined, signal?: AbortSignal, taskId?: string): Promise<unknown> {
    const { retry } = this.#opts
    for (let attempt = 1; ; attempt++) {
      if (signal?.aborted) throw new AbortedError('Admin API request aborted')
      const token = await this.#opts.signer.token()
      const started = performance.now()
      let status: number | 'network_error' = 'network_error'
      let failure: { reason: string; retryAfterMs?: number | undefined; summary: string }
      try {
        const res = await this.#pool.request({
          origin: this.#origin,
          path: this.#basePath + path,
          method,
          headers: { authorization: `Bearer ${token}`, accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
          body: body ?? null,
          signal: signal === undefined ? AbortSignal.timeout(this.#opts.timeoutMs) : AbortSignal.any([signal, AbortSignal.timeout(this.#opts.timeoutMs)]),
        })
        const text = await res.body.text()
        status = res.statusCode
        if (res.statusCode === 404 && taskId !== undefined) {
          const parsed = parseReply(text)
          if (parsed.kind === 'error' && parsed.error.reason === 'TaskNotFound') throw new ExportTaskNotFoundError(taskId)
        }
        const header = (name: string) => {
          const v = res.headers[name]
          return Array.isArray(v) ? v[0] : v
        }
        const decision = mapReply(
          { status: res.statusCode, text, date: header('date'), retryAfter: header('retry-after') },
          // The import client's route names label its own metrics; export errors only use the route in messages.
          { route: route as unknown as AdminApiRoute, endpoint: this.endpoint, keyId: this.#opts.signer.keyId, audience: this.#opts.projectId, nowMs: Date.now() },
        )
        if (decision.type === 'ok') return decision.result
        if (decision.type === 'fail') throw decision.error
        failure = { reason: decision.reason, retryAfterMs: decision.retryAfterMs, summary: decision.summary }
      } catch (error) {
        if (signal?.aborted) throw new AbortedError('Admin API request aborted')
        const kind = (error as Error).name === 'TimeoutError' ? 'timeout' : classifyNetworkError(error)
        if (kind === undefined) throw error
        failure = { reason: kind, summary: errorCodeOf(error) }
      } finally {
        this.#opts.onRequest?.(route, status, (performance.now() - started) / 1000)
      }
      if (attempt >= retry.maxAttempts) {
        throw new ApiUnavailableError(route as unknown as AdminApiRoute, failure.reason as '5xx', `Authgear Admin API at ${this.endpoint} kept failing after ${attempt} attempt(s): ${failure.summary}`, { attempts: attempt })
      }
      this.#opts.onRetry?.(failure.reason)
      await sleep(failure.retryAfterMs ?? backoffDelay(attempt, retry), signal)
    }
  }
}

function asTask(result: unknown): ExportTaskView {
  const r = result as Partial<ExportTaskView> | null
  if (typeof r === 'object' && r !== null && typeof r.id === 'string' && (r.status === 'pending' || r.status === 'completed')) return r as ExportTaskView
  throw new ApiRequestError(ExportRoutes.exportGet as unknown as AdminApiRoute, 200, 'Authgear replied 200 with a result that is not an export task (no id or unknown status)')
}
