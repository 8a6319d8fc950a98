import type { IdentifierType } from '../../src/core/mapped-record.ts'
import type { Outcome } from '../../src/core/outcome.ts'
import type { Metrics } from '../../src/observability/metrics.ts'
import type { JobRunner } from '../../src/runtime/import-scheduler.ts'
import type { WorkItem } from '../../src/runtime/work-item.ts'
import { IdentifierTypes } from '../../mappings/record.ts'
import type { AdminGraphqlClient } from './graphql-client.ts'
import { GraphqlError } from './graphql-client.ts'
import { userIdOfNode } from './graphql-node-id.ts'
import { heldLogin, usersByStandardAttribute, type GraphqlUser } from './graphql-users.ts'

export interface ChangeCheckOptions {
  readonly client: AdminGraphqlClient
  /** Writes the outcome of a record that is not sent. */
  readonly complete: (item: WorkItem, outcome: Outcome) => void
  readonly metrics?: Metrics
  readonly signal?: AbortSignal
}

/** Lookups of one job run at once, at most. */
const parallelLookups = 8

/**
 * Runs `next` on a job's records after checking the identifier changes among them that were
 * judged from a version of the row Authgear may never have had (`MappedRecord.earlierLogins`: a
 * Debezium before image). Such a record is matched by an unchanged login ID (its username); a row
 * whose earlier version was refused for a username another user holds would move its new email
 * onto that user. So the user holding it is looked up (`getUsersByStandardAttribute`), and a
 * record whose user may be another row's (`otherRowsLogin`) is dead-lettered `change_conflict`,
 * one whose lookup Authgear refuses `change_check_failed`. Run-stopping errors (JWT refused,
 * Authgear unreachable) reject, leaving the job's records pending.
 */
export function checkChanges(next: JobRunner, options: ChangeCheckOptions): JobRunner {
  return async (identifier, items) => {
    const checked = items.filter((item) => item.mapped.earlierLogins !== undefined)
    if (checked.length === 0) return next(identifier, items)
    const refused = new Set<WorkItem>()
    const queue = [...checked]
    const worker = async (): Promise<void> => {
      for (let item = queue.shift(); item !== undefined; item = queue.shift()) {
        const outcome = await refusal(item, options)
        if (outcome === undefined) continue
        refused.add(item)
        if (outcome.code === 'change_conflict') options.metrics?.loginChanges.inc({ result: 'conflict' })
        options.complete(item, outcome)
      }
    }
    await Promise.all(Array.from({ length: Math.min(parallelLookups, checked.length) }, worker))
    const sent = refused.size === 0 ? items : items.filter((item) => !refused.has(item))
    if (sent.length > 0) await next(identifier, sent)
  }
}

/** The users holding a login ID, or the outcome of a lookup Authgear refused (`change_check_failed`); run-stopping errors reject. */
async function lookUp(options: ChangeCheckOptions, identifier: IdentifierType, value: string): Promise<GraphqlUser[] | Outcome> {
  try {
    return await usersByStandardAttribute(options.client, identifier, value, options.signal)
  } catch (error) {
    if (!(error instanceof GraphqlError)) throw error
    return { kind: 'failed', code: 'change_check_failed', message: `not sent: looking up the user with ${identifier} ${value} failed: ${error.message}. Replay this record`, reason: error.errors.map((e) => e.extensions ?? { message: e.message }) }
  }
}

