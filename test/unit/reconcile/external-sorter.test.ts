import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { ExternalSorter } from '../../../src/reconcile/external-sorter.ts'
import { joinByKey } from '../../../src/reconcile/join-by-key.ts'

const dirs: string[] = []
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })))
})

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = []
  for await (const x of it) out.push(x)
  return out
}

describe('external sorter', () => {
  it('sorts across spilled runs by key, keeping input order within a key, and removes its files', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gb-sort-'))
    dirs.push(dir)
    const sorter = new ExternalSorter(join(dir, 'runs'), 1000)
    const keys: string[] = []
    for (let i = 0; i < 5500; i++) {
      const key = `email:user${(i * 7919) % 2000}@x.com\t"odd"`
      keys.push(key)
      await sorter.add(key, JSON.stringify({ i }))
    }
    expect((await readdir(join(dir, 'runs'))).length).toBe(5)
    const sorted = await collect(sorter.sorted())
    expect(sorted).toHaveLength(5500)
    expect(sorted.map((e) => e.key)).toEqual([...keys].sort())
    for (let i = 1; i < sorted.length; i++) {
      if (sorted[i]!.key === sorted[i - 1]!.key) expect(sorted[i]!.seq).toBeGreaterThan(sorted[i - 1]!.seq)
    }
    expect(JSON.parse(sorted[0]!.json)).toHaveProperty('i')
    await sorter.close()
    expect(await readdir(join(dir, 'runs'))).toEqual([])
  })

  it('joins two sorted streams into one group per key', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gb-join-'))
    dirs.push(dir)
    const a = new ExternalSorter(join(dir, 'a'), 1000)
    const b = new ExternalSorter(join(dir, 'b'), 1000)
    for (const k of ['b', 'a', 'c', 'a']) await a.add(k, '{}')
    for (const k of ['d', 'a', 'c']) await b.add(k, '{}')
    const groups = await collect(joinByKey(a.sorted(), b.sorted()))
    expect(groups.map((g) => [g.key, g.source.length, g.authgear.length])).toEqual([
      ['a', 2, 1],
      ['b', 1, 0],
      ['c', 1, 1],
      ['d', 0, 1],
    ])
  })
})
