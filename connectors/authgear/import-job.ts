/**
 * Shapes of the Authgear Admin API replies the client returns, as the server writes them
 * (`pkg/api/apierrors`, `pkg/lib/userimport`). Field names are Authgear's, hence snake_case.
 */

/** Authgear's API error object: the body of `{"error": …}` and of `details[].errors[]`. */
export interface ApiErrorBody {
  /** Error kind, e.g. `Invalid`, `NotFound`, `TooManyRequest`, `RequestEntityTooLarge`. */
  readonly name: string
  /** Finer code, e.g. `ValidationFailed`, `TaskNotFound`, `UsageLimitExceeded`. */
  readonly reason: string
  readonly message: string
  /** HTTP status derived from `name`. */
  readonly code: number
  readonly tracking_id?: string
  readonly info?: Record<string, unknown>
}

export const ImportJobStatuses = ['pending', 'completed'] as const
export type ImportJobStatus = (typeof ImportJobStatuses)[number]

export const ImportOutcomes = ['inserted', 'updated', 'skipped', 'failed'] as const
export type ImportOutcome = (typeof ImportOutcomes)[number]

/**
 * Per-record result of a completed import job; `index` is the 0-based position in the request.
 * Authgear also echoes the record it read (`record`, secrets redacted); the client drops that
 * echo before parsing (see `dropEchoedRecords`), so it is not part of this type.
 */
export interface ImportDetail {
  readonly index: number
  readonly outcome: ImportOutcome
  readonly user_id?: string
  readonly warnings?: readonly { readonly message: string }[]
  readonly errors?: readonly ApiErrorBody[]
}

/** Counters of a completed job; `total` counts only records of chunks that produced output. */
export interface ImportSummary {
  readonly total: number
  readonly inserted: number
  readonly updated: number
  readonly skipped: number
  readonly failed: number
}

/**
 * An import job as returned by POST and GET. While any chunk is pending only `id`, `created_at`,
 * `status` and (once a chunk crashed) `error` are present. A completed job with `error` set had a
 * chunk crash: the records of that chunk are missing from `summary` and `details` and their
 * outcome is unknown.
 */
export interface ImportJobView {
  readonly id: string
  readonly created_at: string
  readonly completed_at?: string
  readonly status: ImportJobStatus
  readonly error?: ApiErrorBody
  readonly summary?: ImportSummary
  readonly details?: readonly ImportDetail[]
}
