import { open, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { hashRecordReader } from '../../../../connectors/auth0/hash-record-reader.ts'
import { parseHashRecord } from '../../../../connectors/auth0/hash-record.ts'
import { tempDir } from './helpers.ts'

describe('hashRecordReader', () => {
  it('reads the line at any offset, in file order, backwards and at random, long lines and an unterminated last line included', async () => {
    const dir = await tempDir()
    const lines = Array.from({ length: 3000 }, (_, n) =>
      JSON.stringify({ _id: { $oid: `id${n}` }, email: `u${n}@example.com`, passwordHash: `$2b$10$${'x'.repeat(53)}`, pad: 'p'.repeat(n === 1500 ? 100_000 : n % 300) }),
    )
    const path = join(dir, 'hashes.ndjson')
    await writeFile(path, lines.join('\n'))
    const offsets: number[] = []
    let at = 0
    for (const line of lines) {
      offsets.push(at)
      at += Buffer.byteLength(line) + 1
    }
    const reader = hashRecordReader(await open(path, 'r'))
    try {
      const expected = lines.map((line) => parseHashRecord(line))
      const order = [...offsets.keys()]
      const shuffled = order.map((n) => (n * 7919) % order.length)
      for (const sequence of [order, [...order].reverse(), shuffled, order]) {
        for (const n of sequence) expect(reader.read(offsets[n] as number)).toEqual(expected[n])
      }
    } finally {
      await reader.close()
    }
  })

  it('reads a line longer than any hash line as no record, without holding it, and the lines after it as before', async () => {
    const dir = await tempDir()
    const normal = JSON.stringify({ _id: { $oid: 'after' }, email: 'after@example.com', passwordHash: `$2b$10$${'y'.repeat(53)}` })
    const huge = JSON.stringify({ _id: { $oid: 'huge' }, passwordHash: `$2b$10$${'x'.repeat(40 * 1024 * 1024)}` })
    const path = join(dir, 'hashes.ndjson')
    await writeFile(path, `${huge}\n${normal}\n`)
    const reader = hashRecordReader(await open(path, 'r'))
    try {
      expect(reader.read(0)).toBeUndefined()
      expect(reader.read(Buffer.byteLength(huge) + 1)).toEqual(parseHashRecord(normal))
    } finally {
      await reader.close()
    }
  })
})
