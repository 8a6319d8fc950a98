import type { ReadableRecord, SourceRecord } from '../core/source-record.ts'
import type { MappedRecord } from '../core/mapped-record.ts'
import type { BatchTicket } from './checkpointer.ts'

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

export function createWorkItem(source: ReadableRecord, mapped: MappedRecord, ticket: BatchTicket): WorkItem {
  const json = JSON.stringify(mapped.record)
  return { source, mapped, json, bytes: Buffer.byteLength(json), ticket, attempts: 0 }
}
