import type { ReadableRecord } from '../../src/core/source-record.ts'
import { recognizeHashString } from '../../mappings/hash-strings.ts'

/** Columns the reader adds to a page query; never part of the record data. */
export const CURSOR_COLUMN = '__gb_cursor'
export const STABLE_COLUMN = '__gb_stable'

/** Dates, binary and bigint values as JSON-safe text; arrays and parsed JSON stay as they are. */
function plainValue(value: object | bigint): unknown {
  if (typeof value === 'bigint') return value.toString()
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString()
  if (Buffer.isBuffer(value)) {
    // Binary columns holding text (VARBINARY hashes) read as text; real binary as hex, never mangled.
    const text = value.toString('utf8')
    if (!Buffer.from(text, 'utf8').equals(value)) return value.toString('hex')
    // MySQL pads a BINARY(n) value with zero bytes to its length: a 60-character bcrypt hash in a
    // BINARY(64) column ends in four. Dropped only from a hash, which they would make unreadable:
    // other bytes (a salt that ends in zero) stay as they are.
    const unpadded = text.replace(/\0+$/, '')
    return unpadded !== text && unpadded !== '' && recognizeHashString(unpadded).algorithm !== 'unknown' ? unpadded : text
  }
  return value
}

/**
 * Turns one row into a source record: `key` is the key column's value, `origin` names the table
 * (or `query`) and the key, `data` is the row with dialect-normalized values (booleans, ISO
 * timestamps, parsed JSON, binary as text) and without the reader's own columns.
 */
export function rowToRecord(row: Record<string, unknown>, keyColumn: string, relation: string): ReadableRecord {
  // The row object is the driver's own and used once: it becomes the data, changed in place.
  const data = row
  for (const name in data) {
    const value = data[name]
    if (value !== null && (typeof value === 'object' || typeof value === 'bigint')) data[name] = plainValue(value)
  }
  if (CURSOR_COLUMN in data) {
    delete data[CURSOR_COLUMN]
    delete data[STABLE_COLUMN]
  }
  const key = String(data[keyColumn])
  return { kind: 'data', key, origin: `${relation} ${keyColumn}=${key}`, data }
}
