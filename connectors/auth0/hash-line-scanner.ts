import { skipJsonSpace as space, skipJsonValue } from '../json-bytes.ts'
import { hashRecordOf, parseHashRecord, type HashFields, type HashRecord } from './hash-record.ts'

const quote = 0x22
const backslash = 0x5c
const open = 0x7b
const close = 0x7d
const comma = 0x2c
const colon = 0x3a

/** The wanted keys, as bytes, by the field they fill. */
const wanted: readonly (readonly [keyof HashFields, Uint8Array])[] = (['_id', '_ID', 'alt_id', 'email', 'connection', 'passwordHash', 'password_set_date'] as const).map(
  (key) => [key, Buffer.from(key, 'latin1')] as const,
)

/** Thrown inside the scanner when a line leaves the shape it reads; the line is then parsed in full. */
const irregular = Symbol('irregular')

/**
 * Reads the join's fields of one hash-export line straight from its bytes, as `parseHashRecord`
 * would, without building the whole document: the export is machine-written Mongo extended JSON
 * (flat objects, `{"$oid": …}` and `{"$date": …}` wrappers), and `JSON.parse` of every line was
 * the index build's main cost. Top-level keys are walked and only the wanted values are decoded;
 * a string value holding an escape, or anything the walk does not expect (syntax errors
 * included), falls back to `parseHashRecord` on the line, so the result is always the same.
 * Skipped values are checked for balance and scalar spelling, not for escape validity.
 */
export function scanHashLine(bytes: Buffer, start: number, end: number): HashRecord | undefined {
  try {
    return scan(bytes, start, end)
  } catch (error) {
    if (error !== irregular) throw error
    return parseHashRecord(bytes.toString('utf8', start, end))
  }
}

function scan(bytes: Buffer, start: number, end: number): HashRecord {
  let i = start
  if (bytes[i] === 0xef && bytes[i + 1] === 0xbb && bytes[i + 2] === 0xbf) i += 3
  i = space(bytes, i, end)
  if (bytes[i] !== open) throw irregular
  i = space(bytes, i + 1, end)
  const fields: HashFields = {}
  if (bytes[i] === close) return finish(bytes, i + 1, end, fields)
  for (;;) {
    if (bytes[i] !== quote) throw irregular
    const keyStart = i + 1
    const keyEnd = stringEnd(bytes, keyStart, end)
    i = space(bytes, keyEnd + 1, end)
    if (bytes[i] !== colon) throw irregular
    i = space(bytes, i + 1, end)
    const field = fieldOf(bytes, keyStart, keyEnd)
    const valueStart = i
    i = skipValue(bytes, i, end)
    if (field !== undefined) fields[field] = decode(bytes, valueStart, i)
    i = space(bytes, i, end)
    if (bytes[i] === comma) {
      i = space(bytes, i + 1, end)
      continue
    }
    if (bytes[i] === close) return finish(bytes, i + 1, end, fields)
    throw irregular
  }
}

function finish(bytes: Buffer, i: number, end: number, fields: HashFields): HashRecord {
  if (space(bytes, i, end) !== end) throw irregular
  return hashRecordOf(fields)
}

/** Index of the closing quote of a string whose content starts at `i`; keys with escapes are irregular. */
function stringEnd(bytes: Buffer, i: number, end: number): number {
  for (; i < end; i++) {
    const b = bytes[i]
    if (b === quote) return i
    if (b === backslash || (b as number) < 0x20) throw irregular
  }
  throw irregular
}

function fieldOf(bytes: Buffer, from: number, to: number): keyof HashFields | undefined {
  const length = to - from
  outer: for (const [field, key] of wanted) {
    if (key.length !== length) continue
    for (let k = 0; k < length; k++) if (bytes[from + k] !== key[k]) continue outer
    return field
  }
  return undefined
}

/** The end of the value starting at `i` (see `skipJsonValue`); a value it cannot walk makes the line irregular. */
function skipValue(bytes: Buffer, i: number, end: number): number {
  const after = skipJsonValue(bytes, i, end)
  if (after < 0) throw irregular
  return after
}

