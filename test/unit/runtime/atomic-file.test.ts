import { mkdir, readdir, readFile, utimes, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { writeFileAtomic } from '../../../src/runtime/atomic-file.ts'
import { CheckpointStore } from '../../../src/runtime/checkpoint-store.ts'
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

  it('a checkpoint load (or discard) removes the temp files of writes killed before their rename, once old, and nothing else', async () => {
    const dir = await tempDir()
    const path = join(dir, 'test.checkpoint.json')
    await writeFileAtomic(path, '{"version":1,"pipeline":"p","position":null,"committedAt":"2026-11-24T00:00:00Z","recordsCommitted":0,"complete":false}\n')
    const killed = join(dir, 'test.checkpoint.json.0123456789ab.tmp')
    const writing = join(dir, 'test.checkpoint.json.ba9876543210.tmp')
    const other = join(dir, 'other.checkpoint.json.0123456789ab.tmp')
    for (const file of [killed, writing, other]) await writeFile(file, '{"partial":')
    const hourAgo = new Date(Date.now() - 3_600_000)
    for (const file of [killed, other]) await utimes(file, hourAgo, hourAgo)
    expect(await new CheckpointStore(path, (p) => p).load('p')).toMatchObject({ pipeline: 'p' })
    // Another config's leftovers are its own to clear; a young one may be a replica's write in progress.
    expect((await readdir(dir)).sort()).toEqual(['other.checkpoint.json.0123456789ab.tmp', 'test.checkpoint.json', 'test.checkpoint.json.ba9876543210.tmp'])
    // A --from-start run discards the checkpoint without loading it: the leftovers go as well.
    await writeFile(killed, '{"partial":')
    await utimes(killed, hourAgo, hourAgo)
    await new CheckpointStore(path, (p) => p).discard()
    expect((await readdir(dir)).sort()).toEqual(['other.checkpoint.json.0123456789ab.tmp', 'test.checkpoint.json.ba9876543210.tmp'])
  })
})
