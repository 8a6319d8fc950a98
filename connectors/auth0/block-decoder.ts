import { closeSync, openSync } from 'node:fs'
import type { BlockDecoder } from '../../src/runtime/block-source.ts'
import type { HashJoinMode } from './config.ts'
import { hashLineReader } from './hash-record-reader.ts'
import type { NdjsonBlockPayload } from './ndjson-blocks.ts'
import { parseNdjsonLine } from './ndjson-reader.ts'
import { PasswordHashIndex, type PasswordHashIndexState } from './password-hash-index.ts'
import { PasswordHashJoin } from './password-hash-join.ts'
import { toRecord } from './read-file-batches.ts'

/** What a worker needs to decode Auth0 NDJSON blocks: the built hash index, when there is one. */
export interface Auth0DecoderOptions {
  readonly join?: { readonly index: PasswordHashIndexState; readonly mode: HashJoinMode }
}

/**
 * Runs in a worker thread: turns `NdjsonBlockPayload`s into the records `read()` would yield for
 * the same lines (same keys, origins, unreadable codes and joined hashes). The hash index's
 * tables are shared with the main thread; the hash file gets this thread's own descriptor.
 */
export async function createBlockDecoder(options: unknown): Promise<BlockDecoder> {
  const { join: joinOptions } = options as Auth0DecoderOptions
  let join: PasswordHashJoin | undefined
  let last: Record<string, number> = {}
  if (joinOptions) {
    const index = PasswordHashIndex.attach(joinOptions.index)
    const fd = openSync(joinOptions.index.path, 'r')
    join = new PasswordHashJoin(index, hashLineReader(fd, async () => closeSync(fd)), joinOptions.mode)
  }
  const enrich = join ? (profile: Record<string, unknown>) => (join as PasswordHashJoin).apply(profile) : (profile: Record<string, unknown>) => profile
  return {
    decode(payload, each) {
      const block = payload as NdjsonBlockPayload
      let line = block.line
      /** One line, `bytes[from, to)` without its newline, whose newline ends at file offset `next`. */
      const emit = (bytes: Buffer, from: number, to: number, next: number) => {
        line++
        const end = to > from && bytes[to - 1] === 0x0d ? to - 1 : to
        if (!isBlankRange(bytes, from, end)) each(toRecord(block.file, parseNdjsonLine(bytes.subarray(from, end), line, next), enrich))
      }
      // File offset of the current segment's first byte, and the start of a line begun in earlier segments.
      let base = block.offset
      let begun: Buffer[] = []
      for (const segment of block.segments) {
        const bytes = Buffer.from(segment.buffer, segment.byteOffset, segment.byteLength)
        for (let from = 0; from < bytes.length; ) {
          const newline = bytes.indexOf(0x0a, from)
          if (newline === -1) {
            begun.push(bytes.subarray(from))
            break
          }
          if (begun.length > 0) {
            const whole = Buffer.concat([...begun, bytes.subarray(from, newline)])
            begun = []
            emit(whole, 0, whole.length, base + newline + 1)
          } else emit(bytes, from, newline, base + newline + 1)
          from = newline + 1
        }
        base += bytes.length
      }
      // The file's last line, without a final newline.
      if (begun.length > 0) {
        const whole = Buffer.concat(begun)
        emit(whole, 0, whole.length, base)
      }
    },
    takeCounts() {
      if (!join) return {}
      const delta: Record<string, number> = {}
      for (const [name, count] of Object.entries(join.counts)) delta[name] = count - (last[name] ?? 0)
      last = { ...join.counts }
      return delta
    },
    async close() {
      await join?.close()
    },
  }
}

function isBlankRange(bytes: Buffer, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (bytes[i] !== 0x20 && bytes[i] !== 0x09) return false
  return true
}