/** The outcome of a record not to send, or undefined when every user found is the row's. */
async function refusal(item: WorkItem, options: ChangeCheckOptions): Promise<Outcome | undefined> {
  const { identifier, identifierValue } = item.mapped
  const users = await lookUp(options, identifier, identifierValue)
  if (!Array.isArray(users)) return users
  const changedFrom = item.mapped.changedFrom
  if (changedFrom !== undefined && users.length === 0) {
    return {
      kind: 'rejected',
      code: 'identifier_changed',
      message: changedFrom.back
        ? `not sent: the row's ${changedFrom.identifier} changed back from ${changedFrom.identifierValue} to ${identifierValue} after an earlier change was dead-lettered identifier_changed, and no Authgear user has ${identifier} ${identifierValue} any more (its login ID was changed in Authgear meanwhile): imported, this record would be a second user. Change the login ID in Authgear back to ${identifierValue}, then replay this record`
        : `not sent: the row's ${changedFrom.identifier} changed from ${changedFrom.identifierValue} to ${identifierValue} in a change dead-lettered identifier_changed, and no Authgear user has ${identifier} ${identifierValue} yet: imported, this record would be a second user. Change the login ID in Authgear (portal or Admin API), then replay this record`,
    }
  }
  if (changedFrom !== undefined && changedFrom.back !== true) {
    // Someone holds the new identifier: the row's own user only if its login ID was changed in
    // Authgear, which leaves no other user holding the old one. Another user still holding it
    // makes the user found another's (an email freed in the source that another user still has).
    const holders = await lookUp(options, changedFrom.identifier, changedFrom.identifierValue)
    if (!Array.isArray(holders)) return holders
    const other = holders.find((holder) => !users.some((user) => user.id === holder.id))
    if (other !== undefined) {
      return {
        kind: 'failed',
        code: 'change_conflict',
        message: `not sent: the row's ${changedFrom.identifier} changed from ${changedFrom.identifierValue} to ${identifierValue} in a change not imported, and Authgear has both: ${identifier} ${identifierValue} on user ${userIdOfNode(users[0]!.id) ?? users[0]!.id}, ${changedFrom.identifier} ${changedFrom.identifierValue} on user ${userIdOfNode(other.id) ?? other.id}. Sent, this record would update the first, which is not the row's. Free ${identifierValue} in Authgear (or fix the source), set the row's user's login ID, then replay this record`,
      }
    }
  }
  for (const user of users) {
    const other = otherRowsLogin(item, user)
    if (other === undefined) continue
    // Not the outcome's userId: the report maps this row to its own user, which this one is not.
    return {
      kind: 'failed',
      code: 'change_conflict',
      message:
        `not sent: the Authgear user with ${identifier} ${identifierValue} (${userIdOfNode(user.id) ?? user.id}) ${other}, and holds none of the row's other login IDs. ` +
        `Either it is another row's user (this row's earlier version never reached Authgear: refused for a login ID that user holds), or it is this row's own ` +
        `and an earlier change of the row was refused, its login IDs were changed in Authgear, or a later change of the row is applied already (an event delivered twice). ` +
        `Compare it with the row in the source: if it is the row's user and already holds the row's current values, nothing needs doing; if it is the row's user, ` +
        `set its login IDs in Authgear to the row's current ones and replay this record; otherwise fix the source`,
    }
  }
  return undefined
}

/**
 * How `user` shows it may be another row's user, or undefined when it is this row's. Its login IDs
 * besides the one it was found by are compared with the row's earlier and new values of each type
 * the row has (a type the row never had is not compared: a user may have added a phone in
 * Authgear that the source knows nothing of). A user holding any of them is the row's, even where
 * it differs on another (an earlier change of the row, to a username another user held, was
 * refused). One that holds none of them and differs on one may be another row's: nothing in a
 * before image tells it from the row's own user that kept older values after a refused change, and
 * the record is not sent, since a wrong user changed cannot be undone.
 */
function otherRowsLogin(item: WorkItem, user: GraphqlUser): string | undefined {
  const earlier = item.mapped.earlierLogins ?? {}
  const record = item.mapped.record as Partial<Record<IdentifierType, unknown>>
  let differs: string | undefined
  for (const type of IdentifierTypes) {
    if (type === item.mapped.identifier) continue
    const before = earlier[type]
    const after = typeof record[type] === 'string' && record[type] !== '' ? record[type] : undefined
    if (before === undefined && after === undefined) continue
    const now = heldLogin(user, type)
    const either = now === before?.toLowerCase() || now === after?.toLowerCase()
    if (either && now !== undefined) return undefined
    if (!either) differs ??= `${now === undefined ? `has no ${type}` : `has ${type} ${now}`}, while the row ${before === undefined ? `had no ${type}` : `had ${before}`} and now ${after === undefined ? 'has none' : `has ${after}`}`
  }
  return differs
}