/** A wanted value: a plain string directly, `{"$oid"|"$date": "…"}` by pattern, anything else parsed. */
function decode(bytes: Buffer, from: number, to: number): unknown {
  if (bytes[from] === quote) {
    for (let k = from + 1; k < to - 1; k++) {
      const b = bytes[k] as number
      if (b === backslash) return parsed(bytes, from, to)
      if (b < 0x20) throw irregular
    }
    return bytes.toString('utf8', from + 1, to - 1)
  }
  const wrapped = wrapper(bytes, from, to)
  if (wrapped !== undefined) return wrapped
  return parsed(bytes, from, to)
}

function parsed(bytes: Buffer, from: number, to: number): unknown {
  try {
    return JSON.parse(bytes.toString('utf8', from, to))
  } catch {
    throw irregular
  }
}

const oidPrefix = Buffer.from('{"$oid":"', 'latin1')
const datePrefix = Buffer.from('{"$date":"', 'latin1')

/** `{"$oid":"x"}` or `{"$date":"x"}` with no escape and no spacing, as exports write them. */
function wrapper(bytes: Buffer, from: number, to: number): Record<string, string> | undefined {
  const prefix = startsWith(bytes, from, oidPrefix) ? oidPrefix : startsWith(bytes, from, datePrefix) ? datePrefix : undefined
  if (prefix === undefined || bytes[to - 1] !== close || bytes[to - 2] !== quote) return undefined
  for (let k = from + prefix.length; k < to - 2; k++) if (bytes[k] === quote || bytes[k] === backslash) return undefined
  const text = bytes.toString('utf8', from + prefix.length, to - 2)
  return prefix === oidPrefix ? { $oid: text } : { $date: text }
}

function startsWith(bytes: Buffer, from: number, prefix: Uint8Array): boolean {
  for (let k = 0; k < prefix.length; k++) if (bytes[from + k] !== prefix[k]) return false
  return true
}

/** Spans of the index keys in one line: `[start, end)` pairs for `_id`, `_ID`, `alt_id`, `email`; -1 = absent. */
export type KeySpans = Int32Array

export function createKeySpans(): KeySpans {
  return new Int32Array(8)
}

const keySlot: Partial<Record<keyof HashFields, number>> = { _id: 0, _ID: 2, alt_id: 4, email: 6 }

/**
 * The index build's fast path: finds the id and email values of a line without decoding them, so
 * they can be hashed from the bytes. Returns false, leaving the line to `scanHashLine`, unless the
 * line is a well-formed object whose wanted values are plain ASCII strings without escapes (ids
 * also as exact `{"$oid":"…"}` wrappers), so that the spans hold exactly the strings a parse
 * gives.
 */
export function scanHashKeys(bytes: Buffer, start: number, end: number, spans: KeySpans): boolean {
  spans.fill(-1)
  let i = start
  if (bytes[i] === 0xef && bytes[i + 1] === 0xbb && bytes[i + 2] === 0xbf) return false
  i = space(bytes, i, end)
  if (bytes[i] !== open) return false
  try {
    i = space(bytes, i + 1, end)
    if (bytes[i] === close) return space(bytes, i + 1, end) === end
    for (;;) {
      if (bytes[i] !== quote) return false
      const keyStart = i + 1
      const keyEnd = stringEnd(bytes, keyStart, end)
      i = space(bytes, keyEnd + 1, end)
      if (bytes[i] !== colon) return false
      i = space(bytes, i + 1, end)
      const field = fieldOf(bytes, keyStart, keyEnd)
      const valueStart = i
      i = skipValue(bytes, i, end)
      const slot = field === undefined ? undefined : keySlot[field]
      if (slot !== undefined) {
        let from = valueStart
        let to = i
        if (slot <= 2 && startsWith(bytes, from, oidPrefix) && bytes[to - 1] === close) {
          from += oidPrefix.length - 1
          to -= 1
        }
        if (bytes[from] !== quote || bytes[to - 1] !== quote) return false
        for (let k = from + 1; k < to - 1; k++) {
          const b = bytes[k] as number
          if (b === quote || b === backslash || b < 0x20 || b > 0x7e) return false
        }
        spans[slot] = from + 1
        spans[slot + 1] = to - 1
      }
      i = space(bytes, i, end)
      if (bytes[i] === comma) {
        i = space(bytes, i + 1, end)
        continue
      }
      if (bytes[i] === close) return space(bytes, i + 1, end) === end
      return false
    }
  } catch (error) {
    if (error !== irregular) throw error
    return false
  }
}
