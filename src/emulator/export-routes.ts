import type { IncomingMessage } from 'node:http'
import { apiError, Errors } from './api-error.ts'
import { formatRfc3339Nano, randomId } from './clock.ts'
import type { ExportSettings, CustomAttributeConfig } from './config.ts'
import { jsonContentType } from './content-type.ts'
import type { ExportFiles } from './export-files.ts'
import { checkExportRequest } from './export-request.ts'
import { exportTaskJson, type ExportTask } from './export-task.ts'
import { writeExportFile } from './export-writer.ts'
import { parseJsonBody, readBody } from './json-body.ts'
import type { JobStore } from './job-store.ts'
import { reply } from './reply.ts'
import type { Route } from './router.ts'
import type { UsageQuota } from './usage-quota.ts'
import type { UserStoreView } from './user-store.ts'

/** Authgear's global request body limit (1 MiB), the one that binds export requests. */
export const ExportBodyLimit = 1_048_576

export interface ExportRouteDeps {
  readonly settings: ExportSettings
  readonly projectId: string
  readonly customAttributes: readonly CustomAttributeConfig[]
  readonly store: UserStoreView
  readonly tasks: JobStore<ExportTask>
  readonly files: ExportFiles
  /** Directory the files are written to. */
  readonly dir: () => Promise<string>
  readonly quota: UsageQuota
  readonly now: () => bigint
}

const disabled = () => apiError('InternalError', 'UserExportDisabled', 'User export disabled')
const origin = (req: IncomingMessage) => `http://${req.headers.host ?? '127.0.0.1'}`

/**
 * `POST /_api/admin/users/export` and `GET /_api/admin/users/export/:id` (authgear-api.md §7.2).
 * A task stays `pending` for `delay_ms`, then its file is written in the background; a failure
 * (injected with `fail_rate`, or a write error) completes it with `failed_at` and `error`. Every GET
 * of a successful task makes a fresh download URL.
 */
export function exportRoutes(deps: ExportRouteDeps): Route[] {
  const run = async (task: ExportTask, issuer: string): Promise<void> => {
    await new Promise((resolve) => setTimeout(resolve, deps.settings.delay_ms).unref())
    try {
      if (Math.random() < deps.settings.fail_rate) throw new Error('injected export failure')
      task.file = await writeExportFile(deps.store.list(), task.request, {
        dir: await deps.dir(),
        projectId: deps.projectId,
        taskId: task.id,
        customAttributes: deps.customAttributes,
        issuer,
      })
      task.completedAt = formatRfc3339Nano(deps.now())
    } catch {
      task.failedAt = formatRfc3339Nano(deps.now())
      task.error = Errors.unexpected()
    }
    task.finishedAtNs = deps.now()
    task.status = 'completed'
  }
  const create: Route = {
    method: 'POST',
    pattern: /^\/_api\/admin\/users\/export$/,
    async handle(req) {
      if (!deps.settings.enabled) return reply.error(disabled())
      if (!jsonContentType(req.headers['content-type'])) return reply.error(Errors.badContentType())
      const read = await readBody(req, ExportBodyLimit)
      if (read.tooLarge) return reply.error(Errors.jsonTooLarge(ExportBodyLimit))
      const parsed = parseJsonBody(read.body)
      if (!parsed.ok) return reply.error(parsed.error)
      const checked = checkExportRequest(parsed.value)
      if (!checked.ok) return reply.error(checked.error)
      const refused = deps.quota.reserve('user_export', 1)
      if (refused !== undefined) return reply.error(Errors.usageLimitExceeded('UserExport', 'user_export', refused))
      const createdAtNs = deps.now()
      const task: ExportTask = {
        id: randomId('userexport_'),
        createdAtNs,
        createdAt: formatRfc3339Nano(createdAtNs),
        request: checked.request,
        status: 'pending',
      }
      deps.tasks.add(task)
      void run(task, origin(req))
      return reply.result(exportTaskJson(task))
    },
  }
  const get: Route = {
    method: 'GET',
    pattern: /^\/_api\/admin\/users\/export\/([^/]+)$/,
    async handle(req, [id]) {
      if (!deps.settings.enabled) return reply.error(disabled())
      const task = id === undefined ? undefined : deps.tasks.get(decodeURIComponent(id))
      if (task === undefined) return reply.error(Errors.taskNotFound())
      const url = task.file === undefined ? undefined : deps.files.sign(task.file, origin(req))
      return reply.result(exportTaskJson(task, url))
    },
  }
  return [create, get]
}
