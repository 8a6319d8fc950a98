import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import { createAuth0Mapping } from '../../../../mappings/auth0.ts'
import { mappingConfigSchema } from '../../../../mappings/config.ts'
import type { ReadableRecord, SourceRecord } from '../../../../src/core/source-record.ts'
import type { FileItem } from '../../../../connectors/auth0/file-item.ts'
import { readJsonArray } from '../../../../connectors/auth0/json-array-reader.ts'
import { readCsv } from '../../../../connectors/auth0/csv-reader.ts'
import { collect, dataOf, source, tempDir, writeGzip, writeText } from './helpers.ts'

/** A record as the reader's tests compare it: where it came from, and its code when it is unreadable. */
const originAndCode = (record: SourceRecord) => [record.origin, record.kind === 'unreadable' ? record.code : record.kind]

const importUsers = [
  { email: 'a@example.com', email_verified: true, user_id: 'legacy-1', password_hash: '$2b$10$C5gmk4kTzDuGc8nXqN6FdO0m2r6NwOeDmBZYeq.n2b2YW3cCQp4vG' },
  {
    email: 'b@example.com',
    custom_password_hash: { algorithm: 'md5', hash: { value: '5f4dcc3b5aa765d61d8327deb882cf99', encoding: 'hex' } },
    mfa_factors: [{ totp: { secret: 'JBSWY3DPEHPK3PXP' } }],
    app_metadata: { roles: ['admin'] },
  },
]

