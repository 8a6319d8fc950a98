import { mkdir, readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { writeFileAtomic } from '../../../src/runtime/atomic-file.ts'
import { tempDir } from '../connectors/auth0/helpers.ts'

describe('writeFileAtomic', () => {
  it('replaces a file, and leaves no temp file beside a path it cannot replace (a directory)', async () => {
    const dir = await tempDir()
    await writeFileAtomic(join(dir, 'a.prom'), 'one\n')
    await writeFileAtomic(join(dir, 'a.prom'), 'two\n')
    expect(await readFile(join(dir, 'a.prom'), 'utf8')).toBe('two\n')
    await mkdir(join(dir, 'collector'))
    await expect(writeFileAtomic(join(dir, 'collector'), 'three\n')).rejects.toThrow()
    expect((await readdir(dir)).sort()).toEqual(['a.prom', 'collector'])
  })

  it('lets writers that overlap on one file (replicas sharing a state directory) all succeed, one version winning whole', async () => {
    const dir = await tempDir()
    const path = join(dir, 'test.checkpoint.json')
    const versions = Array.from({ length: 40 }, (_, i) => `${JSON.stringify({ writer: i, pad: 'x'.repeat(20_000) })}\n`)
    await Promise.all(versions.map((text) => writeFileAtomic(path, text)))
    expect(versions).toContain(await readFile(path, 'utf8'))
    expect(await readdir(dir)).toEqual(['test.checkpoint.json'])
  })
})
