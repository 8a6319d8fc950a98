import { profileAttributes, type IdentifierType, type LoginsRead, type MappedRecord, type MappingResult } from '../../src/core/mapped-record.ts'
import type { ReadableRecord } from '../../src/core/source-record.ts'
import { identifierUnchanged, loginsOf, matchByUnchangedLogin } from '../../mappings/identifier-change.ts'
import type { DebeziumChange } from './debezium-envelope.ts'
import { DEBEZIUM_CHANGE } from './message-decoder.ts'

/** A row mapping: one row image (as a source record) → an import record. Pure. */
export type RowMapping = (record: ReadableRecord) => MappingResult

function rowRecord(source: ReadableRecord, row: Record<string, unknown>): ReadableRecord {
  return { kind: 'data', key: source.key, origin: source.origin, data: row }
}

/**
 * Maps Debezium change events of a users table with a row mapping.
 *
 * - `c`, `r`, `u`: the `after` image is mapped and imported (an update of an existing user under `sink.upsert`).
 * - `d`: the `before` image gives the identifier; the record becomes a delete (`action: 'delete'`)
 *   for the delete policy, carrying the row's other login IDs (`freedLogins`). Without a usable `before` (PostgreSQL's default REPLICA IDENTITY only
 *   carries the key) the event is rejected with `delete_without_identifier`.
 * - An update whose identifier is a login ID the row did not have (a changed email, or a first
 *   email for a user matched by username until now): Authgear's import matches by the identifier
 *   and cannot change it, so the new value would create a second user.
 *   If another login ID of the row is unchanged (username or phone), the record is matched by that
 *   one instead, which updates the changed login ID in place, and a warning reports it. Otherwise
 *   it is rejected with `identifier_changed` and dead-lettered, naming both values.
 */