describe('auth0 JSON array reader', () => {
  it('reads Auth0 import-format arrays, passing hash and MFA fields through untouched', async () => {
    const dir = await tempDir()
    const text = `\n  ${JSON.stringify(importUsers, null, 2)}`
    await writeText(dir, 'import.json', text)
    const { records } = await collect(source({ files: 'import.json' }, dir))
    expect(dataOf(records)).toEqual(importUsers)
    // The origin names the line each element starts on, so the file can be opened there.
    const startLines = text.split('\n').flatMap((line, i) => (line === '  {' ? [i + 1] : []))
    expect(startLines).toEqual([3, 9])
    expect(records.map((record) => [record.key, record.origin])).toEqual([
      ['legacy-1', 'import.json:3 (element 1)'],
      ['b@example.com', 'import.json:9 (element 2)'],
    ])
  })

  it('refuses array elements that are not UTF-8 as invalid_utf8 and reads the others', async () => {
    const dir = await tempDir()
    const users = Array.from({ length: 3000 }, (_, i) => ({ user_id: `legacy-${i + 1}`, email: `u${i + 1}@example.com`, name: 'Zoë' }))
    const text = JSON.stringify(users, null, 2)
    const latinNames = new Set([2, 1500, 3000])
    let element = 0
    const bytes = Buffer.concat(text.split('\n').map((line) => {
      if (line.includes('"user_id"')) element++
      return line.includes('"name"') && latinNames.has(element) ? Buffer.from(`${line}\n`, 'latin1') : Buffer.from(`${line}\n`)
    }))
    await writeFile(join(dir, 'import.json'), bytes)
    const { records } = await collect(source({ files: 'import.json' }, dir))
    expect(records).toHaveLength(3000)
    const refused = records.filter((record) => record.kind === 'unreadable')
    // "[" on line 1, then five lines an element.
    expect(refused.map((record) => record.origin)).toEqual(['import.json:7 (element 2)', 'import.json:7497 (element 1500)', 'import.json:14997 (element 3000)'])
    expect(refused[0]).toMatchObject({ code: 'invalid_utf8', message: 'import.json:7 (element 2): element is not UTF-8 text (re-encode the file as UTF-8)' })
    expect(dataOf(records).every((data) => data['name'] === 'Zoë')).toBe(true)
  })

  it('sniffs gzipped arrays and treats .json NDJSON (the export job format) as NDJSON', async () => {
    const dir = await tempDir()
    await writeGzip(dir, 'a.json.gz', JSON.stringify(importUsers))
    await writeText(dir, 'b.json', `${JSON.stringify({ user_id: 'auth0|1' })}\n${JSON.stringify({ user_id: 'auth0|2' })}\n`)
    const { records } = await collect(source({ files: '*.json*' }, dir))
    expect(records.map((record) => record.origin)).toEqual(['a.json.gz:1 (element 1)', 'a.json.gz:1 (element 2)', 'b.json:1', 'b.json:2'])
  })

  it('reads a JSON array saved under an NDJSON name as an array, not one dead letter a line', async () => {
    const dir = await tempDir()
    await writeText(dir, 'users.ndjson', JSON.stringify(importUsers, null, 2))
    await writeGzip(dir, 'more.jsonl.gz', `  ${JSON.stringify(importUsers)}`)
    const { records } = await collect(source({ files: '*' }, dir))
    expect(records.every((record) => record.kind === 'data')).toBe(true)
    expect(records).toHaveLength(importUsers.length * 2)
  })

  it('names a truncated gzip in an array by the line and element it broke after, and reads the next file', async () => {
    const dir = await tempDir()
    const text = JSON.stringify(Array.from({ length: 3000 }, (_, i) => ({ user_id: `auth0|${i}`, email: `u${i}@example.com`, padding: 'x'.repeat(60) })), null, 2)
    // A download broken off: the elements before the cut are whole, the rest is missing.
    const whole = gzipSync(text)
    await writeFile(join(dir, 'a.json.gz'), whole.subarray(0, Math.floor(whole.length * 0.7)))
    await writeText(dir, 'b.json', JSON.stringify([{ user_id: 'auth0|b' }]))
    const { records } = await collect(source({ files: '*.json*' }, dir))
    const fromA = records.filter((record) => record.origin.startsWith('a.json.gz'))
    const bad = fromA.at(-1)!
    const lastGood = fromA.at(-2)!
    expect(bad).toMatchObject({ kind: 'unreadable', code: 'bad_gzip' })
    const elements = fromA.length - 1
    // Each element of this array takes 5 lines, after the "[" line.
    expect(lastGood.origin).toBe(`a.json.gz:${2 + 5 * (elements - 1)} (element ${elements})`)
    expect(bad.origin).toMatch(new RegExp(`^a\\.json\\.gz:\\d+ \\(element ${elements + 1}\\)$`))
    expect(Number(/:(\d+) /.exec(bad.origin)?.[1])).toBeGreaterThanOrEqual(2 + 5 * (elements - 1))
    expect(bad.kind === 'unreadable' && bad.message).toMatch(new RegExp(`: gzip data is corrupt or truncated after element ${elements} \\(Z_[A-Z_]+\\); the rest of this file is skipped$`))
    expect(records.at(-1)).toMatchObject({ kind: 'data', origin: 'b.json:1 (element 1)' })
  })

  it('honours an explicit format over the extension', async () => {
    const dir = await tempDir()
    await writeText(dir, 'users.txt', JSON.stringify(importUsers))
    const { records } = await collect(source({ files: 'users.txt', format: 'json' }, dir))
    expect(dataOf(records)).toHaveLength(2)
  })

  it('dead-letters a malformed element with its number and reads every element before and after it', async () => {
    const dir = await tempDir()
    // Over several 1 MiB reads, with broken elements in the middle and at the end.
    const elements = Array.from({ length: 5000 }, (_, i) => JSON.stringify({ email: `u${i + 1}@example.com`, padding: 'x'.repeat(400), note: 'a "quoted" [bracket} inside' }))
    elements[4000] = '{"email": "u4001@example.com", "padding": "x",}'
    elements[2499] = '{"email": oops}'
    await writeText(dir, 'import.json', `[\n  ${elements.join(',\n  ')},\n  {"email": "last@example.com"\n]`)
    await writeText(dir, 'next.json', JSON.stringify([{ email: 'e@example.com' }, 42]))
    const { records } = await collect(source({ files: '*.json' }, dir))
    const fromImport = records.filter((record) => record.origin.startsWith('import.json'))
    const refused = fromImport.filter((record) => record.kind === 'unreadable')
    expect(refused.map((record) => [record.origin, record.kind === 'unreadable' && record.code])).toEqual([
      ['import.json:2501 (element 2500)', 'malformed_json'],
      ['import.json:4002 (element 4001)', 'malformed_json'],
      ['import.json:5002 (element 5001)', 'malformed_json'],
      ['import.json:5003 (element 5002)', 'malformed_json'],
    ])
    expect(refused[0]?.kind === 'unreadable' && refused[0].message).toMatch(/^import\.json:2501 \(element 2500\): element is not valid JSON \(/)
    expect(refused[0]?.kind === 'unreadable' && refused[0].message).not.toContain('oops')
    // The last element closes with the array's "]", which leaves the array itself open.
    expect(refused[3]?.kind === 'unreadable' && refused[3].message).toBe('import.json:5003 (element 5002): the array is not closed with "]"; every element before the end was read')
    const parsed = fromImport.filter((record) => record.kind === 'data')
    expect(parsed).toHaveLength(4998)
    expect(dataOf(parsed).at(-1)).toMatchObject({ email: 'u5000@example.com' })
    expect(records.slice(fromImport.length).map((record) => [record.kind, record.origin])).toEqual([
      ['data', 'next.json:1 (element 1)'],
      ['unreadable', 'next.json:1 (element 2)'],
    ])
    expect(records.at(-1)).toMatchObject({ code: 'not_an_object' })
  })

  it('reports a file that is not an array, and text after the closing bracket', async () => {
    const dir = await tempDir()
    await writeText(dir, 'two.json', '[{"email": "a@example.com"}] [{"email": "b@example.com"}]')
    await writeText(dir, 'string.json', '"not an array"')
    const { records } = await collect(source({ files: ['two.json', 'string.json'], format: 'json' }, dir))
    expect(records.map((record) => [record.origin, record.kind === 'unreadable' ? record.message : record.kind])).toEqual([
      ['string.json:1 (element 1)', 'string.json:1 (element 1): the file is not a JSON array (it does not start with "["); nothing in it was read'],
      ['two.json:1 (element 1)', 'data'],
      ['two.json:1 (element 2)', 'two.json:1 (element 2): there is more after the array\'s closing "]"; it is not read'],
    ])
  })
})

describe('auth0 CSV reader', () => {
  it("strips Auth0's ' prefix, rebuilds dotted headers, types booleans and drops empty cells", async () => {
    const dir = await tempDir()
    const csv = [
      'user_id,email,email_verified,blocked,created_at,user_metadata.plan,user_metadata.consent.given,identities[0].connection,logins_count,given_name',
      `"'auth0|1","'Alice@Example.com",true,false,2021-03-05T16:34:49.518Z,"'pro","'yes","'Username-Password-Authentication",12,""`,
      `"'auth0|2","'=cmd|' /C calc'!A0",false,,2021-03-06T10:00:00.000Z,,,"'google-oauth2",,"'Bo ""B"" Ng"`,
    ].join('\n')
    await writeText(dir, 'export.csv', csv)
    const { records } = await collect(source({ files: 'export.csv' }, dir))
    expect(dataOf(records)).toEqual([
      {
        user_id: 'auth0|1',
        email: 'Alice@Example.com',
        email_verified: true,
        blocked: false,
        created_at: '2021-03-05T16:34:49.518Z',
        user_metadata: { plan: 'pro', consent: { given: 'yes' } },
        identities: [{ connection: 'Username-Password-Authentication' }],
        logins_count: 12,
      },
      {
        user_id: 'auth0|2',
        email: "=cmd|' /C calc'!A0",
        email_verified: false,
        created_at: '2021-03-06T10:00:00.000Z',
        identities: [{ connection: 'google-oauth2' }],
        given_name: 'Bo "B" Ng',
      },
    ])
    expect(records.map((record) => record.origin)).toEqual(['export.csv:2', 'export.csv:3'])
  })

  it("reads a bare number or boolean as one where Auth0's ' marks the strings, and keeps every cell text in a CSV without the marks", async () => {
    const dir = await tempDir()
    await writeText(dir, 'export.csv', [
      'user_id,email,user_metadata.age,app_metadata.vip,user_metadata.zip,user_metadata.code,phone_number,created_at',
      `"'auth0|1","'a@example.com",42,true,"'02134",-1.5e3,"'+15551234567",2021-03-05T16:34:49.518Z`,
    ].join('\n'))
    await writeText(dir, 'own.csv', ['user_id,email,user_metadata.age,app_metadata.vip,phone_number,name', "auth0|2,b@example.com,42,true,15551234567,'Tis me"].join('\n'))
    // The first identity exported as root columns: a GitHub id is a number in Auth0, still an id.
    await writeText(dir, 'social.csv', ['provider,user_id,email,user_metadata.age', `"'github",1234567,"'gh@example.com",7`].join('\n'))
    // The Import/Export extension's labels mark the convention too.
    await writeText(dir, 'extension.csv', ['Id,Email,user_metadata.age', `"'auth0|3","'c@example.com",9`].join('\n'))
    const { records } = await collect(source({ files: ['export.csv', 'own.csv', 'social.csv', 'extension.csv'] }, dir))
    expect(dataOf(records)).toEqual([
      {
        user_id: 'auth0|1', email: 'a@example.com', user_metadata: { age: 42, zip: '02134', code: -1500 }, app_metadata: { vip: true },
        phone_number: '+15551234567', created_at: '2021-03-05T16:34:49.518Z',
      },
      // Files are read in name order: export, extension, own, social.
      { user_id: 'auth0|3', email: 'c@example.com', user_metadata: { age: 9 } },
      // Its leading ' is the name's own: only a row that follows Auth0's convention has one to strip.
      { user_id: 'auth0|2', email: 'b@example.com', user_metadata: { age: '42' }, app_metadata: { vip: 'true' }, phone_number: '15551234567', name: "'Tis me" },
      { provider: 'github', user_id: '1234567', email: 'gh@example.com', user_metadata: { age: 7 } },
    ])
  })

  it('detects tab-separated files (the extension writes TSV named .csv) and .tsv gzip', async () => {
    const dir = await tempDir()
    await writeText(dir, 'a.csv', "user_id\temail\n'auth0|1\t'a@example.com\n")
    await writeGzip(dir, 'b.tsv.gz', "user_id\temail\n'auth0|2\t'b, with comma@example.com\n")
    const { records } = await collect(source({ files: ['a.csv', 'b.tsv.gz'] }, dir))
    expect(dataOf(records)).toEqual([
      { user_id: 'auth0|1', email: 'a@example.com' },
      { user_id: 'auth0|2', email: 'b, with comma@example.com' },
    ])
  })

  it("reads the extension's default field labels as the fields they stand for, and joins the hash by the id", async () => {
    const dir = await tempDir()
    await writeText(dir, 'ext.csv', "Id\tGiven Name\tEmail\tEmail Verified\tConnection\n'auth0|abc123\tAl\t'al@example.com\ttrue\tUsername-Password-Authentication\n")
    const hash = '$2b$10$C5gmk4kTzDuGc8nXqN6FdO0m2r6NwOeDmBZYeq.n2b2YW3cCQp4vG'
    await writeText(dir, 'hashes.json', `${JSON.stringify({ _id: { $oid: 'abc123' }, email: 'al@example.com', passwordHash: hash, connection: 'Username-Password-Authentication' })}\n`)
    const { records } = await collect(source({ files: ['ext.csv'], password_hashes: { files: ['hashes.json'] } }, dir))
    expect(records[0]).toMatchObject({ kind: 'data', key: 'auth0|abc123' })
    expect(dataOf(records)).toEqual([
      {
        user_id: 'auth0|abc123', given_name: 'Al', email: 'al@example.com', email_verified: 'true',
        identities: [{ connection: 'Username-Password-Authentication', provider: 'auth0', user_id: 'abc123' }],
        password_hash: hash,
      },
    ])
    const mapped = createAuth0Mapping(mappingConfigSchema.parse({}))(records[0] as ReadableRecord)
    expect(mapped.ok && mapped.value.record).toMatchObject({ email: 'al@example.com', email_verified: true, given_name: 'Al', password: { type: 'bcrypt', password_hash: hash } })
  })

  it('refuses rows that are not UTF-8 (a spreadsheet saved as Windows-1252) as invalid_utf8 and reads the others', async () => {
    // Enough rows for several read chunks; the bad ones sit at the start, in the middle (one a
    // quoted cell spanning two lines) and at the very end without a final newline.
    const dir = await tempDir()
    const bad = new Set([1, 7000, 13000, 20000])
    const parts: Buffer[] = [Buffer.from('user_id,email,name\n')]
    for (let n = 1; n <= 20000; n++) {
      const name = bad.has(n) ? Buffer.from(n === 7000 ? '"Ren\u00e9e\nDupont"' : 'Ren\u00e9e', 'latin1') : Buffer.from(n % 3 === 0 ? '"Zoë\nLine"' : 'Zoë')
      parts.push(Buffer.from(`'auth0|${n},u${n}@example.com,`), name, Buffer.from(n === 20000 ? '' : '\n'))
    }
    await writeFile(join(dir, 'win.csv'), Buffer.concat(parts))
    const { records } = await collect(source({ files: 'win.csv' }, dir))
    expect(records).toHaveLength(20000)
    const refused = records.filter((record) => record.kind === 'unreadable')
    expect(refused.map((record) => record.kind === 'unreadable' && record.code)).toEqual(['invalid_utf8', 'invalid_utf8', 'invalid_utf8', 'invalid_utf8'])
    expect(refused[0]?.kind === 'unreadable' && refused[0].message).toBe('win.csv:2: row is not UTF-8 text (save or re-encode the file as UTF-8)')
    const keys = records.filter((record) => record.kind === 'data').map((record) => record.key)
    expect(keys).toHaveLength(19996)
    expect(keys.filter((key) => bad.has(Number(key.slice(6))))).toEqual([])
    expect(dataOf(records).every((data) => String(data['name']).startsWith('Zoë'))).toBe(true)
  })

  it('dead-letters a row with a stray quote by its line and reads every row before and after it', async () => {
    const dir = await tempDir()
    const rows = Array.from({ length: 11000 }, (_, i) => `auth0|${i + 1},u${i + 1}@example.com,Name ${i + 1}`)
    rows[10000] = 'auth0|10001,u10001@ex"ample.com,Broken'
    rows[3] = 'auth0|4,u4@example.com,Bro"ken'
    await writeText(dir, 'users.csv', `user_id,email,given_name\n${rows.join('\n')}\n`)
    const { records } = await collect(source({ files: 'users.csv' }, dir))
    expect(records).toHaveLength(11000)
    const refused = records.filter((record) => record.kind === 'unreadable')
    expect(refused.map((record) => [record.origin, record.kind === 'unreadable' && record.code])).toEqual([
      ['users.csv:5', 'malformed_csv'],
      ['users.csv:10002', 'malformed_csv'],
    ])
    expect(refused[1]?.kind === 'unreadable' && refused[1].message).toBe('users.csv:10002: row is not valid CSV: a quote inside a cell that does not start with one in cell 2 (email); fix it and send it with backfill --retry-failed')
    expect(JSON.stringify(refused)).not.toContain('ample')
    expect(records.filter((record) => record.kind === 'data').map((record) => record.origin).slice(-2)).toEqual(['users.csv:11000', 'users.csv:11001'])
  })

  it('stops at a header row that is not valid CSV rather than take the next row for the header', async () => {
    const dir = await tempDir()
    await writeText(dir, 'h.csv', 'email,na"me"\na@x.com,A\nb@x.com,B\n')
    const { records } = await collect(source({ files: 'h.csv' }, dir))
    expect(records.map((record) => [record.origin, record.kind === 'unreadable' ? record.message : record.kind])).toEqual([
      ['h.csv:1', 'h.csv:1: the header row is not valid CSV (a quote inside a cell that does not start with one); nothing in this file was read'],
    ])
  })

  it('stops at a first row that holds data, as a part split from a larger export has, naming the cell but never its content', async () => {
    const dir = await tempDir()
    const hash = `$2b$10$${'k'.repeat(53)}`
    await writeText(dir, 'part-01.csv', `auth0|2,bo@x.com,${hash},KRSXG5CTMVRXEZLU\nauth0|3,cy@x.com,$2b$10$${'m'.repeat(53)},GEZDGNBVGY3TQOJQ\n`)
    await writeText(dir, 'part-02.csv', `id,mail\n7,fay@x.com\n`)
    await writeText(dir, 'part-03.csv', `name,${hash}\nAnn,x\n`)
    const { records } = await collect(source({ files: 'part-*.csv' }, dir))
    expect(records.map((record) => [record.origin, record.kind === 'unreadable' ? record.message : record.kind])).toEqual([
      ['part-01.csv:1', "part-01.csv:1: the first row is not a header (cell 1 is a user id): every row would be read by its values, which would key them; put the export's header row first (a file split from a larger export needs it copied in); nothing in this file was read"],
      ['part-02.csv:2', 'data'],
      ['part-03.csv:1', "part-03.csv:1: the first row is not a header (cell 2 looks like a password hash or secret): every row would be read by its values, which would key them; put the export's header row first (a file split from a larger export needs it copied in); nothing in this file was read"],
    ])
    expect(JSON.stringify(records)).not.toMatch(/kkkk|mmmm|KRSXG5|GEZDGN|bo@x|cy@x/)
  })

  it('dead-letters a row with two stray quotes once, and a quote never closed as its own line, reading every row after both', async () => {
    const dir = await tempDir()
    await writeText(dir, 'q.csv', 'email,name\na@x.com,A\nb@x.com,"John "Johnny" Smith"\nc@x.com,C\nd@x.com,"D\ne@x.com,E\n')
    const { records } = await collect(source({ files: 'q.csv' }, dir))
    expect(records.map(originAndCode)).toEqual([
      ['q.csv:2', 'data'],
      ['q.csv:3', 'malformed_csv'],
      ['q.csv:4', 'data'],
      ['q.csv:5', 'malformed_csv'],
      ['q.csv:6', 'data'],
    ])
    expect(records[3]?.kind === 'unreadable' && records[3].message).toBe('q.csv:5: row is not valid CSV: a quote opened on line 5 is never closed; fix it and send it with backfill --retry-failed')
  })

  it('reads the rows after a cell with text after its closing quote (csv-parse dropped them without a word)', async () => {
    const dir = await tempDir()
    await writeText(dir, 'b.csv', 'email,name\na@x.com,"B"b\nc@x.com,C\nd@x.com,D\ne@x.com,"E"\nf@x.com,F\n')
    const { records } = await collect(source({ files: 'b.csv' }, dir))
    expect(records.map(originAndCode)).toEqual([
      ['b.csv:2', 'malformed_csv'],
      ['b.csv:3', 'data'],
      ['b.csv:4', 'data'],
      ['b.csv:5', 'data'],
      ['b.csv:6', 'data'],
    ])
    expect(dataOf(records).map((data) => data['name'])).toEqual(['C', 'D', 'E', 'F'])
    expect(records[0]?.kind === 'unreadable' && records[0].message).toBe('b.csv:2: row is not valid CSV: text after the closing quote of a cell in cell 2 (name); fix it and send it with backfill --retry-failed')
  })

  it('names both lines of a faulty row whose quoted cell spans two', async () => {
    const dir = await tempDir()
    await writeText(dir, 'm.csv', 'email,note\na@x.com,"one\ntwo"x\nb@x.com,"three\nfour"\n')
    const { records } = await collect(source({ files: 'm.csv' }, dir))
    expect(records.map(originAndCode)).toEqual([
      ['m.csv:3', 'malformed_csv'],
      ['m.csv:5', 'data'],
    ])
    expect(records[0]?.kind === 'unreadable' && records[0].message).toMatch(/^m\.csv:3: row is not valid CSV \(lines 2–3\): text after the closing quote/)
    expect(dataOf(records)[0]).toEqual({ email: 'b@x.com', note: 'three\nfour' })
  })

  it('keeps a header such as __proto__.password_hash as data instead of giving every object that hash', async () => {
    const dir = await tempDir()
    await writeText(dir, 'p.csv', "email,__proto__.password_hash,constructor.prototype.blocked\n'a@x.com,'$2b$10$C5gmk4kTzDuGc8nXqN6FdO0m2r6NwOeDmBZYeq.n2b2YW3cCQp4vG,true\n")
    const { records } = await collect(source({ files: 'p.csv' }, dir))
    const data = dataOf(records)[0] as Record<string, unknown>
    expect(({} as Record<string, unknown>)['password_hash']).toBeUndefined()
    expect(({} as Record<string, unknown>)['blocked']).toBeUndefined()
    expect(data['password_hash']).toBeUndefined()
    expect(Object.getPrototypeOf(data)).toBe(Object.prototype)
    expect(JSON.parse(JSON.stringify(data))).toEqual(JSON.parse('{"email":"a@x.com","__proto__":{"password_hash":"$2b$10$C5gmk4kTzDuGc8nXqN6FdO0m2r6NwOeDmBZYeq.n2b2YW3cCQp4vG"},"constructor":{"prototype":{"blocked":true}}}'))
  })

  it('dead-letters a row whose headers clash (a field of a list) and keeps an index too large for a list as a name', async () => {
    const dir = await tempDir()
    await writeText(dir, 'c.csv', 'email,identities[0].connection,identities.length,identities[300000000].connection\na@x.com,db,,\nb@x.com,db,5,\nc@x.com,,,big\n')
    const { records } = await collect(source({ files: 'c.csv' }, dir))
    expect(records.map(originAndCode)).toEqual([
      ['c.csv:2', 'data'],
      ['c.csv:3', 'malformed_csv'],
      ['c.csv:4', 'data'],
    ])
    expect(records[1]?.kind === 'unreadable' && records[1].message).toBe('c.csv:3: row cannot be read as a profile (header "identities.length": "length" names a field of a list); rename the header and send the rows with backfill --retry-failed')
    expect(dataOf(records)[1]).toEqual({ email: 'c@x.com', 'identities[300000000]': { connection: 'big' } })
  })

  it('sniffs tabs from the first non-empty line, whatever its line end and however the file is chunked', async () => {
    const read = async (...chunks: string[]) => {
      async function* gen() {
        for (const chunk of chunks) yield Buffer.from(chunk)
      }
      const items: FileItem[] = []
      for await (const item of readCsv(gen(), { line: 0 }, 'auto')) items.push(item)
      return items.map((item) => (item.kind === 'value' ? item.value : item.code))
    }
    expect(await read("\nuser_id\temail\n'auth0|1\t'a@x.com\n")).toEqual([{ user_id: 'auth0|1', email: 'a@x.com' }])
    expect(await read('email\tname\ra@x.com\tSmith, John, Jr.\r')).toEqual([{ email: 'a@x.com', name: 'Smith, John, Jr.' }])
    expect(await read('user_id', "\temail\n'auth0|1\t'a@x.com\n")).toEqual([{ user_id: 'auth0|1', email: 'a@x.com' }])
  })

  it('finds bytes that are not UTF-8 in a CSV whose lines end in a lone CR (an old Mac save)', async () => {
    const dir = await tempDir()
    await writeFile(join(dir, 'mac.csv'), Buffer.concat([Buffer.from('email,name\ra@x.com,'), Buffer.from('Ren\u00e9e', 'latin1'), Buffer.from('\rb@x.com,Zoë\r')]))
    const { records } = await collect(source({ files: 'mac.csv' }, dir))
    expect(records.map(originAndCode)).toEqual([
      ['mac.csv:2', 'invalid_utf8'],
      ['mac.csv:3', 'data'],
    ])
  })

  it('reports rows with the wrong number of cells and unclosed quotes', async () => {
    const dir = await tempDir()
    await writeText(dir, 'a.csv', "user_id,email\n'auth0|1,a@example.com\n'auth0|2\n'auth0|3,c@example.com\n\"'auth0|4,d\n")
    const { records } = await collect(source({ files: 'a.csv' }, dir))
    expect(records.map((record) => [record.kind, record.kind === 'unreadable' ? record.code : record.key])).toEqual([
      ['data', 'auth0|1'],
      ['unreadable', 'csv_column_count'],
      ['data', 'auth0|3'],
      ['unreadable', 'malformed_csv'],
    ])
  })
})

describe('batches of wide profiles', () => {
  it('close at a weight of parsed values as well as at batch_records, in every format, and hold every record once', async () => {
    const dir = await tempDir()
    // 60 profiles of about 1 MB each (a CSV row of 3,000 cells of 300 bytes): 8 MiB is 8 to 10 of them, not 500.
    const cells = Array.from({ length: 3000 }, (_, i) => `user_metadata.k${i}`)
    const value = 'v'.repeat(300)
    await writeText(dir, 'wide.csv', [['user_id', ...cells].join(','), ...Array.from({ length: 60 }, (_, n) => [`'auth0|${n}`, ...cells.map(() => value)].join(','))].join('\n'))
    const profiles = Array.from({ length: 60 }, (_, n) => ({ user_id: `auth0|${n}`, user_metadata: Object.fromEntries(cells.map((_, i) => [`k${i}`, value])) }))
    await writeGzip(dir, 'wide.ndjson.gz', profiles.map((profile) => JSON.stringify(profile)).join('\n'))
    await writeText(dir, 'wide.json', JSON.stringify(profiles))
    for (const files of ['wide.csv', 'wide.ndjson.gz', 'wide.json']) {
      const { batches, records } = await collect(source({ files, batch_records: 500 }, dir))
      expect(records.filter((record) => record.kind === 'data'), files).toHaveLength(60)
      expect(Math.max(...batches.map((batch) => batch.records.length)), files).toBeLessThanOrEqual(10)
    }
  })
})

describe('JSON array element cutting', () => {
  /** The items of an array read in the given chunks. */
  async function itemsOf(...chunks: Buffer[]): Promise<FileItem[]> {
    async function* read() {
      yield* chunks
    }
    const items: FileItem[] = []
    // An element's weight (its length) is for batching, not what these tests check.
    for await (const item of readJsonArray(read(), { line: 0 })) {
      const { weight: _weight, ...rest } = item as FileItem & { weight?: number }
      items.push(rest as FileItem)
    }
    return items
  }

  it('reports a stray closing bracket as one bad element and reads on', async () => {
    for (const [text, expected] of [
      ['[{"user_id":"auth0|1"}},{"user_id":"auth0|2"}]', [['value', 1], ['error', 2], ['value', 3]]],
      ['[ } ]', [['error', 1]]],
      ['  \n', []],
    ] as const) {
      expect((await itemsOf(Buffer.from(text))).map((item) => [item.kind, item.line]), text).toEqual(expected)
    }
  })

  it('reports an element with a stray quote and reads the elements after it, one per line or indented, however the text is chunked', async () => {
    const broken = 'element is not valid JSON (a string in it runs past the end of its line: a quote not escaped?)'
    const onePerLine = Buffer.from('[\n{"user_id":"auth0|d1"},\n{"user_id":"auth0|d2","name":"a"b"},\n{"user_id":"auth0|d3"},\r\n{"user_id":"auth0|d4"}\n]\n')
    const indented = Buffer.from('[\n  {\n    "user_id": "auth0|e1",\n    "name": "a"b",\n    "identities": [\n      {\n        "provider": "auth0"\n      }\n    ]\n  },\n  {\n    "user_id": "auth0|e2"\n  },\n  {"user_id": "auth0|e3", "name": "q"q"}\n]')
    for (const [text, expected] of [
      [onePerLine, [{ kind: 'value', line: 1, startLine: 2, value: { user_id: 'auth0|d1' } }, { kind: 'error', line: 2, startLine: 3, code: 'malformed_json', detail: broken }, { kind: 'value', line: 3, startLine: 4, value: { user_id: 'auth0|d3' } }, { kind: 'value', line: 4, startLine: 5, value: { user_id: 'auth0|d4' } }]],
      [indented, [{ kind: 'error', line: 1, startLine: 2, code: 'malformed_json', detail: broken }, { kind: 'value', line: 2, startLine: 11, value: { user_id: 'auth0|e2' } }, { kind: 'error', line: 3, startLine: 14, code: 'malformed_json', detail: broken }]],
    ] as const) {
      expect(await itemsOf(text)).toEqual(expected)
      for (let cut = 1; cut < text.length; cut++) expect(await itemsOf(text.subarray(0, cut), text.subarray(cut)), `cut at ${cut}`).toEqual(expected)
    }
    // A raw line break inside a string whose quotes still pair: that element alone is refused, also in an array on one line.
    const rawBreak = Buffer.from('[{"e":"x\ny"},{"e":"b"},\n{"e":"c"}]')
    const rawBreakItems = [
      { kind: 'error', line: 1, startLine: 1, code: 'malformed_json', detail: 'element is not valid JSON (Bad control character in string literal)' },
      { kind: 'value', line: 2, startLine: 2, value: { e: 'b' } },
      { kind: 'value', line: 3, startLine: 3, value: { e: 'c' } },
    ]
    expect(await itemsOf(rawBreak)).toEqual(rawBreakItems)
    for (let cut = 1; cut < rawBreak.length; cut++) expect(await itemsOf(rawBreak.subarray(0, cut), rawBreak.subarray(cut)), `cut at ${cut}`).toEqual(rawBreakItems)
    // A broken element that runs on for megabytes is let go of, and the element after it still read.
    const long = Buffer.concat([Buffer.from('[\n  {"a": "x"y",\n'), Buffer.from('    "k": "v",\n'.repeat(200_000)), Buffer.from('  },\n  {"b": 2}\n]')])
    const chunks = Array.from({ length: Math.ceil(long.length / 65536) }, (_, i) => long.subarray(i * 65536, (i + 1) * 65536))
    expect(await itemsOf(...chunks)).toEqual([{ kind: 'error', line: 1, startLine: 2, code: 'malformed_json', detail: broken }, { kind: 'value', line: 2, startLine: 200_004, value: { b: 2 } }])
    // With no later line at its indentation, the broken element is the rest of the file, and says so.
    expect(await itemsOf(Buffer.from('[\n  {"a": "x"y",\n"b": 1}]'))).toEqual([{ kind: 'error', line: 1, startLine: 2, code: 'malformed_json', detail: `${broken}; no element starts after it, so it runs to the end of the file` }])
  })

  it('cuts an element missing its closing bracket at the next line that starts an element, and reads the elements after it', async () => {
    const unclosed = 'element is not valid JSON (a bracket in it is not closed before the next element starts: the element is cut short?)'
    const onePerLine = Buffer.from('[\n{"user_id":"auth0|1"},\n{"user_id":"auth0|cut","email":"c@example.com",\n{"user_id":"auth0|2"},\r\n{"user_id":"auth0|3","a":{"b":[1]}},\n{"user_id":"auth0|4"}\n]\n')
    const indented = Buffer.from('[\n  {\n    "user_id": "auth0|e1",\n    "identities": [\n      {\n        "provider": "auth0"\n  },\n  {\n    "user_id": "auth0|e2"\n  },\n  {"user_id": "auth0|e3"}\n]')
    for (const [text, expected] of [
      [onePerLine, [
        { kind: 'value', line: 1, startLine: 2, value: { user_id: 'auth0|1' } },
        { kind: 'error', line: 2, startLine: 3, code: 'malformed_json', detail: unclosed },
        { kind: 'value', line: 3, startLine: 4, value: { user_id: 'auth0|2' } },
        { kind: 'value', line: 4, startLine: 5, value: { user_id: 'auth0|3', a: { b: [1] } } },
        { kind: 'value', line: 5, startLine: 6, value: { user_id: 'auth0|4' } },
      ]],
      [indented, [
        { kind: 'error', line: 1, startLine: 2, code: 'malformed_json', detail: unclosed },
        { kind: 'value', line: 2, startLine: 8, value: { user_id: 'auth0|e2' } },
        { kind: 'value', line: 3, startLine: 11, value: { user_id: 'auth0|e3' } },
      ]],
    ] as const) {
      expect(await itemsOf(text)).toEqual(expected)
      for (let cut = 1; cut < text.length; cut++) expect(await itemsOf(text.subarray(0, cut), text.subarray(cut)), `cut at ${cut}`).toEqual(expected)
    }
    // A valid element with a nested object at its own column is not cut.
    const oddButValid = Buffer.from('[\n{"a":\n{"b":1}},\n{"c":2}\n]')
    expect((await itemsOf(oddButValid)).map((item) => item.kind === 'value' && item.value)).toEqual([{ a: { b: 1 } }, { c: 2 }])
    // Python's json.dumps(users, indent=0) puts every nested object at column 0. Large valid users
    // are read whole, and one bad for another reason (a doubled comma) is that element alone.
    const users = [0, 1, 2].map((i) => ({ user_id: `auth0|${i}`, identities: Array.from({ length: 400 }, (_, j) => ({ provider: 'auth0', user_id: `${i}-${j}`, pad: 'p'.repeat(300) })) }))
    const indent0 = (value: unknown) => JSON.stringify(value, null, 1).replace(/\n +/g, '\n')
    const big = Buffer.from(indent0(users))
    const bigChunks = Array.from({ length: Math.ceil(big.length / 65536) }, (_, i) => big.subarray(i * 65536, (i + 1) * 65536))
    expect((await itemsOf(...bigChunks)).map((item) => item.kind === 'value' && item.value)).toEqual(users)
    const small = users.map((user) => ({ ...user, identities: user.identities.slice(0, 2) }))
    const doubled = Buffer.from(indent0(small).replace('"user_id": "auth0|1",', '"user_id": "auth0|1",,'))
    expect((await itemsOf(doubled)).map((item) => [item.kind, item.line])).toEqual([['value', 1], ['error', 2], ['value', 3]])
    // A user cut short there (its closing line gone) is cut at the next user's line, not at its own
    // identities, which would read as users and end the array early: every other user is read.
    const four = [0, 1, 2, 3].map((i) => ({ user_id: `auth0|${i}`, identities: [{ provider: 'auth0', user_id: `${i}` }, { provider: 'google', user_id: `g${i}` }] }))
    const lines = indent0(four).split('\n')
    // User 1 ends `],` after its identities, its `}` line gone.
    const cutAt = lines.findIndex((line, n) => line === '},' && lines[n - 1] === ']' && n > lines.indexOf('"user_id": "auth0|1",'))
    const cutShort = Buffer.from(lines.flatMap((line, n) => (n === cutAt ? [] : n === cutAt - 1 ? ['],'] : [line])).join('\n'))
    for (const chunks of [[cutShort], [cutShort.subarray(0, 100), cutShort.subarray(100)]]) {
      const read = await itemsOf(...chunks)
      expect(read.map((item) => (item.kind === 'value' ? item.value['user_id'] : item.kind))).toEqual(['auth0|0', 'error', 'auth0|2', 'auth0|3'])
    }
    // One element left open and a later one closed twice: the users between them are read.
    const twice = Buffer.from('[\n{"user_id":"auth0|a","app_metadata":{"roles":["x"]},\n{"user_id":"auth0|b"},\n{"user_id":"auth0|c"}},\n{"user_id":"auth0|d"}\n]\n')
    expect((await itemsOf(twice)).map((item) => (item.kind === 'value' ? item.value['user_id'] : item.kind))).toEqual(['error', 'auth0|b', 'auth0|c', 'error', 'auth0|d'])
    // Thousands of elements swallowed, more than a megabyte, in 64 KiB reads: all read after the bad one.
    const many = Buffer.from(`[\n{"user_id":"auth0|bad","x":[1,\n${Array.from({ length: 20_000 }, (_, i) => JSON.stringify({ user_id: `auth0|m${i}`, pad: 'p'.repeat(60) })).join(',\n')}\n]\n`)
    const chunks = Array.from({ length: Math.ceil(many.length / 65536) }, (_, i) => many.subarray(i * 65536, (i + 1) * 65536))
    const items = await itemsOf(...chunks)
    expect(items[0]).toMatchObject({ kind: 'error', line: 1, startLine: 2, detail: unclosed })
    expect(items.slice(1).map((item) => item.kind === 'value' && item.value['user_id'])).toEqual(Array.from({ length: 20_000 }, (_, i) => `auth0|m${i}`))
    expect(items.at(-1)).toMatchObject({ line: 20_001, startLine: 20_002 })
    // One element left open and a later one with a quote not escaped: the open element is cut at
    // the first line that starts an element, and the users between the two are read, not taken
    // into one broken element with them.
    const both = Buffer.from(`${JSON.stringify(Array.from({ length: 12 }, (_, i) => ({ user_id: `auth0|q${i}`, email: `q${i}@example.com` })), null, 2)}\n`
      .replace('"email": "q3@example.com"\n  },', '"email": "q3@example.com",')
      .replace('"q8@example.com"', '"q8"@example.com"'))
    const expectedBoth = ['error', 'auth0|q4', 'auth0|q5', 'auth0|q6', 'auth0|q7', 'error', 'auth0|q9', 'auth0|q10', 'auth0|q11']
    const openLine = both.toString().split('\n').indexOf('    "user_id": "auth0|q3",')
    const quoteLine = both.toString().split('\n').indexOf('    "user_id": "auth0|q8",')
    for (let cut = 0; cut < both.length; cut += 7) {
      const read = await itemsOf(...(cut === 0 ? [both] : [both.subarray(0, cut), both.subarray(cut)]))
      expect(read.map((item) => (item.kind === 'value' ? item.value['user_id'] : item.kind)), `cut at ${cut}`).toEqual(['auth0|q0', 'auth0|q1', 'auth0|q2', ...expectedBoth])
      expect(read.filter((item) => item.kind === 'error').map((item) => [item.line, item.startLine, item.kind === 'error' && item.detail]), `cut at ${cut}`).toEqual([[4, openLine, unclosed], [9, quoteLine, 'element is not valid JSON (a string in it runs past the end of its line: a quote not escaped?)']])
    }
    // Two elements left open before the break, and an invalid element right after it: each is one
    // error item of its own, numbered as it stands, and every user between them is read.
    const users12 = `${JSON.stringify(Array.from({ length: 12 }, (_, i) => ({ user_id: `auth0|q${i}`, email: `q${i}@example.com` })), null, 2)}\n`
    const open = (text: string, n: number) => text.replace(`"email": "q${n}@example.com"\n  },`, `"email": "q${n}@example.com",`)
    const quoted = (text: string, n: number) => text.replace(`"q${n}@example.com"`, `"q${n}"@example.com"`)
    for (const [text, expected] of [
      [quoted(open(open(users12, 2), 5), 8), ['auth0|q0', 'auth0|q1', 'error', 'auth0|q3', 'auth0|q4', 'error', 'auth0|q6', 'auth0|q7', 'error', 'auth0|q9', 'auth0|q10', 'auth0|q11']],
      [open(quoted(open(users12, 3), 8), 9), ['auth0|q0', 'auth0|q1', 'auth0|q2', 'error', 'auth0|q4', 'auth0|q5', 'auth0|q6', 'auth0|q7', 'error', 'error', 'auth0|q10', 'auth0|q11']],
      [quoted(quoted(open(users12, 3), 8), 9), ['auth0|q0', 'auth0|q1', 'auth0|q2', 'error', 'auth0|q4', 'auth0|q5', 'auth0|q6', 'auth0|q7', 'error', 'error', 'auth0|q10', 'auth0|q11']],
    ] as const) {
      const buffer = Buffer.from(text)
      for (const chunks of [[buffer], [buffer.subarray(0, 300), buffer.subarray(300)]]) {
        const read = await itemsOf(...chunks)
        expect(read.map((item) => (item.kind === 'value' ? item.value['user_id'] : item.kind))).toEqual(expected)
        expect(read.map((item) => item.line)).toEqual(expected.map((_, i) => i + 1))
      }
    }
    // The same with the bad quote in the last element, which no line ends before the end of the file.
    const last = Buffer.from(both.toString().replace(/"q11@example\.com"\n  }\n]\n$/, '"q11"@example.com"}]\n'))
    const lastRead = await itemsOf(last)
    expect(lastRead.map((item) => (item.kind === 'value' ? item.value['user_id'] : item.kind))).toEqual(['auth0|q0', 'auth0|q1', 'auth0|q2', 'error', 'auth0|q4', 'auth0|q5', 'auth0|q6', 'auth0|q7', 'error', 'auth0|q9', 'auth0|q10', 'error'])
  })

  it('counts CR, LF and CRLF line ends alike for the line an element starts on', async () => {
    for (const end of ['\n', '\r\n', '\r']) {
      const text = Buffer.from(['[', '{"a":1},', '{"b":2}', ']'].join(end))
      const expected = [[1, 2], [2, 3]]
      expect((await itemsOf(text)).map((item) => [item.line, item.startLine]), JSON.stringify(end)).toEqual(expected)
      for (let cut = 1; cut < text.length; cut++) expect((await itemsOf(text.subarray(0, cut), text.subarray(cut))).map((item) => [item.line, item.startLine]), `${JSON.stringify(end)} cut at ${cut}`).toEqual(expected)
    }
  })

  it('drops an element longer than any profile as line_too_long without holding it, and reads the elements after it', async () => {
    // Past 32 MiB, in 1 MiB reads; the padding puts a '}' of the element at the start of many reads.
    const huge = `{"a":[${'{"k":1},'.repeat(5_000_000)}{"k":1}]}`
    const text = Buffer.from(`[   ${huge},\n{"user_id":"auth0|after"}]`)
    const chunks = Array.from({ length: Math.ceil(text.length / (1 << 20)) }, (_, i) => text.subarray(i << 20, (i + 1) << 20))
    expect(chunks.filter((chunk) => chunk[0] === 0x7d).length).toBeGreaterThan(10)
    const items = await itemsOf(...chunks)
    expect(items.map((item) => [item.kind, item.line, item.kind === 'error' ? item.code : item.value])).toEqual([
      ['error', 1, 'line_too_long'],
      ['value', 2, { user_id: 'auth0|after' }],
    ])
  })

  it('finds the same elements wherever the read chunks break the text', async () => {
    const value = [{ a: 'x"]}[{,\\' }, { b: [1, [2, { c: '}' }]], d: null }, { e: 'é😀' }, { f: '\n\t' }]
    const text = Buffer.from(`\uFEFF [\n${value.map((v) => JSON.stringify(v, null, 1)).join(' ,\r\n')}\n] \n`)
    // Each element's first line: the line feeds before it in the text, plus one (CRLF is one line end).
    const whole = text.toString()
    const startLines = value.map((v) => whole.slice(0, whole.indexOf(JSON.stringify(v, null, 1))).split('\n').length)
    expect(startLines).toEqual([2, 5, 17, 20])
    for (let cut = 1; cut < text.length; cut++) {
      expect(await itemsOf(text.subarray(0, cut), text.subarray(cut)), `cut at ${cut}`).toEqual(value.map((v, i) => ({ kind: 'value', line: i + 1, startLine: startLines[i], value: v })))
    }
  })
})

