import { passwordJoinMiss } from '../../../../src/core/password-join-miss.ts'
import { describe, expect, it } from 'vitest'
import type { HashJoinMode } from '../../../../connectors/auth0/config.ts'
import { collect, context, dataOf, ndjson, source, tempDir, writeGzip, writeText } from './helpers.ts'

const DB = 'Username-Password-Authentication'
const bcrypt = (c: string) => `$2b$10$${c.repeat(53)}`

function dbUser(id: string, email: string | undefined, connection = DB): Record<string, unknown> {
  return { user_id: `auth0|${id}`, ...(email ? { email } : {}), identities: [{ provider: 'auth0', user_id: id, connection, isSocial: false }] }
}

function hashLine(fields: Record<string, unknown>, hash: string, connection = DB): Record<string, unknown> {
  return { ...fields, email_verified: true, passwordHash: hash, password_set_date: { $date: '2021-03-05T16:35:16.775Z' }, tenant: 't', connection, _tmp_is_unique: true }
}

async function joined(users: unknown[], hashes: unknown[], join: HashJoinMode = 'auto', gzipHashes = false) {
  const dir = await tempDir()
  await writeText(dir, 'users.ndjson', ndjson(...users))
  if (gzipHashes) await writeGzip(dir, 'hashes.ndjson.gz', ndjson(...hashes))
  else await writeText(dir, 'hashes.ndjson', ndjson(...hashes))
  const src = source({ files: 'users.ndjson', password_hashes: { files: gzipHashes ? 'hashes.ndjson.gz' : 'hashes.ndjson', join } }, dir)
  const { records } = await collect(src)
  return dataOf(records).map((data) => (typeof data['password_hash'] === 'string' ? data['password_hash'] : undefined))
}

