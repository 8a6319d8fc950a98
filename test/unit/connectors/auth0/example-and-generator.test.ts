import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { generateAuth0Export } from '../../../../bench/generate-auth0-export.ts'
import { OffsetTable } from '../../../../connectors/auth0/offset-table.ts'
import { collect, dataOf, source, tempDir } from './helpers.ts'

const examples = fileURLToPath(new URL('../../../../examples/auth0/', import.meta.url))
const bcryptSyntax = /^\$2b\$10\$[./A-Za-z0-9]{53}$/

describe('bundled example export', () => {
  it('reads every line, reports the malformed one and joins each hash to one user', async () => {
    const src = source({ files: 'users.ndjson', password_hashes: { files: 'password-hashes.ndjson' } }, examples)
    const { records } = await collect(src)
    const lines = (await readFile(`${examples}users.ndjson`, 'utf8')).trim().split('\n')
    expect(records).toHaveLength(lines.length)
    expect(records.filter((record) => record.kind === 'unreadable').map((record) => record.kind === 'unreadable' && record.code)).toEqual(['malformed_json'])
    const profiles = dataOf(records)
    const withHash = profiles.filter((profile) => profile['password_hash'] !== undefined)
    const hashLines = (await readFile(`${examples}password-hashes.ndjson`, 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>)
    for (const hash of hashLines) expect(hash['passwordHash']).toMatch(bcryptSyntax)
    // Every hash except the one for a user outside this export lands on exactly one profile.
    expect(withHash).toHaveLength(hashLines.filter((line) => line['connection'] === 'Username-Password-Authentication').length)
    expect(new Set(withHash.map((profile) => profile['password_hash'])).size).toBe(withHash.length)
    expect(withHash.every((profile) => String(profile['user_id']).startsWith('auth0|') || Array.isArray(profile['identities']))).toBe(true)
    expect(profiles.filter((profile) => String(profile['user_id']).startsWith('google-oauth2|') && profile['password_hash'] !== undefined).map((p) => p['email'])).toEqual(['carmen.diaz@example.com'])
    expect(profiles.some((profile) => profile['locale'] === 'en_US')).toBe(true)
    expect(profiles.some((profile) => String(profile['user_id']).startsWith('sms|') && profile['email'] === undefined)).toBe(true)
    expect(profiles.some((profile) => profile['blocked'] === true)).toBe(true)
  })
})

describe('dataset generator', () => {
  it('is deterministic for a seed and every hash line joins', async () => {
    const one = await tempDir()
    const two = await tempDir()
    const first = await generateAuth0Export({ users: 400, outDir: one, seed: 7, malformedEvery: 50 })
    await generateAuth0Export({ users: 400, outDir: two, seed: 7, malformedEvery: 50 })
    expect(await readFile(first.usersFile)).toEqual(await readFile(`${two}/users.ndjson`))
    expect(first.malformed).toBe(8)
    const { records } = await collect(source({ files: 'users.ndjson', password_hashes: { files: 'password-hashes.ndjson' } }, one))
    expect(records.filter((record) => record.kind === 'unreadable')).toHaveLength(8)
    const profiles = dataOf(records)
    expect(profiles).toHaveLength(392)
    const hashes = profiles.filter((profile) => profile['password_hash'] !== undefined)
    expect(hashes.every((profile) => bcryptSyntax.test(String(profile['password_hash'])))).toBe(true)
    expect(hashes.length).toBeGreaterThan(250)
    expect(profiles.some((profile) => profile['user_id'] !== undefined && String(profile['user_id']).startsWith('google-oauth2|') && profile['password_hash'] === undefined)).toBe(true)
  })

  it('writes gzip and pads the hash export to a line count', async () => {
    const dir = await tempDir()
    const result = await generateAuth0Export({ users: 100, outDir: dir, gzip: true, gzipHashes: true, hashLines: 150 })
    expect(result.hashes).toBe(150)
    const { records } = await collect(source({ files: 'users.ndjson.gz', password_hashes: { files: 'password-hashes.ndjson.gz' } }, dir))
    expect(dataOf(records)).toHaveLength(100)
  })
})

describe('offset table', () => {
  it('grows past its expected size and keeps every offset', () => {
    const table = new OffsetTable({ expectedKeys: 4, maxOffset: 1000, unique: false })
    for (let i = 0; i < 100; i++) table.add(`id-${i}`, i * 10)
    table.add('id-5', 999)
    for (let i = 0; i < 100; i++) expect(table.lookup(`id-${i}`)).toContain(i * 10)
    expect(table.lookup('id-5').sort()).toEqual([50, 999])
    expect(table.lookup('missing')).toEqual([])
  })

  it('marks a unique key seen twice as ambiguous, only when the caller confirms the same key', () => {
    const table = new OffsetTable({ expectedKeys: 10, maxOffset: 1000, unique: true })
    table.add('a@example.com', 0)
    table.addUnique('b@example.com', 10, () => false)
    table.addUnique('a@example.com', 20, (existing) => existing === 0)
    expect(table.lookup('a@example.com')).toEqual([-1])
    expect(table.lookup('b@example.com')).toEqual([10])
  })
})
