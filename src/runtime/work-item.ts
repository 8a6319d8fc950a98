import type { ReadableRecord, SourceRecord } from '../core/source-record.ts'
import type { IdentifierType, ImportRecord, LoginsRead, MappedRecord, PasswordLane } from '../core/mapped-record.ts'
import type { BatchTicket } from './checkpointer.ts'
import type { UnpackedRecord } from './packed-items.ts'
import type { RecordArena } from './record-arena.ts'
import { otherLogins, type OtherLogin } from './other-logins.ts'

/** A mapped record on its way to Authgear, with what is needed to report it and settle its batch. */
export interface WorkItem {
  readonly source: ReadableRecord
  readonly mapped: MappedRecord
  /**
   * `JSON.stringify(mapped.record)` as UTF-8, computed once: the record's JSON is
   * `utf8[jsonStart, jsonStart + bytes)`, and request bodies are copied together from these bytes.
   * In a run, `utf8` is a `RecordArena` chunk shared with records of the same identifier type.
   */
  readonly utf8: Buffer
  readonly jsonStart: number
  /** UTF-8 byte length of the record's JSON. */
  readonly bytes: number
  readonly ticket: BatchTicket
  /** Import jobs this record has been sent in so far. */
  attempts: number
  firstAttemptAt?: number
  /**
   * Sent again after a job that gave no outcome for it (crashed chunk, expired job), or in a job
   * whose POST was retried after a failure that may have created another job: one that may have
   * imported it, password included.
   */
  resent?: boolean
  /** Already sent once more because that other job inserted it at the same moment (`DuplicatedIdentity`). */
  raced?: boolean
  /** Import jobs whose chunk holding this record crashed without reporting it. */
  crashes?: number
  /** The record's login IDs besides its identifier, by which it can meet other users' records in Authgear. */
  readonly logins?: readonly OtherLogin[] | undefined
  /** Read order: work items are made as their records are read, one after another. */
  readonly seq: number
}

let nextSeq = 0

/** Anything that can receive an outcome: a work item, or a source record that never became one. */
export interface Settleable {
  readonly source: SourceRecord
  readonly mapped?: MappedRecord
  readonly ticket: BatchTicket
  readonly attempts?: number
  readonly firstAttemptAt?: number
  readonly logins?: readonly OtherLogin[] | undefined
  /** A record the mapping refused: the login IDs it had read first, for the login ledger. */
  readonly loginsRead?: LoginsRead | undefined
  /** A record the mapping refused: what a mapping module gave as its password (`MappingResult.secretsRead`). */
  readonly secretsRead?: readonly string[] | undefined
}

/**
 * A mapped record as a work item. Its source data is let go here: a mapped record is reported and
 * dead-lettered from `mapped`, never from `data`, and holding every in-flight record's parsed
 * source (a whole Auth0 profile, a row) kept it alive into V8's old generation for nothing. The
 * record itself is kept as its JSON bytes and parsed back only when read, as for records mapped on
 * a worker: thousands of in-flight records (open batches, jobs being followed) held as object
 * graphs outlived young collections and were promoted, only to die in the old generation.
 */
export function createWorkItem(source: ReadableRecord, mapped: MappedRecord, ticket: BatchTicket, arena?: RecordArena): WorkItem {
  const json = JSON.stringify(mapped.record)
  const at = arena ? arena.write(mapped.identifier, json) : ownBytes(json)
  const logins = mapped.action === 'delete' ? mapped.freedLogins : otherLogins(mapped.identifier, mapped.record)
  const kept: ReadableRecord = source.publishedFrom ? { kind: 'data', key: source.key, origin: source.origin, data: notKept, publishedFrom: source.publishedFrom } : { kind: 'data', key: source.key, origin: source.origin, data: notKept }
  return { source: kept, mapped: new SerializedMappedRecord(mapped, at.utf8, at.jsonStart, at.bytes), ...at, ticket, attempts: 0, logins, seq: nextSeq++ }
}

function ownBytes(json: string): { utf8: Buffer; jsonStart: number; bytes: number } {
  const utf8 = Buffer.from(json)
  return { utf8, jsonStart: 0, bytes: utf8.length }
}

/** Stands in for the source data of a mapped record, which is not kept (see `createWorkItem`). */
const notKept: Record<string, unknown> = Object.freeze({})

