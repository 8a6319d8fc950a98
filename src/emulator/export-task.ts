import type { ApiErrorBody } from './api-error.ts'
import type { ExportRequest } from './export-request.ts'
import { goStringify } from './go-json.ts'

/** A stored file of a successful export. */
export interface ExportFile {
  readonly path: string
  /** Object key as Authgear names it: `<appID>-<taskID>-<YYYYMMDDhhmmssZ>.<ext>`. */
  readonly key: string
  readonly contentType: string
  readonly bytes: number
}

/** One export task (`userexport_<32>`); mutated by the writer when it finishes. */
export interface ExportTask {
  readonly id: string
  readonly createdAtNs: bigint
  readonly createdAt: string
  readonly request: ExportRequest
  status: 'pending' | 'completed'
  completedAt?: string
  failedAt?: string
  /** When it completed or failed: a finished export is kept for the TTL from then. */
  finishedAtNs?: bigint
  error?: ApiErrorBody
  file?: ExportFile
}

/** The `userexport.Response` JSON of a task, with `download_url` when one was made for this reply. */
export function exportTaskJson(task: ExportTask, downloadUrl?: string): string {
  const out: Record<string, unknown> = { id: task.id, created_at: task.createdAt }
  if (task.completedAt !== undefined) out.completed_at = task.completedAt
  if (task.failedAt !== undefined) out.failed_at = task.failedAt
  out.status = task.status
  out.request = task.request
  if (downloadUrl !== undefined) out.download_url = downloadUrl
  if (task.error !== undefined) out.error = task.error
  return goStringify(out)
}
