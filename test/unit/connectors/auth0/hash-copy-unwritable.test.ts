import { readdirSync } from 'node:fs'
import { describe, expect, it, vi } from 'vitest'
import { tempDir, writeGzip } from './helpers.ts'

// The copy's writes go to /dev/full, which refuses every write with ENOSPC, as a full TMPDIR does.
vi.mock('node:fs', async (original) => {
  const fs = await original<typeof import('node:fs')>()
  const createWriteStream = ((path: string, options?: object) => fs.createWriteStream(/gearbridge-hashes-[^/]+\/hashes\.ndjson$/.test(String(path)) ? '/dev/full' : path, options as never)) as typeof fs.createWriteStream
  return { ...fs, default: { ...fs, createWriteStream }, createWriteStream }
})

const { OpenFiles } = await import('../../../../connectors/auth0/open-input.ts')
const { PasswordHashIndex, HashCopyUnwritable } = await import('../../../../connectors/auth0/password-hash-index.ts')

const line = (i: number) => JSON.stringify({ _id: { $oid: `${i}` }, email: `u${i}@example.com`, passwordHash: `$2b$10$${'a'.repeat(53)}`, connection: 'db' })

describe('a hash copy that cannot be written', () => {
  it('says it is the decompressed copy under TMPDIR that needs room, not an input, and leaves no copy behind', async () => {
    const dir = await tempDir()
    const tempRoot = await tempDir()
    const hashes = await writeGzip(dir, 'hashes.ndjson.gz', Array.from({ length: 5000 }, (_, i) => line(i)).join('\n') + '\n')
    const built = PasswordHashIndex.build([hashes], new OpenFiles(), undefined, { tempRoot })
    await expect(built).rejects.toBeInstanceOf(HashCopyUnwritable)
    await expect(built).rejects.toThrow(`under TMPDIR (${tempRoot}) first`)
    await expect(built).rejects.toThrow(/ENOSPC/)
    expect(readdirSync(tempRoot)).toEqual([])
  })

  it('stops too when the write that fails fit the stream\'s buffer (a small first file), instead of waiting for room forever', async () => {
    const dir = await tempDir()
    const tempRoot = await tempDir()
    const small = await writeGzip(dir, 'a.ndjson.gz', [0, 1, 2].map(line).join('\n'))
    const big = await writeGzip(dir, 'b.ndjson.gz', Array.from({ length: 5000 }, (_, i) => line(100 + i)).join('\n') + '\n')
    const built = PasswordHashIndex.build([small, big], new OpenFiles(), undefined, { tempRoot })
    await expect(built).rejects.toBeInstanceOf(HashCopyUnwritable)
    expect(readdirSync(tempRoot)).toEqual([])
  }, 20_000)
})
