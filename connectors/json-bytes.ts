/**
 * Walking JSON as bytes, for the scanners that read only part of a document (the hash-export line
 * scanner, the job-reply echo cutter) and skip the rest without decoding it. Every function
 * returns an index into `bytes`, or -1 where the input is not JSON it can walk.
 */

/** The bytes of JSON's structure, for every byte-level walker. */
export const JsonByte = { quote: 0x22, backslash: 0x5c, colon: 0x3a, comma: 0x2c, openObject: 0x7b, closeObject: 0x7d, openArray: 0x5b, closeArray: 0x5d } as const

const { quote, backslash, comma, openObject, closeObject, openArray, closeArray } = JsonByte

/** The first index at or after `i` that is not JSON whitespace. */
export function skipJsonSpace(bytes: Buffer, i: number, end: number): number {
  while (i < end) {
    const b = bytes[i]
    if (b !== 0x20 && b !== 0x09 && b !== 0x0d && b !== 0x0a) break
    i++
  }
  return i
}

/** Past the closing quote of a string whose content starts at `i`, escapes included; -1 if unterminated. */
export function skipJsonString(bytes: Buffer, i: number, end: number): number {
  for (; i < end; i++) {
    const b = bytes[i]
    if (b === backslash) i++
    else if (b === quote) return i + 1
  }
  return -1
}

/**
 * The end of the value starting at `i`: a string, a balanced object or array, or a correctly
 * spelled scalar; -1 otherwise. Nested values are checked for balance, not for syntax.
 */
export function skipJsonValue(bytes: Buffer, i: number, end: number): number {
  const first = bytes[i]
  if (first === quote) return skipJsonString(bytes, i + 1, end)
  if (first === openObject || first === openArray) {
    let depth = 0
    while (i < end) {
      const b = bytes[i]
      if (b === quote) {
        i = skipJsonString(bytes, i + 1, end)
        if (i < 0) return -1
        continue
      }
      if (b === openObject || b === openArray) depth++
      else if (b === closeObject || b === closeArray) {
        depth--
        if (depth === 0) return i + 1
      }
      i++
    }
    return -1
  }
  const from = i
  while (i < end) {
    const b = bytes[i] as number
    if (b === comma || b === closeObject || b === closeArray || b === 0x20 || b === 0x09 || b === 0x0d || b === 0x0a) break
    i++
  }
  return isScalar(bytes, from, i) ? i : -1
}

const number = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/
const literals = ['true', 'false', 'null'].map((word) => Buffer.from(word, 'latin1'))

function isScalar(bytes: Buffer, from: number, to: number): boolean {
  const length = to - from
  outer: for (const word of literals) {
    if (word.length !== length) continue
    for (let k = 0; k < length; k++) if (bytes[from + k] !== word[k]) continue outer
    return true
  }
  return number.test(bytes.toString('latin1', from, to))
}
