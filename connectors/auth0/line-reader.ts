import { maxLineBytes, overlongMarker } from './overlong-line.ts'

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
 * Strips a UTF-8 BOM at offset 0 and a `\r` before `\n`. Yields the lines completed by each
 * chunk as one array: one await per chunk instead of one per line keeps the hot loop synchronous.
 * Memory holds one chunk plus the lines cut from it.
 */
export async function* readLineBlocks(chunks: AsyncIterable<Buffer>, startOffset: number, startLine: number): AsyncGenerator<Line[]> {
  let offset = startOffset
  let line = startLine
  let pending: Buffer[] = []
  let pendingLength = 0
  /** The line begun is longer than `maxLineBytes`: its bytes are counted, not kept. */
  let overlong = false
  let first = startOffset === 0
  for await (let chunk of chunks) {
    if (first) {
      first = false
      const bom = bomLength(chunk)
      chunk = chunk.subarray(bom)
      offset += bom
    }
    const block: Line[] = []
    let from = 0
    for (let nl = chunk.indexOf(0x0a, from); nl !== -1; nl = chunk.indexOf(0x0a, from)) {
      let bytes = chunk.subarray(from, nl)
      if (overlong) {
        bytes = overlongMarker(pendingLength + bytes.length)
        overlong = false
      } else if (pending.length > 0) {
        bytes = Buffer.concat([...pending, bytes])
        pending = []
      }
      offset += nl + 1 - from + pendingLength
      pendingLength = 0
      from = nl + 1
      line++
      block.push({ line, bytes: stripCr(bytes), end: offset })
    }
    if (from < chunk.length) {
      if (!overlong) pending.push(chunk.subarray(from))
      pendingLength += chunk.length - from
      if (pendingLength > maxLineBytes && !overlong) {
        overlong = true
        pending = []
      }
    }
    if (block.length > 0) yield block
  }
  if (pendingLength > 0) {
    offset += pendingLength
    line++
    yield [{ line, bytes: overlong ? overlongMarker(pendingLength) : stripCr(Buffer.concat(pending)), end: offset }]
  }
}

/** Line by line, for callers that are not on a hot path. */
export async function* readLines(chunks: AsyncIterable<Buffer>, startOffset: number, startLine: number): AsyncGenerator<Line> {
  for await (const block of readLineBlocks(chunks, startOffset, startLine)) yield* block
}

function stripCr(bytes: Buffer): Buffer {
  return bytes.length > 0 && bytes[bytes.length - 1] === 0x0d ? bytes.subarray(0, bytes.length - 1) : bytes
}

/** True for a line holding only spaces and tabs. */
export function isBlank(bytes: Buffer): boolean {
  for (const byte of bytes) if (byte !== 0x20 && byte !== 0x09) return false
  return true
}

/** 3 when `chunk` starts with a UTF-8 byte-order mark (skipped, and counted in byte offsets), else 0. */
export function bomLength(chunk: Uint8Array): number {
  return chunk[0] === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf ? 3 : 0
}
