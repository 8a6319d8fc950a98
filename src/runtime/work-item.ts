import type { ReadableRecord, SourceRecord } from '../core/source-record.ts'
import type { IdentifierType, ImportRecord, MappedRecord, PasswordLane } from '../core/mapped-record.ts'
import type { BatchTicket } from './checkpointer.ts'
import type { WorkerItem } from './worker-item.ts'

/** A mapped record on its way to Authgear, with what is needed to report it and settle its batch. */
export interface WorkItem {
  readonly source: ReadableRecord
  readonly mapped: MappedRecord
  /** `JSON.stringify(mapped.record)`, computed once; the request body is built from these. */
  readonly json: string
  /** UTF-8 byte length of `json`. */
  readonly bytes: number
  readonly ticket: BatchTicket
  /** Import jobs this record has been sent in so far. */
  attempts: number
  firstAttemptAt?: number
}

/** Anything that can receive an outcome: a work item, or a source record that never became one. */
export interface Settleable {
  readonly source: SourceRecord
  readonly mapped?: MappedRecord
  readonly ticket: BatchTicket
  readonly attempts?: number
  readonly firstAttemptAt?: number
}

/**
 * A mapped record as a work item. Its source data is let go here: a mapped record is reported and
 * dead-lettered from `mapped`, never from `data`, and holding every in-flight record's parsed
 * source (a whole Auth0 profile, a row) kept it alive into V8's old generation for nothing.
 */
export function createWorkItem(source: ReadableRecord, mapped: MappedRecord, ticket: BatchTicket): WorkItem {
  const json = JSON.stringify(mapped.record)
  return { source: { kind: 'data', key: source.key, origin: source.origin, data: notKept }, mapped, json, bytes: Buffer.byteLength(json), ticket, attempts: 0 }
}

/** Stands in for the source data of a mapped record, which is not kept (see `createWorkItem`). */
const notKept: Record<string, unknown> = Object.freeze({})

/**
 * A record mapped on a worker thread as a work item. Its `mapped.record` is parsed back from
 * `json` only when read (the sink reads it for updates, the dead letter for failures), and its
 * `source.data` is an empty object: a mapped record is reported from `mapped`, never from `data`.
 */
export function workItemOf(item: Extract<WorkerItem, { kind: 'mapped' }>, ticket: BatchTicket): WorkItem {
  return {
    source: { kind: 'data', key: item.key, origin: item.origin, data: notKept },
    mapped: new WorkerMappedRecord(item),
    json: item.json,
    bytes: item.bytes,
    ticket,
    attempts: 0,
  }
}

class WorkerMappedRecord implements MappedRecord {
  readonly identifier: IdentifierType
  readonly identifierValue: string
  readonly passwordAlgorithm: string
  readonly passwordLane: PasswordLane
  readonly warnings: readonly string[]
  readonly action?: 'delete'
  readonly lockKeys?: readonly string[]
  readonly #json: string
  #record: ImportRecord | undefined

  constructor(item: Extract<WorkerItem, { kind: 'mapped' }>) {
    this.identifier = item.identifier
    this.identifierValue = item.identifierValue
    this.passwordAlgorithm = item.passwordAlgorithm
    this.passwordLane = item.passwordLane
    this.warnings = item.warnings
    if (item.action !== undefined) this.action = item.action
    if (item.lockKeys !== undefined) this.lockKeys = item.lockKeys
    this.#json = item.json
  }

  get record(): ImportRecord {
    this.#record ??= JSON.parse(this.#json) as ImportRecord
    return this.#record
  }

  /** Serializes like a plain mapped record would (reports and logs stringify it). */
  toJSON(): MappedRecord {
    return { identifier: this.identifier, identifierValue: this.identifierValue, record: this.record, passwordAlgorithm: this.passwordAlgorithm, passwordLane: this.passwordLane, warnings: this.warnings, ...(this.action ? { action: this.action } : {}), ...(this.lockKeys ? { lockKeys: this.lockKeys } : {}) }
  }
}
