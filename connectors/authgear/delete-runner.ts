import type { Logger } from '../../src/core/run-context.ts'
import type { Outcome } from '../../src/core/outcome.ts'
import { profileAttributes } from '../../src/core/mapped-record.ts'
import type { Metrics } from '../../src/observability/metrics.ts'
import type { WorkItem } from '../../src/runtime/work-item.ts'
import type { AdminGraphqlClient } from './graphql-client.ts'
import type { GraphqlUser } from './graphql-users.ts'
import { GraphqlError } from './graphql-client.ts'
import { userIdOfNode } from './graphql-node-id.ts'
import { deleteUser, heldLogin, setDisabledStatus, usersByStandardAttribute, type StandardLoginAttribute } from './graphql-users.ts'
import type { DeleteLimits } from './delete-limits.ts'

/** What a source delete does to the Authgear user. */
export type DeleteAction = 'ignore' | 'disable' | 'delete'

export interface DeleteRunnerOptions {
  readonly action: DeleteAction
  /** Needed unless `action` is `ignore`. */
  readonly client?: AdminGraphqlClient
  readonly limits: DeleteLimits
  readonly reason: string
  /**
   * The records were imported under upsert, so a row's user holds the names of its latest version
   * imported: a user with other names than the deleted row's (`MappedRecord.profile`) is not its.
   * Without upsert, the user keeps the first version's, and names tell nothing.
   */
  readonly upserted?: boolean
  readonly complete: (item: WorkItem, outcome: Outcome) => void
  /**
   * Whether the record a delete's `sharedWith` names was applied (see `AppliedRecords`; undefined:
   * not known, taken as applied): when it was not, the user the delete would find is not that
   * row's. Without this hook, such a delete goes on as any other.
   */
  readonly applied?: (key: string) => boolean | undefined
  /** Asked once the user is found, before it is changed: an outcome leaves the user as it is. */
  readonly spare?: (item: WorkItem, user: GraphqlUser) => Promise<Outcome | undefined> | Outcome | undefined
  readonly metrics?: Metrics
  readonly logger: Logger
  readonly signal?: AbortSignal
}

/**
 * Applies source deletes (records with `action: 'delete'`) through the Admin API GraphQL endpoint:
 * the user is found with `getUsersByStandardAttribute` by the record's identifier, then disabled
 * (`setDisabledStatus`) or deleted (`deleteUser`), one mutation at a time under the rate cap.
 * Every item gets exactly one outcome: `deleted`, `disabled`, `skipped` (`delete_ignored`,
 * `delete_key_changed`, `delete_shared`, `delete_not_found`, `already_disabled`) or `failed` (`delete_paused`, `delete_ambiguous`,
 * `delete_conflict`, `delete_unmatched`, `delete_shared_lost`, `delete_failed`), and failed ones are dead-lettered. Resolves when all items have outcomes;
 * rejects only on a run-stopping error (JWT refused, Authgear unreachable), leaving the rest pending.
 */
export class DeleteRunner {
  readonly #o: DeleteRunnerOptions

  constructor(options: DeleteRunnerOptions) {
    if (options.action !== 'ignore' && !options.client) throw new Error('DeleteRunner: a GraphQL client is needed to disable or delete users')
    this.#o = options
  }

  async run(items: readonly WorkItem[]): Promise<void> {
    for (const item of items) this.#o.complete(item, await this.#one(item))
  }

  /**
   * Why the user a delete leaves to another row is not there for it, or undefined when it is: a
   * replica that had not read that row (or a process before a restart) deleted or disabled it for
   * this delete, or someone did in Authgear. Said, since the report would otherwise say the user
   * was left to the row.
   */
  async #lostToOthers(identifier: StandardLoginAttribute, value: string): Promise<string | undefined> {
    await this.#o.limits.slot(this.#o.signal)
    const users = await usersByStandardAttribute(this.#o.client!, identifier, value, this.#o.signal)
    if (users.length === 0) return `no Authgear user has ${identifier} ${value} now: it was deleted since (by a replica that had not read that row, a process before a restart, or in Authgear)`
    // Disabled by a delete: with this run's reason. One an administrator disabled for another reason stays so.
    const user = users.length === 1 ? users[0]! : undefined
    const byDelete = this.#o.action === 'disable' && user !== undefined && disabledForGood(user) && (user.disableReason ?? '') === this.#o.reason
    return byDelete ? `the Authgear user with ${identifier} ${value} is disabled now, with the reason deletes give (by a replica that had not read that row, or a process before a restart): enable it in Authgear if it is that row's` : undefined
  }

