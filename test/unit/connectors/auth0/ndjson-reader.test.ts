import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import { collect, dataOf, ndjson, source, tempDir, writeGzip, writeText } from './helpers.ts'

const alice = { user_id: 'auth0|60425da93519d90068f82966', email: 'alice@example.com' }
const bob = { user_id: 'auth0|60425dc43519d90068f82973', email: 'bob@example.com' }

describe('auth0 NDJSON reader', () => {
  it('reads profiles with their user_id as key and file:line as origin', async () => {
    const dir = await tempDir()
    await writeText(dir, 'users.ndjson', ndjson(alice, bob))
    const { records } = await collect(source({ files: 'users.ndjson' }, dir))
    expect(records).toEqual([
      { kind: 'data', key: alice.user_id, origin: 'users.ndjson:1', data: alice },
      { kind: 'data', key: bob.user_id, origin: 'users.ndjson:2', data: bob },
    ])
  })

  it('tolerates a BOM, CRLF line ends, blank lines and a missing final newline', async () => {
    const dir = await tempDir()
    await writeText(dir, 'users.jsonl', `\uFEFF${JSON.stringify(alice)}\r\n\r\n   \n${JSON.stringify(bob)}`)
    const { records } = await collect(source({ files: 'users.jsonl' }, dir))
    expect(records.map((record) => [record.kind, record.origin])).toEqual([
      ['data', 'users.jsonl:1'],
      ['data', 'users.jsonl:4'],
    ])
    expect(dataOf(records)).toEqual([alice, bob])
  })

  it('turns a malformed line into an unreadable record naming file and line, without its content', async () => {
    const dir = await tempDir()
    await writeText(dir, 'users.ndjson', `${JSON.stringify(alice)}\n{"user_id":"auth0|x","password":"hunter2\n[1,2]\n${JSON.stringify(bob)}\n`)
    const { records } = await collect(source({ files: 'users.ndjson' }, dir))
    expect(records.map((record) => record.kind)).toEqual(['data', 'unreadable', 'unreadable', 'data'])
    const malformed = records[1]
    expect(malformed).toMatchObject({ kind: 'unreadable', code: 'malformed_json', origin: 'users.ndjson:2', key: 'users.ndjson:2' })
    expect(malformed?.kind === 'unreadable' && malformed.message).toMatch(/^users\.ndjson:2: not valid JSON/)
    expect(JSON.stringify(malformed)).not.toContain('hunter2')
    expect(records[2]).toMatchObject({ code: 'not_an_object', origin: 'users.ndjson:3' })
  })

  it('says how to convert a file whose lines end in a lone CR, which reads as one line', async () => {
    const dir = await tempDir()
    await writeText(dir, 'mac.ndjson', `${JSON.stringify(alice)}\r${JSON.stringify(bob)}\r`)
    const { records } = await collect(source({ files: 'mac.ndjson' }, dir))
    expect(records).toHaveLength(1)
    expect(records[0]?.kind === 'unreadable' && records[0].message).toMatch(/^mac\.ndjson:1: not valid JSON \(.*\); the line holds carriage returns \(\\r\) that may be line ends: convert them with tr '\\r' '\\n' and run again$/)
  })

  it('refuses a line that is not UTF-8 as invalid_utf8, naming file and line, and reads on', async () => {
    // A Latin-1 export (é as the single byte 0xe9): decoding it would import U+FFFD into the name.
    const dir = await tempDir()
    const latin1 = Buffer.from(`{"user_id":"auth0|latin","email":"rene@example.com","name":"Ren\u00e9"}`, 'latin1')
    await writeFile(join(dir, 'users.ndjson'), Buffer.concat([Buffer.from(`${JSON.stringify(alice)}\n`), latin1, Buffer.from(`\n${JSON.stringify({ ...bob, name: 'Zoë' })}\n`)]))
    await writeFile(join(dir, 'more.ndjson.gz'), gzipSync(Buffer.concat([latin1, Buffer.from('\n')])))
    const { records } = await collect(source({ files: ['users.ndjson', 'more.ndjson.gz'] }, dir))
    expect(records.map((record) => [record.kind, record.origin])).toEqual([
      ['unreadable', 'more.ndjson.gz:1'],
      ['data', 'users.ndjson:1'],
      ['unreadable', 'users.ndjson:2'],
      ['data', 'users.ndjson:3'],
    ])
    expect(records[2]).toMatchObject({ code: 'invalid_utf8', key: 'users.ndjson:2' })
    expect(records[2]?.kind === 'unreadable' && records[2].message).toMatch(/^users\.ndjson:2: not UTF-8 text/)
    expect(records[0]).toMatchObject({ code: 'invalid_utf8' })
    expect(dataOf(records).at(-1)).toMatchObject({ name: 'Zoë' })
  })

  it('keys a profile by email, then by origin, when user_id is missing', async () => {
    const dir = await tempDir()
    await writeText(dir, 'users.ndjson', ndjson({ email: 'c@example.com' }, { phone_number: '+14155550101' }))
    const { records } = await collect(source({ files: 'users.ndjson' }, dir))
    expect(records.map((record) => record.key)).toEqual(['c@example.com', 'users.ndjson:2'])
  })

  it('reads gzip, including multi-member gzip, whatever the file is called', async () => {
    const dir = await tempDir()
    await writeGzip(dir, 'users.ndjson.gz', ndjson(alice), ndjson(bob))
    await writeGzip(dir, 'tenant.json', ndjson({ user_id: 'auth0|c' }))
    const { records } = await collect(source({ files: ['users.ndjson.gz', 'tenant.json'] }, dir))
    expect(records.map((record) => record.origin)).toEqual(['tenant.json:1', 'users.ndjson.gz:1', 'users.ndjson.gz:2'])
  })

  it('stops a corrupt gzip file with a bad_gzip record and goes on with the next file', async () => {
    const dir = await tempDir()
    const good = gzipSync(ndjson(...Array.from({ length: 2000 }, (_, i) => ({ user_id: `auth0|${i}`, padding: 'x'.repeat(100) }))))
    const broken = Buffer.from(gzipSync(ndjson(...Array.from({ length: 100 }, (_, i) => ({ user_id: `auth0|b${i}` })))))
    for (let i = 20; i < broken.length - 20; i += 7) broken[i] = (broken[i] as number) ^ 0x5a
    await writeFile(join(dir, 'a.ndjson.gz'), Buffer.concat([good, broken]))
    await writeText(dir, 'b.ndjson', ndjson(bob))
    const { records, batches } = await collect(source({ files: '*.ndjson*' }, dir))
    const bad = records.filter((record) => record.kind === 'unreadable')
    expect(bad).toHaveLength(1)
    expect(bad[0]).toMatchObject({ code: 'bad_gzip' })
    expect(bad[0]?.kind === 'unreadable' && bad[0].message).toMatch(/^a\.ndjson\.gz: gzip data is corrupt or truncated after line \d+/)
    const dataFromA = records.filter((record) => record.kind === 'data' && record.origin.startsWith('a.ndjson.gz'))
    expect(dataFromA.length).toBeGreaterThan(0)
    expect(dataFromA.length).toBeLessThanOrEqual(2000)
    expect(bad[0]?.origin).toBe(`a.ndjson.gz:${dataFromA.length + 1}`)
    expect(records.at(-1)).toMatchObject({ kind: 'data', origin: 'b.ndjson:1' })
    expect(batches.find((batch) => batch.records.includes(bad[0] as never))?.position).toMatchObject({ file: 'a.ndjson.gz', done: true })
  })

  it('reads the members after zero padding, and reports bytes that are neither a member nor padding instead of ending the file as complete', async () => {
    const dir = await tempDir()
    const member = (prefix: string) => gzipSync(ndjson(...Array.from({ length: 10 }, (_, i) => ({ user_id: `auth0|${prefix}${i}` }))))
    await writeFile(join(dir, 'padded.ndjson.gz'), Buffer.concat([member('a'), Buffer.alloc(512), member('b'), member('c'), Buffer.alloc(100)]))
    const padded = await collect(source({ files: 'padded.ndjson.gz' }, dir))
    expect(padded.records.map((record) => record.key)).toEqual([...'abc'].flatMap((prefix) => Array.from({ length: 10 }, (_, i) => `auth0|${prefix}${i}`)))
    // A middle member whose first byte was zeroed: zlib stopped at it and the run read 10 of 30 users, "complete".
    const damaged = member('b')
    damaged[0] = 0
    await writeFile(join(dir, 'damaged.ndjson.gz'), Buffer.concat([member('a'), damaged, member('c')]))
    const { records } = await collect(source({ files: 'damaged.ndjson.gz' }, dir))
    expect(records.map((record) => (record.kind === 'unreadable' ? record.code : 'data'))).toEqual([...Array.from({ length: 10 }, () => 'data'), 'bad_gzip'])
    const last = records.at(-1)
    expect(last?.kind === 'unreadable' && last.message).toMatch(/^damaged\.ndjson\.gz: gzip data is corrupt or truncated after line 10 \(Z_DATA_ERROR: the bytes at offset \d+ of the compressed file are neither a gzip member nor zero padding\); the rest of this file is skipped$/)
  })

  it('reads every user of an intact member before bytes that are not a member, then reports them', async () => {
    const dir = await tempDir()
    const users = Array.from({ length: 20_000 }, (_, i) => ({ user_id: `auth0|${i}`, email: `u${i}@example.com` }))
    await writeFile(join(dir, 'junk.ndjson.gz'), Buffer.concat([gzipSync(ndjson(...users)), Buffer.from('JUNKJUNK'), gzipSync(ndjson(bob))]))
    const { records } = await collect(source({ files: 'junk.ndjson.gz' }, dir))
    // zlib's gunzip, reading on into the junk as the next member's header, lost the member's last users.
    expect(records.filter((record) => record.kind === 'data')).toHaveLength(20_000)
    expect(records.at(-1)).toMatchObject({ kind: 'unreadable', code: 'bad_gzip', origin: 'junk.ndjson.gz:20001' })
    expect(records.at(-1)?.kind === 'unreadable' && records.at(-1)).toMatchObject({ message: expect.stringMatching(/after line 20000/) })
  })

  it('reads many small members, and junk after a small member, the same way', async () => {
    const dir = await tempDir()
    const members = Array.from({ length: 500 }, (_, i) => gzipSync(ndjson({ user_id: `auth0|m${i}` })))
    await writeFile(join(dir, 'small.ndjson.gz'), Buffer.concat([...members, Buffer.from('JUNK'), members[0]!]))
    const { records } = await collect(source({ files: 'small.ndjson.gz' }, dir))
    expect(records.filter((record) => record.kind === 'data').map((record) => record.key)).toEqual(Array.from({ length: 500 }, (_, i) => `auth0|m${i}`))
    expect(records.at(-1)).toMatchObject({ kind: 'unreadable', code: 'bad_gzip', origin: 'small.ndjson.gz:501' })
  })

  it('reports a member whose data fails its CRC-32, and reads members with a file name in their header', async () => {
    const dir = await tempDir()
    const damaged = Buffer.from(gzipSync(ndjson(alice)))
    damaged[damaged.length - 8] = (damaged[damaged.length - 8] as number) ^ 0xff
    await writeFile(join(dir, 'crc.ndjson.gz'), damaged)
    expect((await collect(source({ files: 'crc.ndjson.gz' }, dir))).records.at(-1)).toMatchObject({ kind: 'unreadable', code: 'bad_gzip' })
    // A byte changed in stored (level 0) data inflates without complaint: only the checksum finds it,
    // and none of that member's lines is read. The member before it is.
    const stored = Buffer.from(gzipSync(ndjson(bob), { level: 0 }))
    const at = stored.indexOf('bob')
    stored[at] = 'B'.charCodeAt(0)
    await writeFile(join(dir, 'stored.ndjson.gz'), Buffer.concat([gzipSync(ndjson(alice)), stored]))
    const { records } = await collect(source({ files: 'stored.ndjson.gz' }, dir))
    expect(records.map((record) => record.kind)).toEqual(['data', 'unreadable'])
    expect(records[1]).toMatchObject({ code: 'bad_gzip', message: expect.stringContaining('fails its check (CRC-32 or length): its data is damaged') })
    // gzip(1) writes the original name (FNAME) into the header.
    const plain = gzipSync(ndjson(alice, bob))
    const named = Buffer.concat([plain.subarray(0, 3), Buffer.from([plain[3]! | 0x08]), plain.subarray(4, 10), Buffer.from('users.ndjson\0'), plain.subarray(10)])
    await writeFile(join(dir, 'named.ndjson.gz'), named)
    expect((await collect(source({ files: 'named.ndjson.gz' }, dir))).records.map((record) => record.kind)).toEqual(['data', 'data'])
  })

  it('reports a truncated gzip file the same way', async () => {
    const dir = await tempDir()
    const whole = gzipSync(ndjson(alice, bob))
    await writeFile(join(dir, 'users.ndjson.gz'), whole.subarray(0, whole.length - 6))
    const { records } = await collect(source({ files: 'users.ndjson.gz' }, dir))
    expect(records.at(-1)).toMatchObject({ kind: 'unreadable', code: 'bad_gzip' })
  })

  it('batches by batch_records and reports bytes read', async () => {
    const dir = await tempDir()
    const path = await writeText(dir, 'users.ndjson', ndjson(...Array.from({ length: 7 }, (_, i) => ({ user_id: `auth0|${i}` }))))
    const src = source({ files: 'users.ndjson', batch_records: 3 }, dir)
    const { batches } = await collect(src)
    expect(batches.map((batch) => batch.records.length)).toEqual([3, 3, 1])
    const total = await src.totalBytes?.()
    expect(total).toBe((await import('node:fs')).statSync(path).size)
    expect(batches.at(-1)?.bytesRead).toBe(total)
  })
})
