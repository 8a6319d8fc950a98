import type { IdentifierType } from '../core/mapped-record.ts'
import type { JobRunner } from './import-scheduler.ts'
import type { WorkItem } from './work-item.ts'

/**
 * Splits one scheduler job into its imports (to the import sink) and its source deletes (to the
 * delete runner), run side by side. The scheduler holds the identifier locks of all of them until
 * both finish, so an upsert and a delete of one user never overlap, and within a job the last
 * version of a user (import or delete) has already won. Rejects with the first run-stopping error
 * once both parts have stopped.
 */
export function routeJob(imports: JobRunner, deletes: ((items: WorkItem[]) => Promise<void>) | undefined): JobRunner {
  return async (identifier: IdentifierType, items: WorkItem[]) => {
    const removals = items.filter((item) => item.mapped.action === 'delete')
    if (removals.length === 0) return imports(identifier, items)
    if (!deletes) throw new Error('a delete record reached the scheduler but no delete runner is configured')
    const upserts = items.filter((item) => item.mapped.action !== 'delete')
    const results = await Promise.allSettled([upserts.length > 0 ? imports(identifier, upserts) : Promise.resolve(), deletes(removals)])
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')
    if (failed) throw failed.reason
  }
}
