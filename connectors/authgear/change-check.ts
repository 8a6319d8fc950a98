import type { IdentifierType } from '../../src/core/mapped-record.ts'
import type { Outcome } from '../../src/core/outcome.ts'
import type { Metrics } from '../../src/observability/metrics.ts'
import type { JobRunner } from '../../src/runtime/import-scheduler.ts'
import type { WorkItem } from '../../src/runtime/work-item.ts'
import { IdentifierTypes } from '../../mappings/record.ts'
import type { AdminGraphqlClient } from './graphql-client.ts'
import { GraphqlError } from './graphql-client.ts'
import { userIdOfNode } from './graphql-node-id.ts'
import { usersByStandardAttribute, type GraphqlUser } from './graphql-users.ts'

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
 * Debezium before image). Such a record is matched by an unchanged login ID (its username). A row
 * whose earlier version was refused for a username another user holds would move its new email
 * onto that user, so the user found with `getUsersByStandardAttribute` must look like the row's
 * (see `otherRowsLogin`), or differ only where the row's earlier value is a third user's (an
 * earlier change of the row refused for it: `heldElsewhere`). Otherwise the record is
 * dead-lettered `change_conflict`; one whose lookup Authgear refuses `change_check_failed`.
 * Run-stopping errors (JWT refused, Authgear unreachable) reject, leaving the records pending.
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

/** The outcome of a record not to send, or undefined when every user found is the row's. */
async function refusal(item: WorkItem, options: ChangeCheckOptions): Promise<Outcome | undefined> {
  const { identifier, identifierValue } = item.mapped
  let users: GraphqlUser[]
  try {
    users = await usersByStandardAttribute(options.client, identifier, identifierValue, options.signal)
  } catch (error) {
    if (!(error instanceof GraphqlError)) throw error
    return { kind: 'failed', code: 'change_check_failed', message: `not sent: looking up the user with ${identifier} ${identifierValue} failed: ${error.message}. Replay this record`, reason: error.errors.map((e) => e.extensions ?? { message: e.message }) }
  }
  for (const user of users) {
    const other = otherRowsLogin(item, user)
    if (other === undefined) continue
    if (await heldElsewhere(other, user, options)) continue
    // Not the outcome's userId: the report maps this row to its own user, which this one may not be.
    const id = userIdOfNode(user.id) ?? user.id
    return {
      kind: 'failed',
      code: 'change_conflict',
      message:
        `not sent: the Authgear user with ${identifier} ${identifierValue} (${id}) ${other.text}, and holds none of the row's other login IDs: it is another row's user ` +
        `(this row's earlier version was never imported, refused for a login ID that user holds), or this row's own user changed since in Authgear. ` +
        `If it is this row's user, set its ${other.type} to ${other.after ?? 'the row\'s'} in Authgear; otherwise fix the source. Then replay this record`,
    }
  }
  return undefined
}

/**
 * Whether the row's earlier value of the login ID `user` differs on is another user's: the
 * earlier version of the row was then refused for it (an email change to a colleague's email),
 * and `user`, which kept the value from before, is the row's own.
 */
async function heldElsewhere(other: Difference, user: GraphqlUser, options: ChangeCheckOptions): Promise<boolean> {
  if (other.before === undefined) return false
  let holders: GraphqlUser[]
  try {
    holders = await usersByStandardAttribute(options.client, other.type, other.before, options.signal)
  } catch (error) {
    if (error instanceof GraphqlError) return false
    throw error
  }
  return holders.some((holder) => holder.id !== user.id)
}

/** A login ID on which the user found differs from the row: its type, the row's values, and the wording. */
interface Difference {
  readonly type: IdentifierType
  readonly before: string | undefined
  readonly after: string | undefined
  readonly text: string
}

/**
 * How `user` shows it is another row's user, or undefined when it may be this row's. The login
 * IDs besides the one it was found by are compared, as Authgear folds them, with the row's
 * earlier and new values of each type the row has (a type the row never had is not compared: a
 * user may have added a phone in Authgear that the source knows nothing of). A user holding any
 * of them is the row's, even where it differs on another: an earlier change of the row (a
 * username another user held) may have been refused. One that holds none of them and differs on
 * one is another row's.
 */
function otherRowsLogin(item: WorkItem, user: GraphqlUser): Difference | undefined {
  const earlier = item.mapped.earlierLogins ?? {}
  const record = item.mapped.record as Partial<Record<IdentifierType, unknown>>
  let differs: Difference | undefined
  for (const type of IdentifierTypes) {
    if (type === item.mapped.identifier) continue
    const held = user.standardAttributes?.[type]
    const now = typeof held === 'string' && held !== '' ? held.toLowerCase() : undefined
    const before = earlier[type]
    const after = typeof record[type] === 'string' && record[type] !== '' ? record[type] : undefined
    if (before === undefined && after === undefined) continue
    if (now !== undefined && (now === before?.toLowerCase() || now === after?.toLowerCase())) return undefined
    if (differs !== undefined || now === before?.toLowerCase() || now === after?.toLowerCase()) continue
    const was = before === undefined ? `had no ${type}` : `had ${before}`
    const is = after === undefined ? 'has none' : `has ${after}`
    differs = { type, before, after, text: `${now === undefined ? `has no ${type}` : `has ${type} ${held as string}`}, while the row ${was} and now ${is}` }
  }
  return differs
}
