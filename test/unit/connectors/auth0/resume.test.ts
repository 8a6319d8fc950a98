import { createHash } from 'node:crypto'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { auth0PositionSchema } from '../../../../connectors/auth0/position.ts'
import { collect, context, ndjson, source, tempDir, writeGzip, writeText } from './helpers.ts'

const users = (prefix: string, count: number) => Array.from({ length: count }, (_, i) => ({ user_id: `auth0|${prefix}${i}`, email: `${prefix}${i}@example.com` }))

async function threeFiles(dir: string): Promise<void> {
  await writeText(dir, 'a.ndjson', ndjson(...users('a', 7)).replace('\n', '\r\n\n'))
  await writeGzip(dir, 'b.ndjson.gz', ndjson(...users('b', 4)), ndjson(...users('c', 5)))
  await writeText(dir, 'c.json', JSON.stringify(users('d', 6)))
  await writeText(dir, 'd.csv', `user_id,email\n${users('e', 5).map((user) => `'${user.user_id},'${user.email}`).join('\n')}\n`)
}

describe('resume', () => {
  it('continues after every committed position with no gap and no duplicate, in plain, gzip, JSON and CSV files', async () => {
    const dir = await tempDir()
    await threeFiles(dir)
    const config = { files: ['*.ndjson*', 'c.json', 'd.csv'], batch_records: 3 }
    const { batches, records } = await collect(source(config, dir))
    const keys = records.map((record) => record.key)
    expect(keys).toHaveLength(7 + 9 + 6 + 5)
    expect(new Set(keys).size).toBe(keys.length)
    let before = 0
    for (const batch of batches) {
      before += batch.records.length
      const persisted = auth0PositionSchema.parse(JSON.parse(JSON.stringify(batch.position)))
      const resumed = await collect(source(config, dir), persisted)
      expect(resumed.records.map((record) => record.key), JSON.stringify(persisted)).toEqual(keys.slice(before))
    }
  })

  it('seeks in plain NDJSON: the position carries the byte offset after the last line', async () => {
    const dir = await tempDir()
    await writeText(dir, 'a.ndjson', ndjson(...users('a', 4)))
    const { batches } = await collect(source({ files: 'a.ndjson', batch_records: 2 }, dir))
    const firstLine = `${JSON.stringify(users('a', 1)[0])}\n`
    expect(batches[0]?.position).toMatchObject({ file: 'a.ndjson', line: 2, offset: Buffer.byteLength(firstLine) * 2, size: Buffer.byteLength(firstLine) * 4 })
    expect(batches.at(-1)?.position).toMatchObject({ file: 'a.ndjson', line: 4, done: true })
  })

  it('refuses to resume in a file replaced under the same name, naming the file', async () => {
    const dir = await tempDir()
    await writeText(dir, 'users.ndjson', ndjson(...users('a', 6)))
    const { batches } = await collect(source({ files: 'users.ndjson', batch_records: 2 }, dir))
    const stopped = auth0PositionSchema.parse(JSON.parse(JSON.stringify(batches[1]!.position)))
    // A new export of more users, written over the old one.
    await writeText(dir, 'users.ndjson', ndjson(...users('new', 20)))
    await expect(collect(source({ files: 'users.ndjson', batch_records: 2 }, dir), stopped)).rejects.toMatchObject({
      code: 'GB_CHECKPOINT',
      message: expect.stringMatching(/^users\.ndjson is not the file the checkpoint was reading \(it does not begin as the file read before\).*backfill --retry-failed.*--from-start/),
    })
    // The same for a file cut shorter than what was read, and for a CSV whose size changed after it was read to its end.
    await writeText(dir, 'users.ndjson', ndjson(...users('a', 1)))
    await expect(collect(source({ files: 'users.ndjson', batch_records: 2 }, dir), stopped)).rejects.toMatchObject({ code: 'GB_CHECKPOINT' })
    await writeText(dir, 'd.csv', `user_id,email\n'auth0|e0,'e0@example.com\n`)
    const csv = await collect(source({ files: 'd.csv' }, dir))
    await writeText(dir, 'd.csv', `user_id,email\n'auth0|e0,'e0@example.com\n'auth0|e1,'e1@example.com\n`)
    await expect(collect(source({ files: 'd.csv' }, dir), auth0PositionSchema.parse(JSON.parse(JSON.stringify(csv.batches.at(-1)!.position))))).rejects.toMatchObject({ message: expect.stringContaining('its size changed') })
  })

  it.each([
    ['users.ndjson', (list: ReturnType<typeof users>) => ndjson(...list)],
    ['users.json', (list: ReturnType<typeof users>) => JSON.stringify(list, null, 1)],
    ['users.csv', (list: ReturnType<typeof users>) => `user_id,email\n${list.map((user) => `'${user.user_id},'${user.email}`).join('\n')}\n`],
  ])('refuses to resume a stop\'s position in %s once the file changed past its first 64 KiB (a user gone from a re-export)', async (name, write) => {
    const dir = await tempDir()
    // Long enough lines that user 1450, before the stop's position, lies past the first 64 KiB.
    const all = users('aaaaaaaaaaaa', 3000)
    await writeText(dir, name, write(all))
    const read = source({ files: name, batch_records: 500 }, dir)
    const { batches } = await collect(read)
    // What a stop saves: its last position, sealed with the file as it then was.
    const stopped = auth0PositionSchema.parse(JSON.parse(JSON.stringify(await read.sealPosition!(batches[2]!.position))))
    expect(stopped.digest).toBeDefined()
    // Unchanged, it resumes where it stopped.
    expect((await collect(source({ files: name, batch_records: 500 }, dir), stopped)).records[0]?.key).toBe('auth0|aaaaaaaaaaaa1500')
    await writeText(dir, name, write(all.filter((_, i) => i !== 1450)))
    await expect(collect(source({ files: name, batch_records: 500 }, dir), stopped)).rejects.toMatchObject({
      code: 'GB_CHECKPOINT',
      message: expect.stringContaining(`${name} is not the file the checkpoint was reading (it is shorter`),
    })
    // An edit that keeps the size: one user's email changed after the position.
    await writeText(dir, name, write(all.map((user, i) => (i === 2500 ? { ...user, email: user.email.replace('a', 'z') } : user))))
    await expect(collect(source({ files: name, batch_records: 500 }, dir), stopped)).rejects.toMatchObject({
      code: 'GB_CHECKPOINT',
      message: expect.stringContaining(`${name} is not the file the checkpoint was reading (it was changed since the stop`),
    })
  })

  it('refuses a position when a file sorting before its file was added to the glob, also once the run was complete', async () => {
    const dir = await tempDir()
    await writeText(dir, 'part-1.ndjson', ndjson(...users('b', 4)))
    await writeText(dir, 'part-2.ndjson', ndjson(...users('c', 4)))
    const { batches } = await collect(source({ files: 'part-*.ndjson', batch_records: 2 }, dir))
    const inSecond = auth0PositionSchema.parse(JSON.parse(JSON.stringify(batches.find((batch) => (batch.position as { file: string }).file === 'part-2.ndjson')!.position)))
    const complete = auth0PositionSchema.parse(JSON.parse(JSON.stringify(batches.at(-1)!.position)))
    expect((await collect(source({ files: 'part-*.ndjson' }, dir), inSecond)).records.map((record) => record.key)).toEqual(['auth0|c2', 'auth0|c3'])
    await writeText(dir, 'part-0-late.ndjson', ndjson(...users('a', 3)))
    for (const position of [inSecond, complete]) {
      await expect(collect(source({ files: 'part-*.ndjson' }, dir), position)).rejects.toMatchObject({
        code: 'GB_CHECKPOINT',
        message: expect.stringContaining('the files before part-2.ndjson are not those read before it'),
      })
    }
    // A file before the position appended to (its users after the old end would be passed over).
    await rm(join(dir, 'part-0-late.ndjson'))
    await writeText(dir, 'part-1.ndjson', ndjson(...users('b', 5)))
    await expect(collect(source({ files: 'part-*.ndjson' }, dir), inSecond)).rejects.toMatchObject({ message: expect.stringContaining('the files before part-2.ndjson') })
    await writeText(dir, 'part-1.ndjson', ndjson(...users('b', 4)))
    await writeText(dir, 'part-0-late.ndjson', ndjson(...users('a', 3)))
    // The position's own file gone as well: what sorts before its name is compared all the same.
    await rm(join(dir, 'part-2.ndjson'))
    await expect(collect(source({ files: 'part-*.ndjson' }, dir), complete)).rejects.toMatchObject({ message: expect.stringContaining('the files before part-2.ndjson') })
    await writeText(dir, 'part-3.ndjson', ndjson(...users('d', 2)))
    await expect(collect(source({ files: 'part-*.ndjson' }, dir), complete)).rejects.toMatchObject({ message: expect.stringContaining('the files before part-2.ndjson') })
    // Without the late file, a removed position file passes over nothing: the files after it are read.
    await rm(join(dir, 'part-0-late.ndjson'))
    expect((await collect(source({ files: 'part-*.ndjson' }, dir), complete)).records.map((record) => record.key)).toEqual(['auth0|d0', 'auth0|d1'])
  })

  it('tells a stop\'s list of records settled ahead that two lines of one length were swapped past the first 64 KiB', async () => {
    const dir = await tempDir()
    const all = users('a', 3000)
    await writeText(dir, 'users.ndjson', ndjson(...all))
    const before = await source({ files: 'users.ndjson' }, dir).contentDigest!()
    expect(await source({ files: 'users.ndjson' }, dir).contentDigest!()).toBe(before)
    const swapped = [...all]
    ;[swapped[2500], swapped[2501]] = [swapped[2501]!, swapped[2500]!]
    await writeText(dir, 'users.ndjson', ndjson(...swapped))
    expect(await source({ files: 'users.ndjson' }, dir).contentDigest!()).not.toBe(before)
  })

  it('takes a settled-ahead digest saved by a version that digested names, sizes and heads, while those are the same', async () => {
    const dir = await tempDir()
    const text = ndjson(...users('a', 50))
    await writeText(dir, 'users.ndjson', text)
    const head = createHash('sha256').update(text).digest('hex').slice(0, 16)
    const legacy = createHash('sha256').update(`users.ndjson\0${Buffer.byteLength(text)}\0${head}\n`).digest('hex').slice(0, 32)
    const read = source({ files: 'users.ndjson' }, dir)
    expect(await read.contentMatches!(legacy)).toBe(true)
    expect(await read.contentMatches!(await read.contentDigest!())).toBe(true)
    await writeText(dir, 'users.ndjson', ndjson(...users('b', 50)))
    expect(await source({ files: 'users.ndjson' }, dir).contentMatches!(legacy)).toBe(false)
  })

  it('reads the lines appended to a plain NDJSON file after it was read to its end', async () => {
    const dir = await tempDir()
    await writeText(dir, 'users.ndjson', ndjson(...users('a', 3)))
    const first = await collect(source({ files: 'users.ndjson' }, dir))
    const done = auth0PositionSchema.parse(JSON.parse(JSON.stringify(first.batches.at(-1)!.position)))
    expect(done).toMatchObject({ done: true })
    expect((await collect(source({ files: 'users.ndjson' }, dir), done)).records).toEqual([])
    await writeText(dir, 'users.ndjson', ndjson(...users('a', 3), ...users('b', 2)))
    const again = await collect(source({ files: 'users.ndjson' }, dir), done)
    expect(again.records.map((record) => [record.key, record.origin])).toEqual([
      ['auth0|b0', 'users.ndjson:4'],
      ['auth0|b1', 'users.ndjson:5'],
    ])
  })

  it('refuses to go on inside a last line that had no newline when it was read, and reads a file that was empty', async () => {
    const dir = await tempDir()
    await writeText(dir, 'users.ndjson', `${JSON.stringify(users('a', 1)[0])}\n{"user_id":"auth0|a1","em`)
    // Two lines fill a batch of two: its position comes before the one marked done.
    const cut = await collect(source({ files: 'users.ndjson', batch_records: 2 }, dir))
    const done = auth0PositionSchema.parse(JSON.parse(JSON.stringify(cut.batches.at(-1)!.position)))
    await writeText(dir, 'users.ndjson', ndjson(...users('a', 3)))
    await expect(collect(source({ files: 'users.ndjson' }, dir), done)).rejects.toMatchObject({ message: expect.stringContaining('it grew after a last line that had no newline') })
    // The same from the position just before the done one, where a stop may also have saved it.
    const beforeDone = auth0PositionSchema.parse(JSON.parse(JSON.stringify(cut.batches.at(-2)!.position)))
    expect([beforeDone.line, beforeDone.done ?? false]).toEqual([2, false])
    await expect(collect(source({ files: 'users.ndjson' }, dir), beforeDone)).rejects.toMatchObject({ message: expect.stringContaining('it grew after a last line that had no newline') })
    await writeText(dir, 'empty.ndjson', '')
    const empty = await collect(source({ files: 'empty.ndjson' }, dir))
    const nothing = auth0PositionSchema.parse(JSON.parse(JSON.stringify(empty.batches.at(-1)!.position)))
    await writeText(dir, 'empty.ndjson', ndjson(...users('e', 2)))
    expect((await collect(source({ files: 'empty.ndjson' }, dir), nothing)).records.map((record) => record.key)).toEqual(['auth0|e0', 'auth0|e1'])
  })

  it('moves to the next file after a position marked done, even if the file grew', async () => {
    const dir = await tempDir()
    await writeText(dir, 'a.ndjson', ndjson(...users('a', 2)))
    await writeText(dir, 'b.ndjson', ndjson(...users('b', 2)))
    const { records } = await collect(source({ files: '*.ndjson' }, dir), { file: 'a.ndjson', line: 1, done: true })
    expect(records.map((record) => record.key)).toEqual(['auth0|b0', 'auth0|b1'])
  })
})