export function createDebeziumMapping(row: RowMapping, options: { readonly deletes?: 'ignore' | 'disable' | 'delete' } = {}): (record: ReadableRecord) => MappingResult {
  const kept = options.deletes === 'ignore' || options.deletes === 'disable' ? new KeptLogins(options.deletes) : undefined
  const freed = options.deletes === 'delete' ? new DeletedLogins() : undefined
  const live = options.deletes === 'delete' || options.deletes === 'disable' ? new LiveIdentifiers() : undefined
  /** A primary-key change's old row (topic and old key) → its login IDs, read from the delete, until the create under the new key comes. */
  const movedRows = live === undefined ? undefined : new Map<string, LoginsRead>()
  /**
   * Rows (topic and key) whose identifier change was dead-lettered (`identifier_changed`) → the
   * login IDs Authgear still holds for them. Their later changes carry the new identifier in both
   * images, so without this each would be imported as a second user: they are sent marked
   * `changedFrom`, and the sink sends one only once a user holds its identifier.
   */
  const unfollowed = new Map<string, LoginsRead>()
  /**
   * Identifier → the names of rows deleted with it in this process while another row read here
   * held it (the latest few): a user left holding them is no live row's (two rows of one account,
   * both deleted), so a later delete of that identifier finding them on the user is not a user
   * another row updated. Forgotten once a record with that identifier is read here: a row
   * registered again may carry the same names.
   */
  const deletedNames = live === undefined ? undefined : new Map<string, readonly Readonly<Record<string, string>>[]>()
  const mapChange = (source: ReadableRecord): MappingResult => {
    const change = source.data[DEBEZIUM_CHANGE] as DebeziumChange | undefined
    if (!change) return { ok: false, rejection: { code: 'debezium_envelope', message: 'not a Debezium change event' } }
    if (change.op === 'd') {
      const name = rowOf(source.key, change.rowKey)
      const pending = take(unfollowed, name)
      const mapped = mapDelete(source, change, row)
      if (!mapped.ok) return mapped
      // Its identifier change never reached Authgear, whose user still has the earlier login IDs:
      // the delete finds it by those, and says so if it finds nobody (`imageRefused`).
      let deleted: Extract<MappingResult, { ok: true }> = pending === undefined ? mapped : { ok: true, value: deleteOf(pending, 'identifier_changed', mapped.value, live, name) }
      // Asked before the delete is noted, which carries the row's entry to a new key not read yet:
      // the identifier of the new key's create for this move, once read (not of an earlier row
      // that had that key, whose delete may lag).
      const moved = change.otherRowKey === undefined ? undefined : live?.movedIdentifier(source.key, change.rowKey, change.otherRowKey)
      const sharedWith = live?.deleted(source.key, change.rowKey, deleted.value.identifierValue, change.otherRowKey)
      if (change.otherRowKey !== undefined && live !== undefined) {
        // A primary-key change deletes nothing: the row goes on under its new key, and so does its
        // user, which the create under that key (upsert) finds by the same login ID. A create read
        // first with another identifier got a user of its own: this one goes, as any delete.
        if (moved === undefined || moved === deleted.value.identifierValue) {
          if (moved === undefined && name !== undefined) remember(movedRows!, name, loginsOfDelete(deleted.value))
          // A change under the old key read after the new key's record (a partition that lags) was
          // applied over it: the runner says so instead of passing it over. The row may have moved
          // on again since (a second key change): any key it went on to counts.
          const overwritten = sharedWith !== undefined && !sharedWith.last && live.movedOnTo(source.key, change.otherRowKey, sharedWith.row)
          return { ok: true, value: { ...deleted.value, keyChangedTo: change.otherRowKey, ...(overwritten ? { sharedWith } : {}) } }
        }
      }
      if (deletedNames !== undefined) {
        const earlier = deletedNames.get(deleted.value.identifierValue)
        const profile = deleted.value.profile
        if (profile !== undefined && sharedWith !== undefined) remember(deletedNames, deleted.value.identifierValue, [...(earlier ?? []), profile].slice(-maxDeletedNames))
        if (earlier !== undefined) deleted = { ok: true, value: { ...deleted.value, deletedProfiles: earlier } }
      }
      kept?.add(change.rowKey, deleted.value, sharedWith?.last ? sharedWith.row : undefined)
      // A delete that may find its user by the row's current identifier (`alsoAs`) may free that
      // too: a row created with it waits for the delete, as for the identifier.
      const also = deleted.value.alsoAs
      freed?.add(source.key, also === undefined ? deleted.value : { ...deleted.value, freedLogins: [...(deleted.value.freedLogins ?? []), { identifier: also.identifier, value: also.identifierValue }] })
      return sharedWith === undefined ? deleted : { ok: true, value: { ...deleted.value, sharedWith } }
    }
    let after = row(rowRecord(source, change.after!))
    if (after.ok) deletedNames?.delete(after.value.identifierValue)
    // A new row (`c`, `r`): an update that takes one up changes a login ID, which is checked
    // against the user it matches (`change_conflict`).
    const held = change.op === 'u' ? undefined : kept?.refuse(change.rowKey, after, change.otherRowKey)
    if (held !== undefined) return held
    // The create of a primary-key change whose delete was read first (and left the user): the same
    // row, so a changed identifier is followed as an update's is.
    const movedFrom = change.op !== 'u' ? take(movedRows, rowOf(source.key, change.otherRowKey)) : undefined
    // A row whose identifier change was dead-lettered in this process: judged against the login
    // IDs Authgear still holds, not its before image.
    const name = rowOf(source.key, change.rowKey)
    const earlierHeld = movedFrom ?? take(unfollowed, name)
    if (after.ok && earlierHeld !== undefined) {
      if (identifierUnchanged(after.value, earlierHeld)) {
        // Changed back: unless its login ID was changed in Authgear meanwhile (then nobody holds
        // this one any more), the user still has it; the sink looks before sending.
        const back = change.op === 'u' && change.before !== null ? loginsOfImage(row(rowRecord(source, change.before))) : undefined
        if (back === undefined || identifierUnchanged(after.value, back)) return after
        return { ok: true, value: { ...after.value, earlierLogins: back.logins, changedFrom: { identifier: back.identifier, identifierValue: back.identifierValue, back: true } } }
      }
      const rerouted = matchByUnchangedLogin(after.value, earlierHeld, replayRemedy)
      if (rerouted.ok) return { ok: true, value: { ...rerouted.value, earlierLogins: earlierHeld.logins } }
      // Nothing unchanged to match by: sent only once a user holds the new identifier (its login
      // ID changed in Authgear, as the dead letter asks), else dead-lettered again; never a second user.
      if (name !== undefined) remember(unfollowed, name, earlierHeld)
      return { ok: true, value: { ...after.value, earlierLogins: earlierHeld.logins, changedFrom: { identifier: earlierHeld.identifier, identifierValue: earlierHeld.identifierValue } } }
    }
    if (!after.ok || change.op !== 'u') return after
    if (change.before === null) {
      // PostgreSQL's default REPLICA IDENTITY: nothing tells whether the login ID changed.
      return { ok: true, value: { ...after.value, warnings: [...after.value.warnings, noBeforeImage] } }
    }
    // Only its login IDs are wanted: a before image refused for its password or another field
    // (the version that was dead-lettered) still tells whether the login ID changed.
    const previous = row(rowRecord(source, change.before))
    // The same password and MFA secrets as the previous version: said apart when the upsert leaves them unapplied.
    if (previous.ok && sameSecrets(previous.value.record, after.value.record)) after = { ...after, value: { ...after.value, secretsUnchanged: true } }
    const earlier = loginsOfImage(previous)
    if (earlier === undefined) return after
    if (identifierUnchanged(after.value, earlier)) return after
    // A partial before image (REPLICA IDENTITY USING INDEX, MySQL binlog_row_image=MINIMAL) lacks
    // columns, so a login ID missing from it may be new or unchanged. Matching by a login ID the
    // image shows unchanged finds the user either way; with none, it cannot be told apart from an
    // ordinary update, which it is imported as.
    const partial = Object.keys(change.after!).some((column) => !(column in change.before!))
    const rerouted = matchByUnchangedLogin(after.value, earlier, replayRemedy)
    if (!rerouted.ok && !partial && name !== undefined) remember(unfollowed, name, earlier)
    if (!rerouted.ok) return partial ? after : rerouted
    // The before image is the row's, not necessarily what Authgear holds: the sink checks the user
    // it matches by it. A partial image cannot tell a login ID the row lacked from one it left out.
    return partial ? rerouted : { ok: true, value: { ...rerouted.value, record: rerouted.value.record, earlierLogins: earlier.logins } }
  }
  const marked = freed === undefined ? mapChange : (source: ReadableRecord) => freed.mark(mapChange(source))
  return live === undefined ? marked : (source) => live.saw(source, marked(source))
}

