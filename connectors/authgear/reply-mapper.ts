import { redactText } from '../../src/runtime/redact.ts'
import type { ConnectorError } from '../../src/core/errors.ts'
import { authFailureError } from './auth-diagnosis.ts'
import { parseRetryAfter } from './backoff.ts'
import { describeApiError, parseReply, type ParsedReply } from './envelope.ts'
import { AdminApiRoutes, ApiRequestError, BodyRejectedError, RequestTooLargeError, TaskNotFoundError, type AdminApiRoute } from './errors.ts'
import type { ApiErrorBody } from './import-job.ts'
import { quotaExceededError } from './quota-error.ts'

/** One HTTP reply, fully read. */
export interface RawReply {
  readonly status: number
  readonly text: string
  readonly date: string | undefined
  readonly retryAfter: string | undefined
}

/** Requests that only read, and may be sent again whatever happened to the first. */
const readRoutes: ReadonlySet<AdminApiRoute> = new Set([AdminApiRoutes.importGet, AdminApiRoutes.exportGet, AdminApiRoutes.checkAuth])

/** What the client does with a reply. */
export type ReplyDecision =
  | { readonly type: 'ok'; readonly result: unknown }
  | {
      readonly type: 'retry'
      readonly reason: '5xx' | '429' | 'network'
      readonly status: number
      readonly body: ApiErrorBody | undefined
      readonly retryAfterMs: number | undefined
      readonly summary: string
    }
  | { readonly type: 'fail'; readonly error: ConnectorError }

export interface ReplyContext {
  readonly route: AdminApiRoute
  /** Scheme, host and base path, for messages. */
  readonly endpoint: string
  readonly keyId: string
  readonly audience: string
  /** The job id of a GET, for `TaskNotFoundError`. */
  readonly jobId?: string
  readonly nowMs: number
}

/**
 * Maps an Admin API reply to success, a retry, or a typed error (authgear-api.md §1.3, §5.2):
 * 2xx → unwrapped `result`; 5xx and 429 other than quota → retry; 429 `UsageLimitExceeded` →
 * `QuotaExceededError`; 413 → `RequestTooLargeError`; plain-text 403 → `AuthError`;
 * 404 `TaskNotFound` → `TaskNotFoundError`; any other status → `ApiRequestError`.
 */
export function mapReply(reply: RawReply, ctx: ReplyContext): ReplyDecision {
  const parsed = parseReply(reply.text)
  const body = parsed.kind === 'error' ? parsed.error : undefined
  const { status } = reply

  if (status >= 200 && status < 300) {
    if (parsed.kind === 'result') return { type: 'ok', result: parsed.result }
    // JSON cut off in transit (a connection closed mid-body): asking again is safe for a read. A
    // POST is not asked again: its job may exist, and a second one would race it.
    if (parsed.kind === 'plain' && reply.text.trimStart().startsWith('{') && readRoutes.has(ctx.route)) {
      return { type: 'retry', reason: 'network', status, body: undefined, retryAfterMs: undefined, summary: `HTTP ${status} with a JSON body cut short (${reply.text.length} bytes)` }
    }
    return fail(new ApiRequestError(ctx.route, status, `Authgear replied ${status} without a {"result": …} envelope: ${excerpt(parsed)}`, body))
  }
  // A 500 that is a setting of the server, not a passing fault: no retry will change it.
  if (status === 500 && body?.reason === 'UserExportDisabled') {
    return fail(new ApiRequestError(ctx.route, status, 'Authgear has user export disabled (UserExportDisabled): a self-hosted server needs an object store for exports (USEREXPORT_OBJECT_STORE_TYPE); `reconcile --export-file` takes an export made another way', body))
  }
  if (status >= 500 || (status === 429 && body?.reason !== 'UsageLimitExceeded')) {
    return {
      type: 'retry',
      reason: status === 429 ? '429' : '5xx',
      status,
      body,
      retryAfterMs: parseRetryAfter(reply.retryAfter, ctx.nowMs),
      summary: `HTTP ${status} ${excerpt(parsed)}`,
    }
  }
  if (status === 429 && body !== undefined) return fail(quotaExceededError(body, ctx.nowMs))
  if (status === 413) {
    return fail(new RequestTooLargeError(ctx.route, `Authgear refused the request body as too large (413): ${excerpt(parsed)}`, body))
  }
  if (status === 403 && parsed.kind === 'plain') {
    return fail(
      authFailureError({ endpoint: ctx.endpoint, keyId: ctx.keyId, audience: ctx.audience, serverDate: reply.date, localNowMs: ctx.nowMs }),
    )
  }
  if (status === 404 && body?.reason === 'TaskNotFound' && ctx.jobId !== undefined) {
    return fail(new TaskNotFoundError(ctx.jobId, body))
  }
  if (status === 404 && parsed.kind === 'plain' && /app not found/i.test(parsed.text)) {
    return fail(
      new ApiRequestError(ctx.route, status, `Authgear serves no project at ${ctx.endpoint} ("app not found"): check sink.endpoint`),
    )
  }
  // Only Authgear's own envelope says the body was refused; a proxy's page says nothing about it.
  if (ctx.route === AdminApiRoutes.importCreate && status === 400 && body !== undefined) {
    return fail(new BodyRejectedError(ctx.route, status, `Authgear refused the request with HTTP 400 (the request body was rejected as a whole): ${excerpt(parsed)}`, body))
  }
  return fail(new ApiRequestError(ctx.route, status, `Authgear refused the request with HTTP ${status}: ${excerpt(parsed)}`, body))
}

function fail(error: ConnectorError): ReplyDecision {
  return { type: 'fail', error }
}

function excerpt(parsed: ParsedReply): string {
  if (parsed.kind === 'error') return redactText(describeApiError(parsed.error))
  // A proxy's error page, or an error envelope a gateway made, may echo the request, its
  // Authorization header included.
  if (parsed.kind === 'plain') return parsed.text === '' ? '(empty body)' : JSON.stringify(redactText(parsed.text))
  return '(result envelope)'
}
