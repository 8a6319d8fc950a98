import { ConnectorError, ErrorCodes } from '../../src/core/errors.ts'
import { describeApiError } from './envelope.ts'
import type { ApiErrorBody } from './import-job.ts'

/** The export task finished with `error` (status `completed`, `failed_at` set): there is no file. */
export class ExportFailedError extends ConnectorError {
  readonly taskId: string
  readonly body: ApiErrorBody
  constructor(taskId: string, body: ApiErrorBody) {
    super(ErrorCodes.sourceRead, 'receiving', `Authgear export ${taskId} failed: ${describeApiError(body)}`)
    this.taskId = taskId
    this.body = body
  }
}

/** 404 `TaskNotFound` for an export task: unknown, of another project, or expired (24 h). */
export class ExportTaskNotFoundError extends ConnectorError {
  readonly taskId: string
  constructor(taskId: string) {
    super(ErrorCodes.sourceRead, 'receiving', `Authgear has no export task "${taskId}": it is unknown or expired (tasks are kept 24 h)`)
    this.taskId = taskId
  }
}

/** The file could not be downloaded, even with renewed URLs. The message never contains the URL (it is a bearer credential). */
export class ExportDownloadError extends ConnectorError {
  readonly status: number | undefined
  constructor(message: string, options: { status?: number; retryable?: boolean; cause?: unknown } = {}) {
    super(ErrorCodes.sourceRead, 'receiving', message, { retryable: options.retryable ?? true, cause: options.cause })
    this.status = options.status
  }
}