  async #one(item: WorkItem): Promise<Outcome> {
    const { action, limits, metrics } = this.#o
    const count = (result: string) => metrics?.deletes.inc({ action, result })
    if (action === 'ignore') {
      count('skipped')
      return { kind: 'skipped', code: 'delete_ignored', message: 'deleted in the source; deletes.policy is ignore' }
    }
    const { identifier, identifierValue, sharedWith, keyChangedTo } = item.mapped
    if (keyChangedTo !== undefined && sharedWith !== undefined && !sharedWith.last && this.#o.applied?.(sharedWith.record) !== false) {
      count('conflict')
      // The row may have changed key again since: the user is that later key's row's.
      const since = sharedWith.row === keyChangedTo ? '' : ` (and since to ${sharedWith.row})`
      return { kind: 'failed', code: 'delete_conflict', message: `not ${action}d: the row's primary key changed to ${keyChangedTo}${since} (Debezium's __debezium.newkey header), but a change read under the old key after the new key's record was applied over the user, which holds that older change now. Produce row ${sharedWith.row}'s change again (touch the row) so the user holds its data` }
    }
    if (keyChangedTo !== undefined) {
      count('skipped')
      const message = `not ${action}d: the row's primary key changed to ${keyChangedTo} (Debezium's __debezium.newkey header): the row goes on under that key, and so does its user`
      return { kind: 'skipped', code: 'delete_key_changed', message, warnings: [message] }
    }
    // The row named was read before this delete, and its import sent before it (the delete waits
    // for its identifier): refused or skipped, it took no user, and the delete goes on. An outcome
    // not known here (superseded by a later version in its batch, or forgotten) counts as applied:
    // deleting a user a live row may hold is the loss to avoid.
    if (sharedWith !== undefined && this.#o.applied !== undefined && this.#o.applied(sharedWith.record) !== false) {
      const shared = `the row keyed ${sharedWith.row}, read before this delete, has ${identifier} ${identifierValue} too (a row created with it, on another partition, or a second row of one account), and its import was applied to the user this delete would find`
      if (sharedWith.last) {
        let lost: string | undefined
        try {
          lost = await this.#lostToOthers(identifier, identifierValue)
        } catch (error) {
          // As the lookups below: refused for this record alone, dead-lettered; anything else stops the run.
          if (!(error instanceof GraphqlError)) throw error
          count('failed')
          return callFailed(error)
        }
        if (lost !== undefined) {
          count('conflict')
          return { kind: 'failed', code: 'delete_shared_lost', message: `not ${action}d: ${shared}, but ${lost}. If row ${sharedWith.row} still exists in the source, produce its change again (touch the row) so that it has a user` }
        }
        count('skipped')
        const message = `not ${action}d: ${shared}: the user is left to that row`
        return { kind: 'skipped', code: 'delete_shared', message, warnings: [message] }
      }
      // A change of the deleted row read after it was applied over it: the user holds the deleted
      // row's data. Deleted, that row would lose its user; left, it keeps the deleted row's profile.
      count('conflict')
      return { kind: 'failed', code: 'delete_conflict', message: `not ${action}d: ${shared}, but a later change of the deleted row was applied to that user after it, so the user holds the deleted row's profile (and login IDs). Produce row ${sharedWith.row}'s change again (touch the row) so the user holds its data` }
    }
    const admitted = limits.admit()
    if (admitted !== 'admitted') {
      if (admitted === 'tripped') {
        metrics?.deletesPaused.set(1)
        this.#o.logger.error({ action }, 'Delete safety limit reached: deletes are paused for the rest of this run and dead-lettered with delete_paused. Check the source, then restart to resume.')
      }
      count('paused')
      return { kind: 'failed', code: 'delete_paused', message: `not ${action}d: the delete safety limit tripped; replay this record once the source is checked` }
    }
    const client = this.#o.client!
    let userId: string | undefined
    try {
      await limits.slot(this.#o.signal)
      let users = await usersByStandardAttribute(client, identifier, identifierValue, this.#o.signal)
      // A user found by it is another row's when that row's record was applied (or may have been).
      const also = item.mapped.alsoAs?.heldBy !== undefined && this.#o.applied?.(item.mapped.alsoAs.heldBy) !== false ? undefined : item.mapped.alsoAs
      if (also !== undefined) {
        // The row's login ID may have been changed in Authgear since its change was dead-lettered.
        await limits.slot(this.#o.signal)
        const others = (await usersByStandardAttribute(client, also.identifier, also.identifierValue, this.#o.signal)).filter((other) => !users.some((user) => user.id === other.id))
        if (users.length > 0 && others.length > 0) {
          count('conflict')
          return { kind: 'failed', code: 'delete_conflict', message: `not ${action}d: the row's ${identifier} changed from ${identifierValue} to ${also.identifierValue} in a change dead-lettered identifier_changed, and Authgear has both, on different users; which is the row's is not known here. Find it in Authgear and ${action} it there` }
        }
        if (users.length === 0) users = others
      }
      if (users.length === 0 && item.mapped.imageRefused !== undefined) {
        count('not_found')
        return { kind: 'failed', code: 'delete_unmatched', message: `not ${action}d: no Authgear user has ${identifier} ${identifierValue}, and the deleted row's last version was dead-lettered (${item.mapped.imageRefused}), so its user may hold other login IDs (an earlier version's, or ones changed in Authgear since)${also !== undefined ? `; nobody has ${also.identifier} ${also.identifierValue} either` : ''}; find it in Authgear and ${action} it there` }
      }
      if (users.length === 0) {
        count('not_found')
        return { kind: 'skipped', code: 'delete_not_found', message: `no Authgear user has ${identifier} ${identifierValue}: never imported, or already deleted (a delete read again after a stop before its offset was committed finds it gone)` }
      }
      if (users.length > 1) {
        count('ambiguous')
        return { kind: 'failed', code: 'delete_ambiguous', message: `${users.length} Authgear users match ${identifier} ${identifierValue} (login ID and OAuth claims); none was changed` }
      }
      const user = users[0]!
      userId = userIdOfNode(user.id) ?? user.id
      const moved = movedOn(item, user, this.#o.upserted === true)
      if (moved !== undefined) {
        // Under disable, a user disabled for good needs nothing, whoever's it is: nothing to leave.
        if (action === 'disable' && disabledForGood(user)) {
          count('skipped')
          return alreadyDisabled(userId)
        }
        count('conflict')
        return { kind: 'failed', code: 'delete_conflict', userId, message: `not ${action}d: the Authgear user with ${identifier} ${identifierValue} ${moved}: a row created since with that ${identifier} may hold it (read before the delete, on another partition or by another replica), or it was changed in Authgear. Check the source and the user: if it is the deleted row's, ${action} it in Authgear (this record, replayed, is refused the same way)` }
      }
      const spared = await this.#o.spare?.(item, user)
      if (spared !== undefined) {
        count('skipped')
        return { ...spared, userId }
      }
      if (action === 'disable') {
        // A temporary disable ends by itself; a user deleted in the source is disabled for good.
        if (disabledForGood(user)) {
          count('skipped')
          return alreadyDisabled(userId)
        }
        await limits.slot(this.#o.signal)
        await setDisabledStatus(client, user.id, true, this.#o.reason, this.#o.signal)
        count('done')
        return { kind: 'disabled', userId }
      }
      await limits.slot(this.#o.signal)
      await deleteUser(client, user.id, this.#o.reason, this.#o.signal)
      count('done')
      return { kind: 'deleted', userId }
    } catch (error) {
      if (error instanceof GraphqlError && userId !== undefined && error.attempt > 1 && appliedBefore(action, error)) {
        // An earlier attempt was applied and only its reply was lost: the retry found it done.
        count('done')
        return action === 'disable' ? { kind: 'disabled', userId } : { kind: 'deleted', userId }
      }
      if (error instanceof GraphqlError) {
        count('failed')
        return callFailed(error)
      }
      // Run-stopping (ConnectorError: JWT refused, Authgear unreachable) or a bug: the item stays pending.
      throw error
    }
  }
}

/** Disabled indefinitely: a temporary disable ends by itself. */
function disabledForGood(user: GraphqlUser): boolean {
  return user.isDisabled && !user.temporarilyDisabledUntil
}

function alreadyDisabled(userId: string): Outcome {
  return { kind: 'skipped', code: 'already_disabled', userId, message: 'the user is already disabled' }
}

/** A GraphQL call Authgear refused for this record alone: dead-lettered with its errors. */
function callFailed(error: GraphqlError): Outcome {
  return { kind: 'failed', code: 'delete_failed', message: error.message, reason: error.errors.map((e) => e.extensions ?? { message: e.message }) }
}

/**
 * How the user found for a delete differs from the deleted row, by the other login IDs the row
 * held (`MappedRecord.freedLogins`) and its names (`MappedRecord.profile`), or undefined when it
 * does not: a row created since with the deleted row's identifier (read before the delete, from
 * another partition, or by another replica) updated that user, and deleting it would delete the
 * new row's user.
 */
function movedOn(item: WorkItem, user: GraphqlUser, upserted: boolean): string | undefined {
  for (const { identifier, value } of item.logins ?? []) {
    const now = heldLogin(user, identifier)
    if (now !== value.toLowerCase()) return now !== undefined ? `has ${identifier} ${now}, not the deleted row's ${value}` : `has no ${identifier} (the deleted row had ${value})`
  }
  if (!upserted) return undefined
  // The names of a row of this identifier deleted before (two rows of one account): no live row's.
  // All of them: a deleted row that had only a given name says nothing of a user with a family name too.
  const holds = (names: Readonly<Record<string, string>>): boolean => profileAttributes.every((attribute) => user.standardAttributes?.[attribute] === names[attribute])
  if (item.mapped.deletedProfiles?.some(holds)) return undefined
  // The message names the attribute, not the values: a person's names need not be in dead letters.
  for (const [attribute, value] of Object.entries(item.mapped.profile ?? {})) {
    if (user.standardAttributes?.[attribute] !== value) return `has another ${attribute} than the deleted row's (or none)`
  }
  return undefined
}

/**
 * Whether a mutation's error says it was already done: the user gone after `deleteUser`, or
 * already disabled for good after `setDisabledStatus` (`… -> disabled` from `disabled`).
 */
function appliedBefore(action: DeleteAction, error: GraphqlError): boolean {
  const first = error.errors[0]
  if (action === 'delete') return first?.extensions?.reason === 'UserNotFound'
  return first?.extensions?.reason === 'InvalidAccountStatusTransition' && /\bdisabled -> disabled$/.test(first.message)
}
