import { readSync } from 'node:fs'
import type { FileHandle } from 'node:fs/promises'
import { parseHashRecord, type HashRecord } from './hash-record.ts'

/**
 * Reads single hash-export lines by byte offset, for verifying index hits. Synchronous pread:
 * one short read per lookup is far cheaper than a thread-pool round trip.
 */
export interface HashRecordReader {
  read(offset: number): HashRecord | undefined
  close(): Promise<void>
}

export function hashRecordReader(handle: FileHandle): HashRecordReader {
  let buffer = Buffer.alloc(4096)
  return {
    read(offset) {
      let filled = 0
      for (;;) {
        const bytesRead = readSync(handle.fd, buffer, filled, buffer.length - filled, offset + filled)
        const newline = buffer.indexOf(0x0a, filled)
        filled += bytesRead
        if (newline !== -1 && newline < filled) return parseHashRecord(buffer.toString('utf8', 0, newline))
        if (bytesRead === 0) return parseHashRecord(buffer.toString('utf8', 0, filled))
        if (filled === buffer.length) {
          const bigger = Buffer.alloc(buffer.length * 2)
          buffer.copy(bigger)
          buffer = bigger
        }
      }
    },
    close: () => handle.close(),
  }
}