describe('password-hash join', () => {
  it('joins by _id.$oid and _ID.$oid, adding password_set_date', async () => {
    const dir = await tempDir()
    await writeText(dir, 'users.ndjson', ndjson(dbUser('60425dc43519d90068f82973', 'a@example.com'), dbUser('60425dc43519d90068f82974', 'b@example.com')))
    await writeText(
      dir,
      'hashes.ndjson',
      ndjson(
        hashLine({ _ID: { $oid: '60425dc43519d90068f82974' }, email: 'b@example.com' }, bcrypt('B')),
        hashLine({ _id: { $oid: '60425dc43519d90068f82973' }, email: 'a@example.com' }, bcrypt('A')),
      ),
    )
    const ctx = context()
    const src = source({ files: 'users.ndjson', password_hashes: { files: 'hashes.ndjson' } }, dir)
    const records = []
    for await (const batch of src.read(undefined, ctx)) records.push(...batch.records)
    expect(dataOf(records)).toEqual([
      { ...dbUser('60425dc43519d90068f82973', 'a@example.com'), password_hash: bcrypt('A'), password_set_date: '2021-03-05T16:35:16.775Z' },
      { ...dbUser('60425dc43519d90068f82974', 'b@example.com'), password_hash: bcrypt('B'), password_set_date: '2021-03-05T16:35:16.775Z' },
    ])
    expect(JSON.stringify(ctx.lines)).not.toContain(bcrypt('A'))
    expect(ctx.lines.find((line) => line.msg === 'Password-hash join summary.')?.obj).toMatchObject({ id: 2, email: 0 })
  })

  it('takes a line longer than any hash line (over 1 MiB) as unreadable alike in the index and on lookup: no hash from it, and an email it shares stays shared', async () => {
    const padding = 'p'.repeat(3 * 1024 * 1024)
    const hashes = [
      hashLine({ _id: { $oid: 'a1' }, email: 'a@example.com' }, bcrypt('A')),
      hashLine({ _id: { $oid: 'b2' }, email: 'b@example.com', padding }, bcrypt('B')),
      // Two lines for one email, the first too long: the email is not unique, so it joins neither.
      hashLine({ _id: { $oid: 'l1' }, email: 'dup@example.com', padding }, bcrypt('L')),
      hashLine({ _id: { $oid: 'n1' }, email: 'dup@example.com' }, bcrypt('N')),
    ]
    for (const gzipHashes of [false, true]) {
      expect(await joined([dbUser('a1', 'a@example.com'), dbUser('b2', 'b@example.com'), dbUser('zzz', 'dup@example.com')], hashes, 'auto', gzipHashes), String(gzipHashes)).toEqual([bcrypt('A'), undefined, undefined])
    }
    // And the run says so, as for any line it cannot read.
    const dir = await tempDir()
    await writeText(dir, 'users.ndjson', ndjson(dbUser('b2', 'b@example.com')))
    await writeText(dir, 'hashes.ndjson', ndjson(...hashes))
    const src = source({ files: 'users.ndjson', password_hashes: { files: 'hashes.ndjson' } }, dir)
    await collect(src)
    expect(src.warnings?.()).toContainEqual(expect.stringMatching(/^password-hash export: 2 lines are not a JSON object \(or longer than 1 MiB, which no hash line is\)/))
  })

  it('counts a hash-export line of tens of megabytes once, without holding it, and joins the lines after it at their offsets', async () => {
    const dir = await tempDir()
    const cut = `{"_id":{"$oid":"b2"},"email":"b@example.com","passwordHash":"$2b$10$${'x'.repeat(40 * 1024 * 1024)}`
    await writeText(dir, 'users.ndjson', ndjson(dbUser('a1', 'a@example.com'), dbUser('b2', 'b@example.com'), dbUser('c3', 'c@example.com')))
    await writeText(dir, 'hashes.ndjson', `${JSON.stringify(hashLine({ _id: { $oid: 'a1' }, email: 'a@example.com' }, bcrypt('A')))}\n${cut}\n${JSON.stringify(hashLine({ _id: { $oid: 'c3' }, email: 'c@example.com' }, bcrypt('C')))}\n`)
    const src = source({ files: 'users.ndjson', password_hashes: { files: 'hashes.ndjson' } }, dir)
    const { records } = await collect(src)
    expect(dataOf(records).map((data) => data['password_hash'])).toEqual([bcrypt('A'), undefined, bcrypt('C')])
    expect(src.warnings?.()).toContainEqual(expect.stringMatching(/^password-hash export: 1 line is not a JSON object/))
  })

  it('joins a user whose hash line appears twice with the same hash (a repeated line, or the same file plain and gzipped)', async () => {
    const line = hashLine({ _id: { $oid: 'e5' }, email: 'e@example.com' }, bcrypt('E'))
    expect(await joined([dbUser('e5', 'e@example.com')], [line, line])).toEqual([bcrypt('E')])
    // Two different hashes for one user still tell nothing apart: no password rather than a guess.
    expect(await joined([dbUser('e5', 'e@example.com')], [line, hashLine({ _id: { $oid: 'e5' }, email: 'e@example.com' }, bcrypt('F'))])).toEqual([undefined])
  })

  it('falls back to the email with the whitespace the mapping trims', async () => {
    const user = { ...dbUser('f6', ' F@Example.com '), identities: [{ provider: 'auth0', user_id: 'f6', connection: DB }] }
    expect(await joined([user], [hashLine({ _id: { $oid: 'other' }, email: 'f@example.com' }, bcrypt('F'))])).toEqual([bcrypt('F')])
  })

  it('fills a password_hash the profile holds as null or empty, as the mapping reads it as absent', async () => {
    const users = [{ ...dbUser('a1', 'a@example.com'), password_hash: null }, { ...dbUser('b2', 'b@example.com'), password_hash: '' }, { ...dbUser('c3', 'c@example.com'), custom_password_hash: null }]
    const hashes = [hashLine({ _id: { $oid: 'a1' } }, bcrypt('A')), hashLine({ _id: { $oid: 'b2' } }, bcrypt('B')), hashLine({ _id: { $oid: 'c3' } }, bcrypt('C'))]
    expect(await joined(users, hashes)).toEqual([bcrypt('A'), bcrypt('B'), bcrypt('C')])
  })

  it("keeps a profile's own passwordHash instead of counting it as a user without a password", async () => {
    const dir = await tempDir()
    await writeText(dir, 'users.ndjson', ndjson({ ...dbUser('d4', 'd@example.com'), passwordHash: bcrypt('D') }))
    await writeText(dir, 'hashes.ndjson', ndjson(hashLine({ _id: { $oid: 'zz' } }, bcrypt('Z'))))
    const ctx = context()
    const src = source({ files: 'users.ndjson', password_hashes: { files: 'hashes.ndjson' } }, dir)
    for await (const _batch of src.read(undefined, ctx)) void _batch
    expect(ctx.lines.find((line) => line.msg === 'Password-hash join summary.')?.obj).toMatchObject({ has_password: 1, none: 0 })
  })

  it("joins by the connection a bulk-export CSV gives only as identities[0].connection (ids shared across connections)", async () => {
    const users = [
      { user_id: 'auth0|cust-1', email: 'a@shop-a.example', identities: [{ connection: 'Shop-A' }] },
      { user_id: 'auth0|cust-1', email: 'b@shop-b.example', identities: [{ connection: 'Shop-B' }] },
    ]
    const hashes = [hashLine({ _id: { $oid: '60425dc43519d90068f80001' }, alt_id: 'cust-1' }, bcrypt('A'), 'Shop-A'), hashLine({ _id: { $oid: '60425dc43519d90068f80002' }, alt_id: 'cust-1' }, bcrypt('B'), 'Shop-B')]
    expect(await joined(users, hashes)).toEqual([bcrypt('A'), bcrypt('B')])
  })

  it('joins a line whose numeric $date is past any date, leaving the date out (it stopped every run)', async () => {
    const lines = [
      { ...hashLine({ _id: { $oid: 'aaa1' }, email: 'a1@example.com' }, bcrypt('A')), password_set_date: { $date: 1e300 } },
      { ...hashLine({ _id: { $oid: 'zz\u0041' }, email: 'z@example.com' }, bcrypt('Z')), password_set_date: { $date: 8640000000000001 } },
      { ...hashLine({ _id: { $oid: 'aaa2' }, email: 'a2@example.com' }, bcrypt('B')), password_set_date: { $date: 1672531200000 } },
    ]
    const dir = await tempDir()
    await writeText(dir, 'users.ndjson', ndjson(dbUser('aaa1', 'a1@example.com'), dbUser('aaa2', 'a2@example.com')))
    await writeText(dir, 'hashes.ndjson', ndjson(...lines))
    const { records } = await collect(source({ files: 'users.ndjson', password_hashes: { files: 'hashes.ndjson' } }, dir))
    expect(dataOf(records).map((data) => [data['password_hash'], data['password_set_date']])).toEqual([
      [bcrypt('A'), undefined],
      [bcrypt('B'), '2023-01-01T00:00:00.000Z'],
    ])
  })

  it('joins users imported into Auth0 with their own id through alt_id', async () => {
    const hashes = [hashLine({ _id: { $oid: 'ffffffffffffffffffffffff' }, alt_id: 'legacy-42', email: 'x@example.com' }, bcrypt('L'))]
    expect(await joined([dbUser('legacy-42', 'other@example.com')], hashes, 'id')).toEqual([bcrypt('L')])
  })

  it('falls back to the lower-cased email only where it is unique in the hash file', async () => {
    const users = [dbUser('aaaaaaaaaaaaaaaaaaaaaaaa', 'Unique@Example.COM'), dbUser('bbbbbbbbbbbbbbbbbbbbbbbb', 'shared@example.com')]
    const hashes = [
      hashLine({ _id: { $oid: '111111111111111111111111' }, email: 'unique@example.com' }, bcrypt('U')),
      hashLine({ _id: { $oid: '222222222222222222222222' }, email: 'shared@example.com' }, bcrypt('S')),
      hashLine({ _id: { $oid: '333333333333333333333333' }, email: 'shared@example.com' }, bcrypt('T'), 'Other-DB'),
    ]
    expect(await joined(users, hashes, 'auto')).toEqual([bcrypt('U'), undefined])
    expect(await joined(users, hashes, 'email')).toEqual([bcrypt('U'), undefined])
    expect(await joined(users, hashes, 'id')).toEqual([undefined, undefined])
  })

  it('does not join when the connection differs', async () => {
    const users = [dbUser('cccccccccccccccccccccccc', 'c@example.com', 'Customers-DB')]
    const hashes = [hashLine({ _id: { $oid: 'cccccccccccccccccccccccc' }, email: 'c@example.com' }, bcrypt('C'), 'Staff-DB')]
    expect(await joined(users, hashes, 'auto')).toEqual([undefined])
  })

  it('picks the line of the profile connection when one id exists in two connections, and none when it cannot tell', async () => {
    const hashes = [
      hashLine({ _id: { $oid: 'dddddddddddddddddddddddd' } }, bcrypt('1'), 'Staff-DB'),
      hashLine({ _id: { $oid: 'dddddddddddddddddddddddd' } }, bcrypt('2'), 'Customers-DB'),
    ]
    expect(await joined([dbUser('dddddddddddddddddddddddd', undefined, 'Customers-DB')], hashes, 'id')).toEqual([bcrypt('2')])
    expect(await joined([{ user_id: 'auth0|dddddddddddddddddddddddd' }], hashes, 'id')).toEqual([undefined])
  })

  it('gives no hash to social users, even with the email of a database user', async () => {
    const social = { user_id: 'google-oauth2|103547991597142817347', email: 'e@example.com', identities: [{ provider: 'google-oauth2', user_id: '103547991597142817347', connection: 'google-oauth2', isSocial: true }] }
    const hashes = [hashLine({ _id: { $oid: 'eeeeeeeeeeeeeeeeeeeeeeee' }, email: 'e@example.com' }, bcrypt('E'))]
    expect(await joined([social], hashes, 'email')).toEqual([undefined])
  })

  it('reads a root provider column (identities[0] exported as provider, user_id, connection) as whose login it is', async () => {
    const hashes = [hashLine({ _id: { $oid: 'ffffffffffffffffffffffff' }, email: 'f@example.com' }, bcrypt('F'))]
    // A social user of such a CSV gets no hash, even with the email of a database user.
    expect(await joined([{ provider: 'google-oauth2', user_id: '103547991597142817347', email: 'f@example.com' }], hashes)).toEqual([undefined])
    expect(await joined([{ provider: 'google-oauth2', email: 'f@example.com' }], hashes)).toEqual([undefined])
    // A database user of it joins by its bare id in its connection.
    expect(await joined([{ provider: 'auth0', user_id: 'ffffffffffffffffffffffff', connection: DB }], hashes, 'id')).toEqual([bcrypt('F')])
  })

  it('warns, without joining, when a user a CSV shows as social-only has its email on a hash line (a linked account looks so)', async () => {
    const dir = await tempDir()
    const csvLinked = { user_id: 'google-oauth2|1001', email: 'ana@example.com', identities: [{ connection: 'google-oauth2' }] }
    const ndjsonSocial = { user_id: 'google-oauth2|1002', email: 'bo@example.com', identities: [{ provider: 'google-oauth2', user_id: '1002', connection: 'google-oauth2', isSocial: true }] }
    await writeText(dir, 'users.ndjson', ndjson(csvLinked, ndjsonSocial))
    await writeText(dir, 'hashes.ndjson', ndjson(hashLine({ _id: { $oid: '60425dc43519d90068f82999' }, email: 'ana@example.com' }, bcrypt('A')), hashLine({ _id: { $oid: '60425dc43519d90068f82998' }, email: 'bo@example.com' }, bcrypt('B'))))
    const src = source({ files: 'users.ndjson', password_hashes: { files: 'hashes.ndjson' } }, dir)
    const { records } = await collect(src)
    expect(dataOf(records).map((data) => data['password_hash'])).toEqual([undefined, undefined])
    expect(src.warnings?.()).toContainEqual(expect.stringMatching(/^password-hash join: 1 user whose first identity is a social login has its email on a hash line and gets no password; .*export NDJSON/))
  })

  it('joins a linked database identity of a social primary user', async () => {
    const linked = {
      user_id: 'google-oauth2|1',
      identities: [
        { provider: 'google-oauth2', user_id: '1', connection: 'google-oauth2', isSocial: true },
        { provider: 'auth0', user_id: 'abababababababababababab', connection: DB, isSocial: false },
      ],
    }
    expect(await joined([linked], [hashLine({ _id: { $oid: 'abababababababababababab' } }, bcrypt('K'))], 'id')).toEqual([bcrypt('K')])
  })

  it('keeps a password_hash the profile already has', async () => {
    const user = { ...dbUser('f0f0f0f0f0f0f0f0f0f0f0f0', 'f@example.com'), password_hash: bcrypt('O') }
    expect(await joined([user], [hashLine({ _id: { $oid: 'f0f0f0f0f0f0f0f0f0f0f0f0' } }, bcrypt('N'))])).toEqual([bcrypt('O')])
  })

  it('reads a gzipped hash export', async () => {
    const hashes = [hashLine({ _id: { $oid: '0a0a0a0a0a0a0a0a0a0a0a0a' }, email: 'g@example.com' }, bcrypt('G'))]
    expect(await joined([dbUser('0a0a0a0a0a0a0a0a0a0a0a0a', 'g@example.com')], hashes, 'auto', true)).toEqual([bcrypt('G')])
  })

  it('warns about hash-export lines it cannot read, whose users get no password (validate prints source warnings)', async () => {
    const dir = await tempDir()
    await writeText(dir, 'users.ndjson', ndjson(dbUser('1', 'a@example.com'), dbUser('2', 'b@example.com')))
    await writeText(dir, 'hashes.ndjson', `${JSON.stringify(hashLine({ _id: { $oid: '1' } }, bcrypt('A')))}\n{"_id":{"$oid":"2"},"passwordHash":"$2b$10$cut\ngarbage\n`)
    const src = source({ files: 'users.ndjson', password_hashes: { files: 'hashes.ndjson' } }, dir)
    const { records } = await collect(src)
    // User 2's line is the damaged one: its report warning says its line may be among them.
    expect(records.map((record) => record.kind === 'data' && (record.data as Record<symbol, unknown>)[passwordJoinMiss])).toEqual([undefined, 'unreadable'])
    expect(src.warnings?.()).toContainEqual('password-hash export: 2 lines are not a JSON object (or longer than 1 MiB, which no hash line is) and were ignored (lines 2, 3 of hashes.ndjson); the users they were for are imported without a password (check the decryption and the file\'s end)')
  })

  it('check() names the files and the join; a missing hash file is a clear error', async () => {
    const dir = await tempDir()
    await writeText(dir, 'users.ndjson', ndjson(dbUser('1', 'a@example.com')))
    await writeText(dir, 'hashes.ndjson', ndjson(hashLine({ _id: { $oid: '1' } }, bcrypt('A'))))
    const ok = source({ files: 'users.ndjson', password_hashes: { files: 'hashes.ndjson' } }, dir)
    expect(await ok.check?.(context())).toMatch(/^auth0: 1 file, \d+ B \(users\.ndjson\); password hashes: 1 file, \d+ B, join by auto$/)
    const missing = source({ files: 'users.ndjson', password_hashes: { files: 'nope/*.ndjson' } }, dir)
    await expect(missing.check?.(context())).rejects.toThrow(/^source\.password_hashes\.files: no password-hash file matches nope\/\*\.ndjson/)
    await expect(source({ files: 'none-*.ndjson' }, dir).check?.(context())).rejects.toThrow(/^source\.files: no export file matches none-\*\.ndjson/)
  })
})
