import type { RawBlock } from '../../src/runtime/block-source.ts'
import type { ReaderStart } from './file-item.ts'
import type { IdentifiedFile } from './file-identity.ts'
import type { Auth0Position } from './position.ts'
import { bomLength } from './line-reader.ts'
import { maxLineBytes, overlongMarker } from './overlong-line.ts'

/** One block of whole NDJSON lines, as it travels to a worker thread. */
export interface NdjsonBlockPayload {
  /** File name as in origins. */
  readonly file: string
  /** Lines of the file before this block. */
  readonly line: number
  /** File offset of the first byte of `segments[0]`. */
  readonly offset: number
  /**
   * The block's bytes, whole lines in all: read chunks as they came, each preceded where needed by
   * the start of its first line, carried over from the chunk before. A line may cross from one
   * segment into the next. Chunks cross to the worker without being copied into one buffer.
   */
  readonly segments: readonly Uint8Array[]
}

/** A block closes at the first read chunk that takes it to this many lines or bytes: large enough that a worker round trip is cheap per record. */
export interface BlockLimits {
  readonly lines: number
  readonly bytes: number
}

/**
 * Cuts a plain NDJSON file, from `start`, into blocks of whole lines for worker threads to
 * decode, and gives each block the position `read()` would report after it. The main thread only
 * finds newlines; it never decodes. A UTF-8 BOM at offset 0 is skipped, as the line reader does.
 * A block without payload, marked `done`, ends the file.
 */
export async function* ndjsonBlocks(file: IdentifiedFile, start: ReaderStart, chunks: AsyncIterable<Buffer>, bytesBefore: number, limits: BlockLimits): AsyncGenerator<RawBlock<Auth0Position>> {
  let line = start.line
  let offset = start.offset ?? 0
  let first = offset === 0
  let pending: Uint8Array[] = []
  let pendingBytes = 0
  let pendingLines = 0
  let carry: Buffer | undefined
  /** Chunks of a line longer than a chunk, joined once when its end arrives (joining each time was quadratic). */
  let longLine: Buffer[] = []
  /** Bytes of the line begun (in `carry` and `longLine`); past `maxLineBytes` they are counted only. */
  let longBytes = 0
  let overlong = false

  function cut(): RawBlock<Auth0Position> {
    const segments = pending.map(ownedSegment)
    const payload: NdjsonBlockPayload = { file: file.name, line, offset, segments }
    line += pendingLines
    offset += pendingBytes
    pending = []
    pendingBytes = 0
    pendingLines = 0
    const transfer = [...new Set(segments.map((segment) => segment.buffer as ArrayBuffer))]
    return { payload, transfer, position: { file: file.name, line, offset, size: file.size, head: file.head, earlier: file.earlier }, bytesRead: bytesBefore + Math.min(offset, file.size) }
  }

  for await (let chunk of chunks) {
    if (first) {
      first = false
      const bom = bomLength(chunk)
      chunk = chunk.subarray(bom)
      offset += bom
    }
    const last = chunk.lastIndexOf(0x0a)
    if (last === -1) {
      longBytes += chunk.length
      if (overlong) continue
      if (carry) longLine.push(carry)
      carry = undefined
      longLine.push(Buffer.from(chunk))
      if (longBytes > maxLineBytes) {
        overlong = true
        longLine = []
      }
      continue
    }
    let lines = 0
    for (let nl = chunk.indexOf(0x0a); nl !== -1 && nl <= last; nl = chunk.indexOf(0x0a, nl + 1)) lines++
    if (overlong) {
      // The marker stands in the block for the line's bytes; positions count the bytes themselves.
      const end = chunk.indexOf(0x0a)
      pending.push(overlongMarker(longBytes + end), chunk.subarray(end, last + 1))
      pendingBytes += longBytes + last + 1
      overlong = false
    } else {
      if (longLine.length > 0) {
        carry = Buffer.concat(longLine)
        longLine = []
      }
      if (carry) {
        pending.push(carry)
        pendingBytes += carry.length
      }
      pending.push(chunk.subarray(0, last + 1))
      pendingBytes += last + 1
    }
    pendingLines += lines
    carry = last + 1 < chunk.length ? Buffer.from(chunk.subarray(last + 1)) : undefined
    longBytes = carry?.length ?? 0
    if (pendingLines >= limits.lines || pendingBytes >= limits.bytes) yield cut()
  }
  if (overlong) {
    pending.push(overlongMarker(longBytes))
    pendingBytes += longBytes
    pendingLines++
  } else {
    if (longLine.length > 0) carry = Buffer.concat(longLine)
    if (carry !== undefined) {
      pending.push(carry)
      pendingBytes += carry.length
      pendingLines++
    }
  }
  if (pendingBytes > 0) yield cut()
  yield { payload: undefined, transfer: [], position: { file: file.name, line, offset, done: true, size: file.size, head: file.head, earlier: file.earlier }, bytesRead: bytesBefore + file.size }
}

/**
 * A segment whose memory can be handed to a worker: a read chunk owns its ArrayBuffer (the file
 * stream allocates one per read) and goes as it is. A small buffer may be a slice of Node's shared
 * pool, which must never be transferred: it is copied into one of its own.
 */
function ownedSegment(part: Uint8Array): Uint8Array {
  if (part.buffer.byteLength > Buffer.poolSize) return part
  const own = new Uint8Array(part.length)
  own.set(part)
  return own
}
