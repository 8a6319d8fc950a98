import { randomBytes } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import { OpenFiles, openInput } from '../../../../connectors/auth0/open-input.ts'

describe('openInput on multi-member gzip', () => {
  it('delivers every member and counts each byte of the file once, for progress', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gb-open-input-'))
    try {
      // Members of ~100 KB compressed (random text does not shrink): several per 256 KiB read.
      const parts = Array.from({ length: 50 }, () => randomBytes(75_000).toString('base64'))
      const file = join(dir, 'members.gz')
      const compressed = Buffer.concat(parts.map((part) => gzipSync(part)))
      await writeFile(file, compressed)
      const counter = { bytes: 0 }
      const input = await openInput(file, new OpenFiles(), 0, counter)
      const out: Buffer[] = []
      try {
        for await (const chunk of input.chunks) out.push(chunk)
      } finally {
        await input.close()
      }
      expect(Buffer.concat(out).toString()).toBe(parts.join(''))
      expect(counter.bytes).toBe(compressed.length)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
