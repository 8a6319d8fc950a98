/**
 * Finds where a JSON text goes wrong, with Go `encoding/json` scanner messages and offsets, so
 * InvalidJSON replies carry the same `message` and `byte_offset` as Authgear. Only run after
 * `JSON.parse` has failed, so speed does not matter here.
 */

/** The outcome of scanning a text that `JSON.parse` refused. */
export type JsonSyntaxProblem =
  /** Bad byte: Go's message, and its offset (bytes read including the bad one). */
  | { readonly kind: 'syntax'; readonly message: string; readonly offset: number }
  /** The text ends inside a value (Go's `io.ErrUnexpectedEOF`). */
  | { readonly kind: 'truncated' }
  /** Nothing but whitespace. */
  | { readonly kind: 'empty' }
  /** A complete value followed by more bytes; a Go decoder stops after the value at `end`. */
  | { readonly kind: 'trailing'; readonly end: number }

class Stop {
  readonly problem: JsonSyntaxProblem
  constructor(problem: JsonSyntaxProblem) {
    this.problem = problem
  }
}

function quoteChar(c: number): string {
  if (c === 0x27) return "'\\''"
  if (c === 0x22) return `'"'`
  if (c === 0x0a) return "'\\n'"
  if (c === 0x0d) return "'\\r'"
  if (c === 0x09) return "'\\t'"
  if (c < 0x20 || c === 0x7f) return `'\\x${c.toString(16).padStart(2, '0')}'`
  return `'${String.fromCharCode(c)}'`
}

/** Scans `bytes` and reports the first problem; `undefined` if the text is valid JSON. */
export function findJsonSyntaxProblem(bytes: Uint8Array): JsonSyntaxProblem | undefined {
  let i = 0
  const n = bytes.length
  const fail = (context: string): never => {
    if (i >= n) throw new Stop({ kind: 'truncated' })
    throw new Stop({ kind: 'syntax', message: `invalid character ${quoteChar(bytes[i]!)} ${context}`, offset: i + 1 })
  }
  const skipSpace = () => {
    while (i < n && (bytes[i] === 0x20 || bytes[i] === 0x09 || bytes[i] === 0x0a || bytes[i] === 0x0d)) i++
  }
  const isDigit = (c: number | undefined) => c !== undefined && c >= 0x30 && c <= 0x39
  const literal = (word: string) => {
    for (let k = 1; k < word.length; k++) {
      i++
      if (bytes[i] !== word.charCodeAt(k)) fail(`in literal ${word} (expecting '${word[k]}')`)
    }
    i++
  }
  const number = () => {
    if (bytes[i] === 0x2d) {
      i++
      if (!isDigit(bytes[i])) fail('in numeric literal')
    }
    if (bytes[i] === 0x30) i++
    else while (isDigit(bytes[i])) i++
    if (bytes[i] === 0x2e) {
      i++
      if (!isDigit(bytes[i])) fail('after decimal point in numeric literal')
      while (isDigit(bytes[i])) i++
    }
    if (bytes[i] === 0x65 || bytes[i] === 0x45) {
      i++
      if (bytes[i] === 0x2b || bytes[i] === 0x2d) i++
      if (!isDigit(bytes[i])) fail('in exponent of numeric literal')
      while (isDigit(bytes[i])) i++
    }
  }
  const string = () => {
    i++
    for (;;) {
      if (i >= n) fail('')
      const c = bytes[i]!
      if (c === 0x22) {
        i++
        return
      }
      if (c < 0x20) fail('in string literal')
      if (c === 0x5c) {
        i++
        const e = bytes[i]
        if (e === 0x75) {
          for (let k = 0; k < 4; k++) {
            i++
            const h = bytes[i]
            const hex = h !== undefined && (isDigit(h) || (h >= 0x61 && h <= 0x66) || (h >= 0x41 && h <= 0x46))
            if (!hex) fail('in \\u hexadecimal character escape')
          }
        } else if (e === undefined || !'"\\/bfnrt'.includes(String.fromCharCode(e))) {
          fail('in string escape code')
        }
      }
      i++
    }
  }
  const value = () => {
    skipSpace()
    const c = bytes[i]
    if (c === 0x7b) return object()
    if (c === 0x5b) return array()
    if (c === 0x22) return string()
    if (c === 0x74) return literal('true')
    if (c === 0x66) return literal('false')
    if (c === 0x6e) return literal('null')
    if (c === 0x2d || isDigit(c)) return number()
    fail('looking for beginning of value')
  }
  const object = () => {
    i++
    skipSpace()
    if (bytes[i] === 0x7d) {
      i++
      return
    }
    for (;;) {
      skipSpace()
      if (bytes[i] !== 0x22) fail('looking for beginning of object key string')
      string()
      skipSpace()
      if (bytes[i] !== 0x3a) fail('after object key')
      i++
      value()
      skipSpace()
      if (bytes[i] === 0x2c) {
        i++
        continue
      }
      if (bytes[i] === 0x7d) {
        i++
        return
      }
      fail('after object key:value pair')
    }
  }
  const array = () => {
    i++
    skipSpace()
    if (bytes[i] === 0x5d) {
      i++
      return
    }
    for (;;) {
      value()
      skipSpace()
      if (bytes[i] === 0x2c) {
        i++
        continue
      }
      if (bytes[i] === 0x5d) {
        i++
        return
      }
      fail('after array element')
    }
  }
  try {
    skipSpace()
    if (i >= n) return { kind: 'empty' }
    value()
    const end = i
    skipSpace()
    return i < n ? { kind: 'trailing', end } : undefined
  } catch (error) {
    if (error instanceof Stop) return error.problem
    throw error
  }
}