/**
 * A record mapped on a worker thread as a work item. Its `mapped.record` is parsed back from
 * its JSON bytes only when read (the sink reads it for updates, the dead letter for failures), and its
 * `source.data` is an empty object: a mapped record is reported from `mapped`, never from `data`.
 * Its bytes are copied out of the block's buffer (see `RecordArena`), which can then be released.
 */
export function workItemOf(item: UnpackedRecord, ticket: BatchTicket, arena: RecordArena): WorkItem {
  const at = arena.copy(item.identifier, item.utf8, item.jsonStart, item.bytes)
  return {
    source: { kind: 'data', key: item.key, origin: item.origin, data: notKept },
    mapped: new SerializedMappedRecord(item, at.utf8, at.jsonStart, at.bytes),
    utf8: at.utf8,
    jsonStart: at.jsonStart,
    bytes: at.bytes,
    ticket,
    attempts: 0,
    // Always set, undefined or not: work items keep one shape.
    logins: item.logins,
    seq: nextSeq++,
  }
}

/** A mapped record whose `record` is `utf8[jsonStart, jsonStart + bytes)`, parsed when first read. */
class SerializedMappedRecord implements MappedRecord {
  readonly identifier: IdentifierType
  readonly identifierValue: string
  readonly passwordAlgorithm: string
  readonly passwordLane: PasswordLane
  readonly warnings: readonly string[]
  readonly action?: 'delete'
  readonly lockKeys?: readonly string[]
  readonly earlierLogins?: MappedRecord['earlierLogins']
  readonly changedFrom?: MappedRecord['changedFrom']
  readonly alsoAs?: MappedRecord['alsoAs']
  readonly imageRefused?: string
  readonly secretsUnchanged?: boolean
  readonly afterDeletes?: readonly string[]
  readonly sharedWith?: MappedRecord['sharedWith']
  readonly keyChangedTo?: string
  readonly profile?: MappedRecord['profile']
  readonly deletedProfiles?: MappedRecord['deletedProfiles']
  readonly #utf8: Buffer
  readonly #jsonStart: number
  readonly #bytes: number
  #record: ImportRecord | undefined

  constructor(item: Omit<MappedRecord, 'record'>, utf8: Buffer, jsonStart: number, bytes: number) {
    this.identifier = item.identifier
    this.identifierValue = item.identifierValue
    this.passwordAlgorithm = item.passwordAlgorithm
    this.passwordLane = item.passwordLane
    this.warnings = item.warnings
    if (item.action !== undefined) this.action = item.action
    if (item.lockKeys !== undefined) this.lockKeys = item.lockKeys
    if (item.earlierLogins !== undefined) this.earlierLogins = item.earlierLogins
    if (item.changedFrom !== undefined) this.changedFrom = item.changedFrom
    if (item.alsoAs !== undefined) this.alsoAs = item.alsoAs
    if (item.imageRefused !== undefined) this.imageRefused = item.imageRefused
    if (item.secretsUnchanged !== undefined) this.secretsUnchanged = item.secretsUnchanged
    if (item.afterDeletes !== undefined) this.afterDeletes = item.afterDeletes
    if (item.sharedWith !== undefined) this.sharedWith = item.sharedWith
    if (item.keyChangedTo !== undefined) this.keyChangedTo = item.keyChangedTo
    if (item.profile !== undefined) this.profile = item.profile
    if (item.deletedProfiles !== undefined) this.deletedProfiles = item.deletedProfiles
    this.#utf8 = utf8
    this.#jsonStart = jsonStart
    this.#bytes = bytes
  }

  get record(): ImportRecord {
    this.#record ??= JSON.parse(this.#utf8.toString('utf8', this.#jsonStart, this.#jsonStart + this.#bytes)) as ImportRecord
    return this.#record
  }

  /** Serializes like a plain mapped record would (reports and logs stringify it). */
  toJSON(): MappedRecord {
    return { identifier: this.identifier, identifierValue: this.identifierValue, record: this.record, passwordAlgorithm: this.passwordAlgorithm, passwordLane: this.passwordLane, warnings: this.warnings, ...(this.action ? { action: this.action } : {}), ...(this.lockKeys ? { lockKeys: this.lockKeys } : {}) }
  }
}
