import type { IdentifierType } from '../core/mapped-record.ts'
import type { WorkItem } from './work-item.ts'

export interface BatchPolicy {
  readonly maxRecords: number
  /** Cap on the exact serialized request body, envelope included. */
  readonly maxBytes: number
  readonly lingerMs: number
}

/** Bytes of `{"identifier":"…","upsert":…,"records":[` + `]}` around the records. */
export function envelopeBytes(identifier: IdentifierType, upsert: boolean): number {
  return `{"identifier":"${identifier}","upsert":${upsert},"records":[]}`.length
}

/** Serializes a request body exactly as it is measured: the records' JSON bytes copied between the envelope's. */
export function requestBody(identifier: IdentifierType, upsert: boolean, items: readonly WorkItem[]): Buffer {
  const head = `{"identifier":"${identifier}","upsert":${upsert},"records":[`
  let size = head.length + 2 + Math.max(0, items.length - 1)
  for (const item of items) size += item.bytes
  const body = Buffer.allocUnsafeSlow(size)
  let at = body.write(head, 0, 'latin1')
  for (let i = 0; i < items.length; i++) {
    const item = items[i] as WorkItem
    if (i > 0) body[at++] = 0x2c
    at += item.utf8.copy(body, at, item.jsonStart, item.jsonStart + item.bytes)
  }
  body[at++] = 0x5d
  body[at++] = 0x7d
  return body
}

/**
 * An open batch for one identifier type. Within a batch the last version of a user wins: adding
 * a record whose identifier is already present replaces it and hands back the earlier one.
 */
export class OpenBatch {
  readonly identifier: IdentifierType
  readonly items: WorkItem[] = []
  readonly openedAt = Date.now()
  #bytes: number
  readonly #index = new Map<string, number>()
  /** How many of `items` are source deletes. */
  #deletes = 0
  readonly #upsert: boolean

  constructor(identifier: IdentifierType, upsert: boolean) {
    this.identifier = identifier
    this.#upsert = upsert
    this.#bytes = envelopeBytes(identifier, upsert)
  }

  get bytes(): number {
    return this.#bytes
  }

  get size(): number {
    return this.items.length
  }

  /** Whether the batch holds a version of this user. */
  has(identifierValue: string): boolean {
    return this.#index.has(identifierValue)
  }

  /** The version of this user the batch holds, if any. */
  versionOf(identifierValue: string): WorkItem | undefined {
    const at = this.#index.get(identifierValue)
    return at === undefined ? undefined : this.items[at]
  }

  /** Takes this user's version out of the batch (rare: a delete that must wait behind an older import). */
  remove(identifierValue: string): WorkItem | undefined {
    const at = this.#index.get(identifierValue)
    if (at === undefined) return undefined
    const [item] = this.items.splice(at, 1) as [WorkItem]
    if (item.mapped.action === 'delete') this.#deletes--
    this.#bytes -= item.bytes + (this.items.length > 0 ? 1 : 0)
    this.#index.delete(identifierValue)
    for (let i = at; i < this.items.length; i++) this.#index.set(this.items[i]!.mapped.identifierValue, i)
    return item
  }

  /**
   * Whether `item` and this batch's version of its user are a source delete and an import, in
   * either order. Neither may replace the other; the batch goes first:
   * - a delete after an import: under `deletes.policy` `disable` or `ignore` the user is still
   *   meant to exist (disabled, or as imported), and a delete of a user never created finds nobody;
   * - an import after a delete (the row deleted, and a row with its identifier created): the delete
   *   policy is applied first, as when the two are read apart, so under `delete` the new row is a
   *   new user rather than an update of the deleted one, whose password an update would keep; and
   *   the rows waiting for the delete to free its other login IDs wait for the delete itself.
   */
  replacesAcrossDelete(item: WorkItem): boolean {
    // Asked of every record: a batch without deletes (every backfill's) answers without a lookup.
    if (this.#deletes === 0 && item.mapped.action !== 'delete') return false
    const at = this.#index.get(item.mapped.identifierValue)
    return at !== undefined && (this.items[at]!.mapped.action === 'delete') !== (item.mapped.action === 'delete')
  }

  /** Body size if `item` were added (replacing its earlier version, if any). */
  bytesWith(item: WorkItem): number {
    const at = this.#index.get(item.mapped.identifierValue)
    if (at !== undefined) return this.#bytes - this.items[at]!.bytes + item.bytes
    return this.#bytes + item.bytes + (this.items.length > 0 ? 1 : 0)
  }

  /**
   * Whether the batch holds a version of `item`'s user with other login IDs. The newer version
   * would take the earlier one's place, before the records read between the two, and either place
   * can be wrong: one of those records may give up a login ID the newer version takes (a phone
   * handed over in the same write), or take one the earlier version gave up. The batch goes first.
   * Not without upsert: Authgear skips a user that exists, so the newer version sent in a later
   * job would be skipped, and the earlier one would win; an update cannot hand anything over then.
   */
  changesLoginsOf(item: WorkItem): boolean {
    if (!this.#upsert) return false
    const at = this.#index.get(item.mapped.identifierValue)
    return at !== undefined && loginKey(this.items[at]!) !== loginKey(item)
  }

  /** Adds `item`; returns the earlier version of the same user it superseded, if any. */
  add(item: WorkItem): WorkItem | undefined {
    if (item.mapped.action === 'delete') this.#deletes++
    const at = this.#index.get(item.mapped.identifierValue)
    if (at !== undefined) {
      const previous = this.items[at]!
      if (previous.mapped.action === 'delete') this.#deletes--
      this.#bytes += item.bytes - previous.bytes
      this.items[at] = item
      return previous
    }
    this.#bytes += item.bytes + (this.items.length > 0 ? 1 : 0)
    this.#index.set(item.mapped.identifierValue, this.items.length)
    this.items.push(item)
    return undefined
  }
}

/** A record's login IDs (its identifier, then its other logins), as one comparable string. */
function loginKey(item: WorkItem): string {
  let key = item.mapped.identifierValue
  for (const login of item.logins ?? []) key += `\n${login.identifier}:${login.value}`
  return key
}
