import type { Outcome } from '../core/outcome.ts'
import type { WorkItem } from './work-item.ts'

/**
 * The outcome of a record replaced by `by`, a later version of its user in the same batch. When
 * the earlier version carried a password the later one lacks (a database user and a social user
 * of one email, say), the report line says so: the password is not sent and cannot be added later.
 * Only the version that replaced it is known here, not the one finally sent (a third may carry a
 * password again), so the warning says as much.
 */
export function supersededOutcome(item: WorkItem, by: WorkItem | undefined): Outcome {
  const passwordLost = by !== undefined && item.mapped.passwordLane === 'imported' && by.mapped.passwordLane !== 'imported'
  return {
    kind: 'superseded',
    message: 'a later version of this user in the same import job replaced it',
    attempts: item.attempts,
    ...(passwordLost
      ? { warnings: [`its ${item.mapped.passwordAlgorithm} password was not sent: the later version that replaced it (${by.source.origin}) carries none, so the user has no password unless a version after that one carries it`] }
      : {}),
  }
}
