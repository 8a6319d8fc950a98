import { Errors, validationFailed } from './api-error.ts'
import { formatRfc3339Nano, randomId } from './clock.ts'
import { jsonContentType } from './content-type.ts'
import { importJobJson, type ImportJob, type ImportTask } from './import-job.ts'
import { checkImportRequest } from './import-request.ts'
import type { ImportWorkers } from './import-workers.ts'
import { parseJsonBody, readBody } from './json-body.ts'
import type { JobStore } from './job-store.ts'
import { reply } from './reply.ts'
import type { Route } from './router.ts'
import type { UsageQuota } from './usage-quota.ts'

/** Authgear's `BodyMaxSize` for import: 500 * 1000 bytes. */
export const ImportBodyLimit = 500_000
/** Records per task (`recordsPerTask`). */
export const RecordsPerTask = 100

export interface ImportRouteDeps {
  readonly jobs: JobStore<ImportJob>
  readonly workers: ImportWorkers
  readonly quota: UsageQuota
  readonly now: () => bigint
}

/** `POST /_api/admin/users/import` and `GET /_api/admin/users/import/:id`. */
export function importRoutes(deps: ImportRouteDeps): Route[] {
  const create: Route = {
    method: 'POST',
    pattern: /^\/_api\/admin\/users\/import$/,
    async handle(req) {
      if (!jsonContentType(req.headers['content-type'])) return reply.error(Errors.badContentType())
      const read = await readBody(req, ImportBodyLimit)
      if (read.tooLarge) return reply.error(Errors.jsonTooLarge(ImportBodyLimit))
      const parsed = parseJsonBody(read.body)
      if (!parsed.ok) return reply.error(parsed.error)
      const checked = checkImportRequest(parsed.value)
      if (!checked.ok) return reply.error(validationFailed('invalid request body', checked.causes))
      const { identifier, upsert, records } = checked.request
      const refused = deps.quota.reserve('user_import', records.length)
      if (refused !== undefined) return reply.error(Errors.usageLimitExceeded('UserImport', 'user_import', refused))
      const tasks: ImportTask[] = []
      for (let offset = 0; offset < records.length; offset += RecordsPerTask) {
        tasks.push({ offset, records: records.slice(offset, offset + RecordsPerTask), status: 'pending' })
      }
      const createdAtNs = deps.now()
      const job: ImportJob = {
        id: randomId('userimport_'),
        createdAtNs,
        createdAt: formatRfc3339Nano(createdAtNs),
        identifier,
        upsert,
        tasks,
        pendingTasks: tasks.length,
      }
      deps.jobs.add(job)
      deps.workers.enqueue(job)
      return reply.result(importJobJson(job))
    },
  }
  const get: Route = {
    method: 'GET',
    pattern: /^\/_api\/admin\/users\/import\/([^/]+)$/,
    async handle(_req, [id]) {
      const job = id === undefined ? undefined : deps.jobs.get(decodeURIComponent(id))
      if (job === undefined) return reply.error(Errors.taskNotFound())
      return reply.result(importJobJson(job))
    },
  }
  return [create, get]
}