/** Most names of deleted rows remembered for one identifier (`deletedNames`). */
const maxDeletedNames = 8

/** Most rows remembered between a primary-key change's delete and its create, or with an identifier change not followed. */
const maxMovedRows = 10_000

function remember<T>(map: Map<string, T>, key: string, value: T, most = maxMovedRows): void {
  // Set anew, so that a key remembered again counts as the most recent.
  map.delete(key)
  map.set(key, value)
  if (map.size > most) map.delete(map.keys().next().value as string)
}

function take(map: Map<string, LoginsRead> | undefined, key: string | undefined): LoginsRead | undefined {
  const value = key === undefined ? undefined : map?.get(key)
  if (value !== undefined) map!.delete(key!)
  return value
}

/** Most login IDs of deleted rows remembered (a delete storm must not grow the heap without end): the oldest go first. */
const maxRememberedLogins = 100_000

/** A delete's login IDs: its identifier and the others it frees. */
function deletedValues(deleted: MappedRecord): string[] {
  return [deleted.identifierValue, ...(deleted.freedLogins ?? []).map((login) => login.value)]
}

/** Notes a deleted row's login IDs under `key`, the newest last, within `maxRememberedLogins`. */
function rememberLogins(byValue: Map<string, string>, deleted: MappedRecord, key: string): void {
  for (const value of deletedValues(deleted)) {
    byValue.delete(value)
    byValue.set(value, key)
    if (byValue.size > maxRememberedLogins) byValue.delete(byValue.keys().next().value as string)
  }
}

/**
 * Login IDs of rows deleted in the source whose users Authgear keeps (`deletes.policy` `ignore`
 * or `disable`: the user and its login IDs stay), read in this run. Another row created later with
 * one of them (an email registered again after an account was closed) would be matched by Authgear
 * to that user and, under upsert, update it: the new person would take over the old account, its
 * password included. Such a row is refused instead; the same row back (its message key, the
 * primary key, is the deleted one's: the row restored) is not.
 */
class KeptLogins {
  readonly #policy: 'ignore' | 'disable'
  /** Login ID → the deleted row's key. */
  readonly #byValue = new Map<string, string>()
  /** Login ID → the row a delete left its user to (`sharedWith`), when it may have. */
  readonly #sharers = new Map<string, string>()

