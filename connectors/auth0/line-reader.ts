/** One line of input without its terminator, with the byte offset just after its newline. */
export interface Line {
  /** 1-based line number. */
  readonly line: number
  readonly bytes: Buffer
  /** Offset of the byte after this line's `\n` (or end of input), counted from the file start. */
  readonly end: number
}

/**
 * Splits bytes into lines, keeping byte offsets so a plain file can be resumed by seeking.
 * Strips a UTF-8 BOM at offset 0 and a `\r` before `\n`. Lines are yielded as they complete, so
 * memory holds one line plus one chunk.
 */
export async function* readLines(chunks: AsyncIterable<Buffer>, startOffset: number, startLine: number): AsyncGenerator<Line> {
  let offset = startOffset
  let line = startLine
  let pending: Buffer[] = []
  let pendingLength = 0
  let first = startOffset === 0
  for await (let chunk of chunks) {
    if (first) {
      first = false
      if (chunk[0] === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf) {
        chunk = chunk.subarray(3)
        offset += 3
      }
    }
    let from = 0
    for (let nl = chunk.indexOf(0x0a, from); nl !== -1; nl = chunk.indexOf(0x0a, from)) {
      let bytes = chunk.subarray(from, nl)
      if (pending.length > 0) {
        bytes = Buffer.concat([...pending, bytes])
        pending = []
      }
      offset += nl + 1 - from + pendingLength
      pendingLength = 0
      from = nl + 1
      line++
      yield { line, bytes: stripCr(bytes), end: offset }
    }
    if (from < chunk.length) {
      pending.push(chunk.subarray(from))
      pendingLength += chunk.length - from
    }
  }
  if (pending.length > 0) {
    offset += pendingLength
    line++
    yield { line, bytes: stripCr(Buffer.concat(pending)), end: offset }
  }
}
function stripCr(bytes: Buffer): Buffer {
  return bytes.length > 0 && bytes[bytes.length - 1] === 0x0d ? bytes.subarray(0, bytes.length - 1) : bytes
}

/** True for a line holding only spaces and tabs. */
export function isBlank(bytes: Buffer): boolean {
  for (const byte of bytes) if (byte !== 0x20 && byte !== 0x09) return false
  return true
}
