import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { ExternalSorter } from '../../../src/reconcile/external-sorter.ts'
import { joinLatestByKey } from '../../../src/reconcile/join-by-key.ts'
import { LineReader } from '../../../src/reconcile/line-reader.ts'
import { decodeKey, encodeKey, formatEntry, parseEntry } from '../../../src/reconcile/sorted-entry.ts'

const dirs: string[] = []
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })))
})

async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix))
  dirs.push(dir)
  return dir
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = []
  for await (const x of it) out.push(x)
  return out
}

describe('external sorter', () => {
  it('sorts across runs spilled by size, keeping input order within a key, and removes its files', async () => {
    const dir = await tempDir('gb-sort-')
    const sorter = new ExternalSorter(join(dir, 'runs'), { runBytes: 20_000, readChunkBytes: 1024 })
    const keys: string[] = []
    for (let i = 0; i < 5500; i++) {
      const key = `email:user${(i * 7919) % 2000}@x.com\t"odd"`
      keys.push(key)
      await sorter.add(key, JSON.stringify({ i, name: 'Zoë Ünïcode 名前' }))
    }
    await sorter.finish()
    const files = await readdir(join(dir, 'runs'))
    // About 20,000 bytes per run of ~100-byte entries: many runs, none holding everything.
    expect(files.length).toBe(sorter.runs)
    expect(sorter.runs).toBeGreaterThan(20)
    const sorted = await collect(sorter.sorted())
    expect(sorted).toHaveLength(5500)
    expect(sorted.map((e) => e.key)).toEqual([...keys].sort())
    for (let i = 1; i < sorted.length; i++) {
      if (sorted[i]!.key === sorted[i - 1]!.key) expect(sorted[i]!.seq).toBeGreaterThan(sorted[i - 1]!.seq)
    }
    expect(sorted.map((e) => JSON.parse(e.json).i as number).sort((a, b) => a - b)).toEqual(keys.map((_, i) => i))
    expect(JSON.parse(sorted[0]!.json)).toMatchObject({ name: 'Zoë Ünïcode 名前' })
    await sorter.close()
    expect(await readdir(join(dir, 'runs'))).toEqual([])
  })

  it('merges runs a level at a time past the fan-in, so open run files stay bounded, and still sorts everything', async () => {
    const dir = await tempDir('gb-fanin-')
    const sorter = new ExternalSorter(join(dir, 'runs'), { runBytes: 2_000, fanIn: 4, readChunkBytes: 512 })
    const keys: string[] = []
    for (let i = 0; i < 3000; i++) {
      const key = `username:u${(i * 104729) % 1000}`
      keys.push(key)
      await sorter.add(key, JSON.stringify({ i }))
    }
    await sorter.finish()
    // ~150 spilled runs would be open at once without level merges; with a fan-in of 4, at most 3 per level.
    expect(sorter.runs).toBeLessThanOrEqual(3 * 5)
    expect((await readdir(join(dir, 'runs'))).length).toBe(sorter.runs)
    const sorted = await collect(sorter.sorted())
    expect(sorted.map((e) => e.key)).toEqual([...keys].sort())
    // Within a key, input order survives every level.
    for (let i = 1; i < sorted.length; i++) {
      if (sorted[i]!.key === sorted[i - 1]!.key) expect(sorted[i]!.seq).toBeGreaterThan(sorted[i - 1]!.seq)
    }
    expect(sorted.map((e) => (JSON.parse(e.json) as { i: number }).i)).toEqual(sorted.map((e) => e.seq))
    await sorter.close()
    expect(await readdir(join(dir, 'runs'))).toEqual([])
  })

  it('orders keys with control characters, prefixes and non-ASCII exactly as string comparison does', async () => {
    const dir = await tempDir('gb-keys-')
    const keys = ['a', 'a\u0000', 'a\u0001', 'a\n', 'a\u000b', 'a\u000c', 'a ', 'a!', 'a"', 'ab', 'a\\', 'é', '😀', '\uffff', '', 'a\tb', 'email:x@y.com']
    const sorter = new ExternalSorter(join(dir, 'runs'), { runBytes: 1 << 20 })
    for (const key of [...keys].reverse()) await sorter.add(key, '{}')
    const sorted = await collect(sorter.sorted())
    expect(sorted.map((e) => e.key)).toEqual([...keys].sort())
    const lines = keys.map((k, i) => formatEntry(k, i, '{"k":1}'))
    for (const line of lines) expect(line).not.toContain('\n')
    expect([...lines].sort().map((l) => parseEntry(l).key)).toEqual([...keys].sort())
    for (const key of keys) expect(decodeKey(encodeKey(key))).toBe(key)
    await sorter.close()
  })

  it('joins two sorted streams into one group per key', async () => {
    const dir = await tempDir('gb-join-')
    const a = new ExternalSorter(join(dir, 'a'), { runBytes: 1 << 20 })
    const b = new ExternalSorter(join(dir, 'b'), { runBytes: 1 << 20 })
    for (const k of ['b', 'a', 'c', 'a']) await a.add(k, '{}')
    for (const k of ['d', 'a', 'c']) await b.add(k, '{}')
    const groups = await collect(joinLatestByKey(a.sorted(), b.sorted(), () => false))
    expect(groups.map((g) => [g.key, g.source.count, g.authgear.length])).toEqual([
      ['a', 2, 1],
      ['b', 1, 0],
      ['c', 1, 1],
      ['d', 0, 1],
    ])
    await a.close()
    await b.close()
  })
})

describe('line reader', () => {
  it('reads every line through a small buffer, multi-byte characters split across chunks and CRLF included', async () => {
    const dir = await tempDir('gb-lines-')
    const path = join(dir, 'f.ndjson')
    const lines = Array.from({ length: 300 }, (_, i) => JSON.stringify({ i, name: `名前 ${'é'.repeat(i % 13)} 😀` }))
    await writeFile(path, `${lines.slice(0, 150).join('\r\n')}\r\n${lines.slice(150).join('\n')}`)
    const reader = new LineReader(path, 7)
    const read: string[] = []
    while (await reader.advance()) read.push(reader.line!)
    await reader.close()
    expect(read).toEqual(lines)
  })
})