  constructor(policy: 'ignore' | 'disable') {
    this.#policy = policy
  }

  /** `sharer`: the row the delete names as holding its user (`MappedRecord.sharedWith`). */
  add(key: string | undefined, deleted: MappedRecord, sharer?: string): void {
    if (key === undefined) return
    rememberLogins(this.#byValue, deleted, key)
    if (sharer !== undefined) rememberLogins(this.#sharers, deleted, sharer)
    else for (const value of deletedValues(deleted)) this.#sharers.delete(value)
  }

  refuse(key: string | undefined, mapped: MappingResult, oldKey?: string): MappingResult | undefined {
    if (!mapped.ok || this.#byValue.size === 0 || key === undefined) return undefined
    // Only by its identifier: Authgear matches the record by it. A kept user holding another of
    // its login IDs makes Authgear refuse the record (`InvariantViolated`), which takes nothing over.
    const { identifier, identifierValue } = mapped.value
    const holder = this.#byValue.get(identifierValue)
    if (holder === undefined) return undefined
    const logins = loginsOf(mapped.value)
    // The row a delete may have left the user to (`delete_shared`, when its import was applied,
    // which only the report says): refused all the same, since otherwise that user was disabled.
    const sharer = this.#sharers.get(identifierValue)
    if (holder === key || holder === oldKey) {
      // The row is back (or goes on under a new key): its user is its own again.
      for (const [value, of] of this.#byValue) if (of === holder) this.#byValue.delete(value)
      return undefined
    }
    // Refused once: the same change produced again (once that user is dealt with) goes through.
    this.#byValue.delete(identifierValue)
    return {
      ok: false,
      rejection: {
        code: 'login_id_held',
        message: `${identifier} ${identifierValue} was the row keyed ${holder}'s, deleted in the source, whose user Authgear keeps if it was imported (deletes.policy: ${this.#policy}): imported, this row would be matched to that user and take it over; ${sharer === undefined ? 'check that user in Authgear and delete it (or use deletes.policy: delete)' : sharer === key ? `this row was read before that delete and holds that user if its import was applied (the delete then left the user to it: delete_shared in the report), so if the report says so, just produce this row's change again; if not, that user is the deleted row's: delete it in Authgear first` : `the row keyed ${sharer}, read before that delete, had it too and holds that user if its import was applied (the delete then left the user to it: delete_shared in the report), so check whose that user is in Authgear; if it is the deleted row's, delete it`}, then produce this row's change again`,
      },
      loginsRead: { identifier, identifierValue, logins },
    }
  }
}

/** Most rows whose latest identifier is remembered (`LiveIdentifiers`): the least recently read go first. */
const maxRememberedRows = 100_000

/** Most primary-key changes remembered (`LiveIdentifiers`), to follow a row through its keys. */
const maxRememberedMoves = 10_000

/**
 * The identifier of each row's latest record read in this process (by topic and primary key, the
 * message key), for the delete policies that act on a user. Kafka orders a row's delete and
 * another row's create only within a partition, and Debezium keys by primary key: a row created
 * with a deleted row's email may be read first, and imported under upsert it updates the deleted
 * row's user, matched by that email. Its delete, read after, would then find that user and
 * delete or disable it, and the live row would be left without one. A second row of one account
 * (two rows with one email, one user) is the same case. So a delete whose identifier another
 * row's latest record carries names that row (`sharedWith`): the delete leaves the user to it
 * when that record was imported (inserted, or updated the user under upsert), which the delete
 * runner asks, since a record Authgear refused or skipped took nothing. A keyless message (a
 * table without a primary key) names no row and is not remembered.
 */
class LiveIdentifiers {
  /** Row → the identifier its latest record was sent by, that record's message key and read order; the least recently read first. */
  readonly #byRow = new Map<string, { readonly value: string; readonly record: string; readonly read: number }>()
  /** Identifier → the rows whose latest record carries it (mostly one). */
  readonly #byValue = new Map<string, string[]>()
  /** Row → the key a primary-key change moved it to, the oldest change first. */
  readonly #movedTo = new Map<string, string>()
  /** Row → the key its create (marked `__debezium.oldkey`) came from, the oldest first. */
  readonly #cameFrom = new Map<string, string>()
  #reads = 0

  saw(source: ReadableRecord, mapped: MappingResult): MappingResult {
    if (!mapped.ok || mapped.value.action === 'delete') return mapped
    const change = source.data[DEBEZIUM_CHANGE] as DebeziumChange | undefined
    const row = rowOf(source.key, change?.rowKey)
    if (row === undefined) return mapped
    const from = change?.op === 'u' ? undefined : rowOf(source.key, change?.otherRowKey)
    if (from !== undefined) remember(this.#cameFrom, row, from, maxRememberedMoves)
    else if (change?.op !== 'u') {
      // A new row under a key a row moved away from (a key reused): that key is not the moved
      // row's any more, neither a former key of it nor a link to follow it by.
      const next = this.#movedTo.get(row)
      if (next !== undefined && this.#cameFrom.get(next) === row) this.#cameFrom.delete(next)
      this.#movedTo.delete(row)
    }
    this.#hold(row, { value: mapped.value.identifierValue, record: source.key, read: ++this.#reads })
    return mapped
  }

  /** Notes the row's latest record (its identifier, message key and read order), as the most recently read. */
  #hold(row: string, entry: { readonly value: string; readonly record: string; readonly read: number }): void {
    const before = this.#byRow.get(row)?.value
    this.#byRow.delete(row)
    this.#byRow.set(row, entry)
    if (before !== entry.value) {
      if (before !== undefined) this.#drop(before, row)
      const rows = this.#byValue.get(entry.value)
      if (rows === undefined) this.#byValue.set(entry.value, [row])
      else rows.push(row)
    }
    if (this.#byRow.size > maxRememberedRows) {
      const [oldest, latest] = this.#byRow.entries().next().value as [string, { value: string }]
      this.#byRow.delete(oldest)
      this.#drop(latest.value, oldest)
    }
  }

  /**
   * A delete of the row read: the other row whose latest record carrying `value` was read last
   * (its primary key, that record's message key, and whether it was read after the deleted row's
   * latest record: only then does the user hold that row's data), if one does.
   */
  deleted(messageKey: string, rowKey: string | undefined, value: string, movesTo?: string): MappedRecord['sharedWith'] {
    const row = rowOf(messageKey, rowKey)
    const own = row === undefined ? undefined : this.#byRow.get(row)
    if (row !== undefined && own !== undefined) {
      this.#byRow.delete(row)
      this.#drop(own.value, row)
    }
    // The keys this row had before (a create marked with the old key) are the row itself.
    const holder = this.holderOf(value, row === undefined ? undefined : this.#formerKeys(row))
    const next = movesTo === undefined ? undefined : rowOf(messageKey, movesTo)
    if (row !== undefined && next !== undefined) {
      remember(this.#movedTo, row, next, maxRememberedMoves)
      // A primary-key change whose create is not read yet: until it is, the row goes on under the
      // new key with the same user, which still holds this identifier for later deletes of other
      // rows (not for this one: it is that row). Not once that create was read (the row may have
      // moved on or been deleted since), nor over an earlier row of that key whose delete lags.
      if (own !== undefined && !this.#byRow.has(next) && this.#cameFrom.get(next) !== row) this.#hold(next, own)
    }
    if (holder === undefined) return undefined
    const last = own === undefined || own.value !== value || own.read < holder.read
    return { row: holder.row, record: holder.record, last }
  }

  /** The row whose latest record carrying `value` was read last (its primary key, that record's message key, its read order), if one is; rows in `except` left out. */
  holderOf(value: string, except?: string | ReadonlySet<string>): { readonly row: string; readonly record: string; readonly read: number } | undefined {
    let holder: string | undefined
    let latest: { readonly record: string; readonly read: number } | undefined
    for (const other of this.#byValue.get(value) ?? []) {
      if (typeof except === 'string' ? other === except : except?.has(other)) continue
      const entry = this.#byRow.get(other)
      if (entry !== undefined && (latest === undefined || entry.read > latest.read)) [holder, latest] = [other, entry]
    }
    return holder === undefined || latest === undefined ? undefined : { row: holder.slice(holder.indexOf('\n') + 1), record: latest.record, read: latest.read }
  }

  /**
   * Whether the row keyed `holderKey` is the one keyed `rowKey` went on as: that row itself, or a
   * key it was changed to since (a primary-key change read in this process), however many times.
   */
  movedOnTo(messageKey: string, rowKey: string, holderKey: string): boolean {
    const target = rowOf(messageKey, holderKey)
    let row = rowOf(messageKey, rowKey)
    const seen = new Set<string>()
    while (row !== undefined && !seen.has(row)) {
      if (row === target) return true
      seen.add(row)
      row = this.#movedTo.get(row)
    }
    // A key change whose delete another replica (or a process before a restart) read: the create,
    // marked with its old key, says it too.
    const back = new Set<string>()
    for (let from = target; from !== undefined && !back.has(from); from = this.#cameFrom.get(from)) {
      if (seen.has(from)) return true
      back.add(from)
    }
    return false
  }

  /**
   * The identifier of the new key's create for the primary-key change of the row keyed `rowKey` to
   * `newKey`, if it was read: the new key's latest record, when that key's create came from this row.
   */
  movedIdentifier(messageKey: string, rowKey: string | undefined, newKey: string): string | undefined {
    const next = rowOf(messageKey, newKey)
    return next !== undefined && this.#cameFrom.get(next) === rowOf(messageKey, rowKey) ? this.#byRow.get(next)?.value : undefined
  }

  /** The keys the row had before, through each primary-key change whose create was read. */
  #formerKeys(row: string): ReadonlySet<string> {
    const keys = new Set<string>()
    for (let from = this.#cameFrom.get(row); from !== undefined && from !== row && !keys.has(from); from = this.#cameFrom.get(from)) keys.add(from)
    return keys
  }

  #drop(value: string, row: string): void {
    const rows = this.#byValue.get(value)
    if (rows === undefined) return
    const at = rows.indexOf(row)
    if (at >= 0) rows.splice(at, 1)
    if (rows.length === 0) this.#byValue.delete(value)
  }
}

/** A row's name across topics: its topic and its primary key (the message key); undefined without one. */
function rowOf(messageKey: string, rowKey: string | undefined): string | undefined {
  if (rowKey === undefined) return undefined
  // The message key is topic/partition/offset (`messageKey`): the topic is what precedes the last two slashes.
  const end = messageKey.lastIndexOf('/', messageKey.lastIndexOf('/') - 1)
  return `${end > 0 ? messageKey.slice(0, end) : ''}\n${rowKey}`
}

/**
 * Login IDs of rows deleted in the source under `deletes.policy: delete`, read in this process,
 * each with its delete's message key. The delete finds its user by its login ID; read again after a
 * crash that came before its offset was committed, once a row created since with that login ID
 * (an email registered again, a row restored) has been imported, it would find that row's user and
 * delete it. A record taking one up names the delete (`afterDeletes`): the source commits past the
 * delete before the record is sent. A delete read in an earlier process and committed is never read
 * again, and one not committed is read again in this one: remembering this process's is enough.
 */
class DeletedLogins {
  /** Login ID → the delete's message key. */
  readonly #byValue = new Map<string, string>()

  add(key: string, deleted: MappedRecord): void {
    rememberLogins(this.#byValue, deleted, key)
  }

  mark(mapped: MappingResult): MappingResult {
    if (!mapped.ok || mapped.value.action === 'delete' || this.#byValue.size === 0) return mapped
    const deletes = new Set<string>()
    for (const value of [mapped.value.identifierValue, ...Object.values(loginsOf(mapped.value))]) {
      const key = this.#byValue.get(value)
      if (key === undefined) continue
      deletes.add(key)
      // Once past the delete, nothing reads it again: the row's later versions need no wait.
      this.#byValue.delete(value)
    }
    return deletes.size === 0 ? mapped : { ok: true, value: { ...mapped.value, afterDeletes: [...deletes] } }
  }
}

/** Whether two records of one mapping carry the same password and MFA secrets (their JSON: the same mapping writes keys in the same order). */
function sameSecrets(before: MappedRecord['record'], after: MappedRecord['record']): boolean {
  const secrets = (record: MappedRecord['record']) => {
    const { password, mfa } = record as { password?: unknown; mfa?: unknown }
    return JSON.stringify([password ?? null, mfa ?? null])
  }
  return secrets(before) === secrets(after)
}

/** A row image's login IDs, read whether or not the mapping takes the rest of the row. */
function loginsOfImage(result: MappingResult): LoginsRead | undefined {
  if (result.ok) return { identifier: result.value.identifier, identifierValue: result.value.identifierValue, logins: loginsOf(result.value) }
  return result.loginsRead
}

const replayRemedy = 'Change the login ID in Authgear (portal or Admin API), then replay this record; if the row has been deleted in the source since, delete (or disable) that user in Authgear instead'

const noBeforeImage =
  'update without a before image (PostgreSQL REPLICA IDENTITY DEFAULT): a changed email, phone or username cannot be detected and would be imported as a second user; set REPLICA IDENTITY FULL on the table'

/**
 * A delete finding the user by the login IDs `held` (what Authgear held for the row), or by the
 * before image's identifier (`alsoAs`: its login ID may have been changed in Authgear since);
 * `refused` marks the row's later version as dead-lettered.
 */
function deleteOf(held: LoginsRead, refused: string, image: MappedRecord, live: LiveIdentifiers | undefined, row: string | undefined): MappedRecord {
  const deleted = deleteRecord(held, refused)
  if (image.identifierValue === held.identifierValue) return deleted
  // Another row read with the row's current identifier (a row created with it) holds the user
  // found by it: not this row's. The row's own later changes, sent once its login ID was changed
  // in Authgear, do not count.
  const heldBy = live?.holderOf(image.identifierValue, row)?.record
  return { ...deleted, alsoAs: { identifier: image.identifier, identifierValue: image.identifierValue, ...(heldBy !== undefined ? { heldBy } : {}) } }
}

function mapDelete(source: ReadableRecord, change: DebeziumChange, row: RowMapping): MappingResult {
  if (change.before === null) {
    return { ok: false, rejection: { code: 'delete_without_identifier', message: 'a delete event without a before image; set REPLICA IDENTITY FULL on the PostgreSQL table so deletes carry the row' } }
  }
  const mapped = row(rowRecord(source, change.before))
  const before = loginsOfImage(mapped)
  if (before === undefined) {
    const { code, message } = (mapped as Extract<MappingResult, { ok: false }>).rejection
    // A key-only image (PostgreSQL's default REPLICA IDENTITY) has no login ID; any other refusal is the row's own.
    const remedy = code === 'no_identifier' ? '; with PostgreSQL set REPLICA IDENTITY FULL so deletes carry the row' : ''
    return { ok: false, rejection: { code: 'delete_without_identifier', message: `the before image of a delete names no login ID to find the user by (${code}: ${message})${remedy}; the user is left as it is` } }
  }
  return { ok: true, value: deleteRecord(before, mapped.ok ? undefined : mapped.rejection.code, mapped.ok ? namesOf(mapped.value.record) : undefined) }
}

/** The names a mapped record sets (strings only), or undefined when it sets none. */
function namesOf(record: MappedRecord['record']): Record<string, string> | undefined {
  let names: Record<string, string> | undefined
  for (const attribute of profileAttributes) {
    const value = (record as Record<string, unknown>)[attribute]
    if (typeof value === 'string' && value !== '') (names ??= {})[attribute] = value
  }
  return names
}

/** A delete finding its user by `logins`' identifier, carrying the other login IDs it frees; `imageRefused` as `MappedRecord` says. */
function deleteRecord(logins: LoginsRead, imageRefused: string | undefined, profile?: Record<string, string>): MappedRecord {
  const { identifier, identifierValue } = logins
  const freedLogins = Object.entries(logins.logins)
    .filter(([type]) => type !== identifier)
    .map(([type, login]) => ({ identifier: type as IdentifierType, value: login }))
  return {
    identifier,
    identifierValue,
    record: { [identifier]: identifierValue } as MappedRecord['record'],
    passwordAlgorithm: 'none',
    passwordLane: 'none',
    warnings: [],
    action: 'delete',
    ...(freedLogins.length > 0 ? { freedLogins } : {}),
    ...(imageRefused !== undefined ? { imageRefused } : {}),
    ...(profile !== undefined ? { profile } : {}),
  }
}

/** The login IDs of a delete made by `deleteRecord`: its identifier and those it frees. */
function loginsOfDelete(deleted: MappedRecord): LoginsRead {
  const logins = Object.fromEntries([[deleted.identifier, deleted.identifierValue], ...(deleted.freedLogins ?? []).map((login) => [login.identifier, login.value])])
  return { identifier: deleted.identifier, identifierValue: deleted.identifierValue, logins }
}
