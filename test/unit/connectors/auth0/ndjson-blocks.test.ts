import { describe, expect, it } from 'vitest'
import { createBlockDecoder } from '../../../../connectors/auth0/block-decoder.ts'
import type { FileItem } from '../../../../connectors/auth0/file-item.ts'
import { ndjsonBlocks, type NdjsonBlockPayload } from '../../../../connectors/auth0/ndjson-blocks.ts'
import { maxLineBytes } from '../../../../connectors/auth0/overlong-line.ts'
import { readNdjson } from '../../../../connectors/auth0/ndjson-reader.ts'
import { toRecord } from '../../../../connectors/auth0/read-file-batches.ts'
import type { SourceRecord } from '../../../../src/core/source-record.ts'

/**
 * An export with what block boundaries must not break: a BOM, CRLF, blank and malformed lines,
 * multi-byte characters, a line longer than several read chunks, Latin-1 bytes and no final newline.
 */
function exportBytes(): Buffer {
  const lines: Buffer[] = []
  for (let n = 1; n <= 400; n++) {
    if (n % 37 === 0) lines.push(Buffer.from('{"user_id": "auth0|broken", '))
    else if (n % 41 === 0) lines.push(Buffer.from('   '))
    else if (n % 43 === 0) lines.push(Buffer.from(`{"user_id":"auth0|${n}","name":"Ren\u00e9e"}`, 'latin1'))
    else if (n === 200) lines.push(Buffer.from(JSON.stringify({ user_id: `auth0|${n}`, note: 'ü'.repeat(3000) })))
    else lines.push(Buffer.from(JSON.stringify({ user_id: `auth0|${n}`, email: `u${n}@example.com`, name: `Zoë ${'é'.repeat(n % 7)}` })))
  }
  const crlf = Buffer.from('\r\n')
  return Buffer.concat([Buffer.from('\uFEFF'), ...lines.flatMap((line, i) => (i === 0 ? [line] : [crlf, line]))])
}

/** `bytes` as a file stream would give them, `size` bytes at a time, each chunk in its own ArrayBuffer. */
async function* chunksOf(bytes: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let at = 0; at < bytes.length; at += size) yield Buffer.from(new Uint8Array(bytes.subarray(at, at + size)).buffer)
}

const summary = (record: SourceRecord) => (record.kind === 'data' ? [record.origin, record.data] : [record.origin, record.code])

async function sequential(bytes: Buffer): Promise<unknown[]> {
  const items: FileItem[] = []
  for await (const block of readNdjson(chunksOf(bytes, 4096), { line: 0 }, true)) items.push(...block)
  return items.map((item) => summary(toRecord('users.ndjson', item, (profile) => profile)))
}

describe('NDJSON blocks for mapping workers', () => {
  for (const chunk of [7, 64, 1000, 5000, 1 << 20]) {
    it(`decode to the records the sequential reader gives, whatever the read chunk size (${chunk} bytes)`, async () => {
      const bytes = exportBytes()
      const decoder = await createBlockDecoder({})
      const records: unknown[] = []
      const positions: unknown[] = []
      const file = { path: 'users.ndjson', name: 'users.ndjson', size: bytes.length, earlier: 'e', head: 'h' }
      for await (const block of ndjsonBlocks(file, { line: 0 }, chunksOf(bytes, chunk), 0, { lines: 50, bytes: 16 * 1024 })) {
        positions.push(block.position)
        if (block.payload === undefined) continue
        const payload = block.payload as NdjsonBlockPayload
        // Everything the block carries crosses to the worker by transfer: nothing is left to clone.
        expect(new Set(payload.segments.map((segment) => segment.buffer))).toEqual(new Set(block.transfer))
        decoder.decode(payload, (record) => records.push(summary(record)))
      }
      expect(records).toEqual(await sequential(bytes))
      expect(records.filter((record) => (record as unknown[])[1] === 'invalid_utf8')).toHaveLength(9)
      expect(positions.at(-1)).toEqual({ file: 'users.ndjson', line: 400, offset: bytes.length, done: true, size: bytes.length, earlier: 'e', head: 'h' })
      await decoder.close()
    })
  }

  it('drops a line longer than any profile (a file whose lines end in \\r alone) as line_too_long, alike on both paths, and counts its bytes in the positions', async () => {
    const before = JSON.stringify({ user_id: 'auth0|before', email: 'b@example.com' })
    const after = JSON.stringify({ user_id: 'auth0|after', email: 'a@example.com' })
    const long = Buffer.alloc(maxLineBytes + 3 * 1024 * 1024, 0x78)
    for (const ending of ['\n', '']) {
      const bytes = Buffer.concat([Buffer.from(`${before}\n`), long, Buffer.from(ending ? `\n${after}\n` : '')])
      const expected = [['users.ndjson:1', { user_id: 'auth0|before', email: 'b@example.com' }], ['users.ndjson:2', 'line_too_long'], ...(ending ? [['users.ndjson:3', { user_id: 'auth0|after', email: 'a@example.com' }]] : [])]
      expect(await sequential(bytes)).toEqual(expected)
      const decoder = await createBlockDecoder({})
      const records: SourceRecord[] = []
      const positions: unknown[] = []
      const file = { path: 'users.ndjson', name: 'users.ndjson', size: bytes.length, earlier: 'e', head: 'h' }
      for await (const block of ndjsonBlocks(file, { line: 0 }, chunksOf(bytes, 1 << 20), 0, { lines: 50, bytes: 16 * 1024 })) {
        positions.push(block.position)
        if (block.payload !== undefined) decoder.decode(block.payload, (record) => records.push(record))
      }
      await decoder.close()
      expect(records.map(summary)).toEqual(expected)
      expect(records[1]).toMatchObject({ kind: 'unreadable', message: expect.stringMatching(new RegExp(`^users\\.ndjson:2: a line of ${long.length} bytes, longer than the 32 MiB`)) })
      expect(positions.at(-1)).toEqual({ file: 'users.ndjson', line: ending ? 3 : 2, offset: bytes.length, done: true, size: bytes.length, earlier: 'e', head: 'h' })
    }
  })

  it('never transfers a buffer of Node\'s shared pool', async () => {
    const small = Buffer.from('{"user_id":"auth0|1"}\n{"user_id":"auth0|2"}\n')
    expect(small.buffer.byteLength).toBe(Buffer.poolSize)
    const file = { path: 'users.ndjson', name: 'users.ndjson', size: small.length, earlier: 'e', head: 'h' }
    async function* pooled() {
      yield small
    }
    for await (const block of ndjsonBlocks(file, { line: 0 }, pooled(), 0, { lines: 50, bytes: 16 * 1024 })) {
      for (const buffer of block.transfer) expect(buffer).not.toBe(small.buffer)
    }
  })
})
