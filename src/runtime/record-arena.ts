import type { IdentifierType } from '../core/mapped-record.ts'

/** Where a record's JSON bytes ended up: `utf8[jsonStart, jsonStart + bytes)`. */
export interface RecordBytes {
  readonly utf8: Buffer
  readonly jsonStart: number
  readonly bytes: number
}

/**
 * Holds the JSON bytes of in-flight records, in chunks kept apart per identifier type.
 *
 * A record stays in memory until its outcome arrives, and records of one identifier type are sent
 * together. Left in its worker block's buffer, one phone-number record waiting for its batch to
 * fill kept the whole ~2 MB block alive, and a slow batch pinned a dozen blocks of long-settled
 * email records. Copied here, a record shares its chunk only with the records batched next to
 * it, so a chunk is let go about when its batch settles.
 */
export class RecordArena {
  readonly #chunkBytes: number
  readonly #open = new Map<IdentifierType, { buffer: Buffer; at: number }>()

  constructor(chunkBytes = 256 * 1024) {
    this.#chunkBytes = chunkBytes
  }

  /** Copies `from[start, start + bytes)` into the identifier type's chunk. */
  copy(identifier: IdentifierType, from: Buffer, start: number, bytes: number): RecordBytes {
    const chunk = this.#room(identifier, bytes)
    const jsonStart = chunk.at
    chunk.at += from.copy(chunk.buffer, jsonStart, start, start + bytes)
    return { utf8: chunk.buffer, jsonStart, bytes }
  }

  /** Writes `json` as UTF-8 into the identifier type's chunk. */
  write(identifier: IdentifierType, json: string): RecordBytes {
    // At most 3 UTF-8 bytes per UTF-16 unit: with that much room the write is never cut short;
    // short of it, the exact length decides (a large record would otherwise get 3 × its size).
    const open = this.#open.get(identifier)
    const chunk = open && open.buffer.length - open.at >= json.length * 3 ? open : this.#room(identifier, Buffer.byteLength(json))
    const jsonStart = chunk.at
    const bytes = chunk.buffer.write(json, jsonStart)
    chunk.at += bytes
    return { utf8: chunk.buffer, jsonStart, bytes }
  }

  #room(identifier: IdentifierType, bytes: number): { buffer: Buffer; at: number } {
    const open = this.#open.get(identifier)
    if (open && open.buffer.length - open.at >= bytes) return open
    // A record larger than a chunk gets a buffer of its own and leaves the open chunk as it is.
    if (bytes > this.#chunkBytes) return { buffer: Buffer.allocUnsafeSlow(bytes), at: 0 }
    const chunk = { buffer: Buffer.allocUnsafeSlow(this.#chunkBytes), at: 0 }
    this.#open.set(identifier, chunk)
    return chunk
  }
}
