import type { AdminApiClient } from './client.ts'
import { AdminApiRoutes, ApiRequestError, TaskNotFoundError } from './errors.ts'
import { ExportTaskNotFoundError } from './export-errors.ts'
import type { ExportRequestBody, ExportTaskView } from './export-task.ts'

const EXPORT_PATH = '/_api/admin/users/export'

/**
 * The two authenticated User Export API calls, through the Admin API client: the cached JWT,
 * `{"result": …}` unwrapped, transient failures retried with jittered backoff and
 * `Retry-After`, everything else a typed error (`AuthError`, `QuotaExceededError`,
 * `ApiRequestError`, `ExportTaskNotFoundError`, `ApiUnavailableError`).
 */
export class ExportApi {
  readonly #client: AdminApiClient

  constructor(client: AdminApiClient) {
    this.#client = client
  }

  get endpoint(): string {
    return this.#client.endpoint
  }

  /** POST: starts an export; resolves with the `pending` task. */
  async create(request: ExportRequestBody, signal?: AbortSignal): Promise<ExportTaskView> {
    return asTask(await this.#client.request(AdminApiRoutes.exportCreate, 'POST', EXPORT_PATH, JSON.stringify(request), signal))
  }

  /** GET: the task; a completed successful one carries a fresh `download_url`. */
  async get(id: string, signal?: AbortSignal): Promise<ExportTaskView> {
    try {
      return asTask(await this.#client.request(AdminApiRoutes.exportGet, 'GET', `${EXPORT_PATH}/${encodeURIComponent(id)}`, undefined, signal, id))
    } catch (error) {
      if (error instanceof TaskNotFoundError) throw new ExportTaskNotFoundError(id)
      throw error
    }
  }

  close(): Promise<void> {
    return this.#client.close()
  }
}

function asTask(result: unknown): ExportTaskView {
  const r = result as Partial<ExportTaskView> | null
  if (typeof r === 'object' && r !== null && typeof r.id === 'string' && (r.status === 'pending' || r.status === 'completed')) return r as ExportTaskView
  throw new ApiRequestError(AdminApiRoutes.exportGet, 200, 'Authgear replied 200 with a result that is not an export task (no id or unknown status)')
}
