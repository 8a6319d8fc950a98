import type { ApiErrorBody } from './api-error.ts'
import { formatRfc3339Nano } from './clock.ts'
import { goStringify } from './go-json.ts'
import type { IdentifierType } from './import-request.ts'

/** The five `summary` counters; all always present. */
export interface ImportSummary {
  total: number
  inserted: number
  updated: number
  skipped: number
  failed: number
}

/** One 100-record chunk. Records are dropped once processed; only the serialized details stay. */
export interface ImportTask {
  readonly offset: number
  records: Record<string, unknown>[] | undefined
  status: 'pending' | 'completed'
  completedAtNs?: bigint
  /** Set when the task crashed: no details, no counts. */
  error?: ApiErrorBody
  /** Comma-joined `details[]` JSON items of this chunk, in index order. */
  details?: string
  summary?: ImportSummary
}

/** An import job: the request's chunks and when it was created. */
export interface ImportJob {
  readonly id: string
  readonly createdAtNs: bigint
  readonly createdAt: string
  readonly identifier: IdentifierType
  readonly upsert: boolean
  readonly tasks: ImportTask[]
  pendingTasks: number
}

/**
 * The job as GET (and POST) reply it: pending → id/created_at/status, and the `error` of a chunk
 * that already crashed; completed → adds completed_at (latest task), the summary of tasks with
 * output, and details in index order. Where several chunks crashed, the error is the last one's
 * (Authgear overwrites it task by task). Built as a string so a million details never become
 * objects again.
 */
export function importJobJson(job: ImportJob): string {
  const head = `{"id":${JSON.stringify(job.id)},"created_at":${JSON.stringify(job.createdAt)}`
  const error = lastError(job)
  if (job.pendingTasks > 0) return `${head},"status":"pending"${error === undefined ? '' : `,"error":${goStringify(error)}`}}`
  let completed = job.createdAtNs
  const summary: ImportSummary = { total: 0, inserted: 0, updated: 0, skipped: 0, failed: 0 }
  const details: string[] = []
  for (const task of job.tasks) {
    if (task.completedAtNs !== undefined && task.completedAtNs > completed) completed = task.completedAtNs
    if (task.summary !== undefined) {
      summary.total += task.summary.total
      summary.inserted += task.summary.inserted
      summary.updated += task.summary.updated
      summary.skipped += task.summary.skipped
      summary.failed += task.summary.failed
    }
    if (task.details !== undefined && task.details.length > 0) details.push(task.details)
  }
  let out = `${head},"completed_at":${JSON.stringify(formatRfc3339Nano(completed))},"status":"completed"`
  if (error !== undefined) out += `,"error":${goStringify(error)}`
  out += `,"summary":${JSON.stringify(summary)}`
  if (details.length > 0) out += `,"details":[${details.join(',')}]`
  return `${out}}`
}

function lastError(job: ImportJob): ApiErrorBody | undefined {
  let error: ApiErrorBody | undefined
  for (const task of job.tasks) if (task.error !== undefined) error = task.error
  return error
}