describe('a file of users wrapped in an object', () => {
  const page = { start: 0, limit: 50, length: 2, total: 2, users: [{ user_id: 'auth0|30', email: 'u30@example.com' }, { user_id: 'auth0|31', email: 'u31@example.com' }] }

  it('is one dead letter that says how to give the users themselves, minified or indented', async () => {
    const dir = await tempDir()
    await writeText(dir, 'minified.json', `${JSON.stringify(page)}\n`)
    await writeText(dir, 'indented.json', JSON.stringify(page, null, 2))
    for (const [file, code] of [['minified.json', 'not_a_user'], ['indented.json', 'malformed_json']] as const) {
      const { records } = await collect(source({ files: file }, dir))
      expect(records, file).toHaveLength(1)
      expect(records[0], file).toMatchObject({ kind: 'unreadable', code, message: expect.stringContaining("jq -c '.users[]' FILE > users.ndjson") })
    }
    // An NDJSON export whose first line is broken is still read line by line.
    await writeText(dir, 'broken-first.json', `{"user_id":"auth0|1",\n${JSON.stringify({ user_id: 'auth0|2' })}\n`)
    expect((await collect(source({ files: 'broken-first.json' }, dir))).records.map((record) => record.kind)).toEqual(['unreadable', 'data'])
  })
})
