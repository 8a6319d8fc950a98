import { readSync } from 'node:fs'
import type { FileHandle } from 'node:fs/promises'
import { parseHashRecord, type HashRecord } from './hash-record.ts'

/**
 * Reads single hash-export lines by byte offset, for verifying index hits. Synchronous pread:
 * one short read per lookup is far cheaper than a thread-pool round trip. A line is read with
 * `JSON.parse`: for a whole record that is faster than walking its bytes in JavaScript (~2.0
 * against ~2.5 µs a line here), which pays only where no strings are made (the index build).
 */
export interface HashRecordReader {
  read(offset: number): HashRecord | undefined
  close(): Promise<void>
}

/** Export lines are ~350 bytes; a longer one grows the buffer and is read again. */
const lineRead = 512

/** Read when lookups walk the file in order: one read then serves the next ~90 lines. */
const windowRead = 32 * 1024

/** Longest line read as a hash line (real ones are ~350 bytes); a longer one reads as no record. */
export const maxHashLineBytes = 1024 * 1024

/** Lookups per decision between line reads and window reads. */
const sample = 256

export function hashRecordReader(handle: FileHandle): HashRecordReader {
  return hashLineReader(handle.fd, () => handle.close())
}

/**
 * The same over a raw descriptor (a worker thread opens its own). The bytes of the last read stay
 * cached: exports are usually written in creation order on both sides, so consecutive users find
 * their hash lines next to each other and most lookups need no read at all. When the lookups stop
 * landing near each other, reads shrink back to one line's worth.
 */
export function hashLineReader(fd: number, close: () => Promise<void>): HashRecordReader {
  let buffer = Buffer.allocUnsafe(windowRead)
  let cachedStart = 0
  let cachedLength = 0
  let lastOffset = -windowRead
  let near = 0
  let seen = 0
  let windowed = true
  return {
    read(offset) {
      if (offset >= lastOffset && offset < lastOffset + windowRead) near++
      lastOffset = offset
      if (++seen === sample) {
        windowed = near * 2 >= sample
        near = 0
        seen = 0
      }
      const at = offset - cachedStart
      if (at >= 0 && at < cachedLength) {
        const newline = buffer.indexOf(0x0a, at)
        if (newline !== -1 && newline < cachedLength) return newline - at > maxHashLineBytes ? undefined : lineAt(buffer, at, newline)
      }
      const want = windowed ? windowRead : lineRead
      let filled = 0
      for (;;) {
        // A line longer than the first read is read on in reads as long as what is there already,
        // and only the bytes just read are searched: time linear in the line's length.
        const bytesRead = readSync(fd, buffer, filled, Math.min(buffer.length - filled, Math.max(want - filled, filled, lineRead)), offset + filled)
        const newline = buffer.subarray(0, filled + bytesRead).indexOf(0x0a, filled)
        filled += bytesRead
        cachedStart = offset
        cachedLength = filled
        // The index build skips a line past the cap (password-hash-index.ts): so does every lookup.
        if (newline !== -1) return newline > maxHashLineBytes ? undefined : lineAt(buffer, 0, newline)
        if (bytesRead === 0) return filled > maxHashLineBytes ? undefined : lineAt(buffer, 0, filled)
        // No hash-export line is this long: it is no hash line, and reading on would hold it whole.
        if (filled > maxHashLineBytes) {
          buffer = Buffer.allocUnsafe(windowRead)
          cachedLength = 0
          return undefined
        }
        if (filled === buffer.length) {
          const bigger = Buffer.allocUnsafe(buffer.length * 2)
          buffer.copy(bigger, 0, 0, filled)
          buffer = bigger
        }
      }
    },
    close,
  }
}

function lineAt(buffer: Buffer, start: number, end: number): HashRecord | undefined {
  return parseHashRecord(buffer.toString('utf8', start, end))
}
