import { ConnectorError, ErrorCodes } from '../../src/core/errors.ts'
import type { ApiErrorBody } from './import-job.ts'

/** Admin API routes the client calls; used in hooks and error context. */
export const AdminApiRoutes = {
  importCreate: 'import_create',
  importGet: 'import_get',
  checkAuth: 'check_auth',
  exportCreate: 'export_create',
  exportGet: 'export_get',
  /** The Admin API GraphQL endpoint (source deletes and disables). */
  graphql: 'graphql',
} as const
export type AdminApiRoute = (typeof AdminApiRoutes)[keyof typeof AdminApiRoutes]

/** Why an attempt was retried. */
export const RetryReasons = ['network', 'timeout', '5xx', '429'] as const
export type RetryReason = (typeof RetryReasons)[number]

/**
 * Authgear answered with an error that retrying the same request cannot fix (4xx other than the
 * cases with their own class). `body` is Authgear's error object when the reply was JSON.
 * Not retryable: the sink fails the batch's records with this reason.
 */
export class ApiRequestError extends ConnectorError {
  readonly route: AdminApiRoute
  readonly status: number
  readonly body: ApiErrorBody | undefined

  constructor(route: AdminApiRoute, status: number, message: string, body?: ApiErrorBody) {
    super(ErrorCodes.sinkWrite, 'sending', message)
    this.route = route
    this.status = status
    this.body = body
  }
}

/**
 * 413: the request body is over Authgear's 500,000-byte import cap (or the 1 MiB server cap).
 * The sink splits the batch and resends the halves.
 */
export class RequestTooLargeError extends ApiRequestError {
  /** The byte limit the server reported (`info.limit`), when it reported one. */
  readonly limit: number | undefined
  constructor(route: AdminApiRoute, message: string, body?: ApiErrorBody) {
    super(route, 413, message, body)
    const limit = body?.info?.['limit']
    this.limit = typeof limit === 'number' ? limit : undefined
  }
}

/**
 * 400 in Authgear's own error envelope on an import POST: Authgear read the body and refused it as
 * a whole (its request schema, its JSON). About this batch only: the sink fails its records. Any
 * other refusal (a proxy's page, a wrong endpoint) says the same of every batch and stops the run.
 */
export class BodyRejectedError extends ApiRequestError {}

/**
 * 404 `TaskNotFound` on GET: the job id is unknown or expired (jobs live 24 h from creation).
 * The sink resubmits the job's records; the import is idempotent by identifier.
 */
export class TaskNotFoundError extends ApiRequestError {
  readonly jobId: string
  constructor(jobId: string, body?: ApiErrorBody) {
    super(AdminApiRoutes.importGet, 404, `Authgear has no import job "${jobId}": it is unknown or expired (jobs are kept 24 h)`, body)
    this.jobId = jobId
  }
}

/**
 * Every attempt failed with a transient cause (network error, timeout, 5xx, or 429 other than
 * quota), or the host could not be reached at all. `retryable` is true for the transient causes:
 * the caller may try again later. `status`/`body` describe the last reply, when there was one.
 */
export class ApiUnavailableError extends ConnectorError {
  readonly route: AdminApiRoute
  readonly reason: RetryReason
  readonly attempts: number
  readonly status: number | undefined
  readonly body: ApiErrorBody | undefined

  constructor(
    route: AdminApiRoute,
    reason: RetryReason,
    message: string,
    options: { attempts: number; retryable?: boolean; status?: number; body?: ApiErrorBody; cause?: unknown },
  ) {
    super(ErrorCodes.connect, 'sending', message, { retryable: options.retryable ?? true, cause: options.cause })
    this.route = route
    this.reason = reason
    this.attempts = options.attempts
    this.status = options.status
    this.body = options.body
  }
}