describe('cleanup', () => {
  async function openFds(): Promise<number> {
    const { readdir } = await import('node:fs/promises')
    return (await readdir('/proc/self/fd')).length
  }

  it('closes every file when the consumer breaks, in plain, gzip and with a hash join', async () => {
    const dir = await tempDir()
    await threeFiles(dir)
    await writeText(dir, 'hashes.ndjson', ndjson({ _id: { $oid: 'x' }, passwordHash: '$2b$10$' + 'a'.repeat(53) }))
    const baseline = await openFds()
    for (const files of ['a.ndjson', 'b.ndjson.gz', 'c.json', 'd.csv']) {
      const src = source({ files, batch_records: 1, password_hashes: { files: 'hashes.ndjson' } }, dir)
      for await (const batch of src.read(undefined, context())) {
        expect(batch.records).toHaveLength(1)
        expect(src.openFileCount).toBe(2)
        break
      }
      expect(src.openFileCount).toBe(0)
    }
    expect(await openFds()).toBe(baseline)
  })

  it('ends promptly on abort and releases its files', async () => {
    const dir = await tempDir()
    await writeGzip(dir, 'big.ndjson.gz', ndjson(...users('z', 5000)))
    const controller = new AbortController()
    const src = source({ files: 'big.ndjson.gz', batch_records: 10 }, dir)
    let seen = 0
    for await (const batch of src.read(undefined, context(controller.signal))) {
      seen += batch.records.length
      if (seen === 20) controller.abort()
    }
    expect(seen).toBe(20)
    expect(src.openFileCount).toBe(0)
  })
})
