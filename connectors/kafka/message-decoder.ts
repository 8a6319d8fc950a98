import type { SourceRecord } from '../../src/core/source-record.ts'
import type { KafkaFormat } from './config.ts'
import { readDebeziumEnvelope } from './debezium-envelope.ts'
import { jsonErrorReason } from '../json-error-reason.ts'
import { isUtf8 } from 'node:buffer'

/** The parts of a consumed message the decoder reads. */
export interface RawMessage {
  readonly topic: string
  readonly partition: number
  readonly offset: number
  readonly value: Buffer | null | undefined
  /** The message's key: for Debezium, the row's primary key. */
  readonly key?: Buffer | string | null | undefined
  /** Its headers: Debezium marks a primary-key change with `__debezium.oldkey` and `__debezium.newkey`. */
  readonly headers?: readonly Readonly<Record<string, string | Buffer>>[] | undefined
}

/** The `data` of a Debezium record as the Debezium mapping receives it. */
export const DEBEZIUM_CHANGE = '__debezium_change'

/** Stable key of a message: topic/partition/offset. Dead letters carry it, so a message can be found again. */
export function messageKey(message: RawMessage): string {
  return `${message.topic}/${message.partition}/${message.offset}`
}

/** A header's value as text (the first of that name), or undefined. */
function header(message: RawMessage, name: string): string | undefined {
  for (const entry of message.headers ?? []) {
    const value = entry[name]
    if (value !== undefined) return value.toString()
  }
  return undefined
}

/** Splits a key made by `messageKey` back into its parts; undefined for other keys. */
export function parseMessageKey(key: string): { topic: string; partition: number; offset: number } | undefined {
  const match = /^(.*)\/(\d+)\/(\d+)$/.exec(key)
  return match ? { topic: match[1]!, partition: Number(match[2]), offset: Number(match[3]) } : undefined
}

/**
 * Turns one message into a source record, or `undefined` for a tombstone (nothing to do). A
 * message that is not UTF-8, not JSON, not an object, or not a change event becomes an `unreadable` record
 * naming topic, partition and offset, so it is dead-lettered and the partition moves on.
 */
export function decodeMessage(message: RawMessage, format: KafkaFormat): SourceRecord | undefined {
  const key = messageKey(message)
  const origin = `kafka topic ${message.topic} partition ${message.partition} offset ${message.offset}`
  if (message.value === null || message.value === undefined || message.value.length === 0) {
    if (format === 'debezium') return undefined
    return { kind: 'unreadable', key, origin, code: 'empty_message', message: `${origin}: the message has no value` }
  }
  // Decoding would turn bytes that are not UTF-8 into U+FFFD and import the damaged text as data.
  if (!isUtf8(message.value)) return { kind: 'unreadable', key, origin, code: 'invalid_utf8', message: `${origin}: the message is not UTF-8 text` }
  let value: unknown
  try {
    value = JSON.parse(message.value.toString('utf8'))
  } catch (error) {
    return { kind: 'unreadable', key, origin, code: 'malformed_json', message: `${origin}: not JSON (${jsonErrorReason(error)})` }
  }
  if (format === 'debezium') {
    const envelope = readDebeziumEnvelope(value)
    if (envelope.kind === 'tombstone') return undefined
    if (envelope.kind === 'invalid') return { kind: 'unreadable', key, origin, code: envelope.code, message: `${origin}: ${envelope.message}` }
    const rowKey = message.key === null || message.key === undefined ? undefined : message.key.toString()
    const keyChange = header(message, envelope.change.op === 'd' ? '__debezium.newkey' : '__debezium.oldkey')
    return { kind: 'data', key, origin, data: { [DEBEZIUM_CHANGE]: rowKey === undefined && keyChange === undefined ? envelope.change : { ...envelope.change, ...(rowKey !== undefined ? { rowKey } : {}), ...(keyChange !== undefined ? { otherRowKey: keyChange } : {}) } } }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { kind: 'unreadable', key, origin, code: 'not_an_object', message: `${origin}: the message is JSON but not an object` }
  }
  const data = value as Record<string, unknown>
  const from = format === 'mapped' ? publishedFrom(data['source']) : undefined
  return from ? { kind: 'data', key, origin, data, publishedFrom: from } : { kind: 'data', key, origin, data }
}

/**
 * Longest `source.key` or `source.origin` a report names (a user id, `file:line`, `table id=…` are
 * far shorter): each report and dead-letter line carries them, and a dead letter that a hand-made
 * message made too large for the dead-letter topic would stop the sync.
 */
const publishedFromMaxChars = 1024

/** The `source` of a published record (see `PublishedRecord`), when it has the shape a publisher gives it. */
function publishedFrom(source: unknown): { key: string; origin: string } | undefined {
  if (typeof source !== 'object' || source === null) return undefined
  const { key, origin } = source as Record<string, unknown>
  if (typeof key !== 'string' || typeof origin !== 'string' || key.length > publishedFromMaxChars || origin.length > publishedFromMaxChars) return undefined
  return { key, origin }
}
