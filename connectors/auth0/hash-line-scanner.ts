import { JsonByte, skipJsonSpace as space, skipJsonValue } from '../json-bytes.ts'

const { quote, backslash, openObject: open, closeObject: close, comma, colon } = JsonByte

const idKey = Buffer.from('_id', 'latin1')
const upperIdKey = Buffer.from('_ID', 'latin1')
const altIdKey = Buffer.from('alt_id', 'latin1')
const emailKey = Buffer.from('email', 'latin1')

/** Thrown inside the scanner when a line leaves the shape it reads. */
const irregular = Symbol('irregular')

/** Index of the closing quote of a string whose content starts at `i`; keys with escapes are irregular. */
function stringEnd(bytes: Buffer, i: number, end: number): number {
  for (; i < end; i++) {
    const b = bytes[i]
    if (b === quote) return i
    if (b === backslash || (b as number) < 0x20) throw irregular
  }
  throw irregular
}

/** The `KeySpans` slot of an index key (`_id`, `_ID`, `alt_id`, `email`), or -1 for any other key. */
function slotOf(bytes: Buffer, from: number, to: number): number {
  // A line has a dozen keys and most are not wanted: the length alone rules out nearly all of them.
  switch (to - from) {
    case 3:
      return same(bytes, from, idKey) ? 0 : same(bytes, from, upperIdKey) ? 2 : -1
    case 5:
      return same(bytes, from, emailKey) ? 6 : -1
    case 6:
      return same(bytes, from, altIdKey) ? 4 : -1
    default:
      return -1
  }
}

function same(bytes: Buffer, from: number, key: Uint8Array): boolean {
  for (let k = 0; k < key.length; k++) if (bytes[from + k] !== key[k]) return false
  return true
}

/** The end of the value starting at `i` (see `skipJsonValue`); a value it cannot walk makes the line irregular. */
function skipValue(bytes: Buffer, i: number, end: number): number {
  const after = skipJsonValue(bytes, i, end)
  if (after < 0) throw irregular
  return after
}

const oidPrefix = Buffer.from('{"$oid":"', 'latin1')

function startsWith(bytes: Buffer, from: number, prefix: Uint8Array): boolean {
  for (let k = 0; k < prefix.length; k++) if (bytes[from + k] !== prefix[k]) return false
  return true
}

/** Spans of the index keys in one line: `[start, end)` pairs for `_id`, `_ID`, `alt_id`, `email`; -1 = absent. */
export type KeySpans = Int32Array

export function createKeySpans(): KeySpans {
  return new Int32Array(8)
}

/**
 * The index build's fast path: finds the id and email values of a line without decoding them, so
 * they can be hashed from the bytes (`JSON.parse` of every line was the build's main cost). Returns
 * false, leaving the line to a full parse, unless the
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
      const slot = slotOf(bytes, keyStart, keyEnd)
      const valueStart = i
      i = skipValue(bytes, i, end)
      if (slot >= 0) {
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
