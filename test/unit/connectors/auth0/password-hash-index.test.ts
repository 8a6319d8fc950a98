import { describe, expect, it } from 'vitest'
import { OpenFiles } from '../../../../connectors/auth0/open-input.ts'
import { PasswordHashIndex } from '../../../../connectors/auth0/password-hash-index.ts'
import { PasswordHashJoin } from '../../../../connectors/auth0/password-hash-join.ts'
import { ndjson, tempDir, writeGzip, writeText } from './helpers.ts'

const DB = 'Username-Password-Authentication'
const bcrypt = (n: number) => `$2b$10$${String(n).padStart(53, 'a')}`
const oid = (n: number) => n.toString(16).padStart(24, '0')

function hashLine(n: number, fields: Record<string, unknown> = {}, connection = DB): Record<string, unknown> {
  return { _id: { $oid: oid(n) }, email: `user${n}@example.com`, email_verified: true, passwordHash: bcrypt(n), connection, ...fields }
}

function profile(id: string, email: string, connection = DB): Record<string, unknown> {
  return { user_id: `auth0|${id}`, email, identities: [{ provider: 'auth0', user_id: id, connection, isSocial: false }] }
}

/**
 * A hash export whose tricky lines sit at both ends, so an index built in two halves has them in
 * different halves: an email on two lines, an id in two connections, alt_id and `_ID` spellings,
 * an unreadable line.
 */
function hashExport(): string {
  const lines: unknown[] = [
    hashLine(1, { email: 'Shared@Example.com' }),
    hashLine(2, {}, 'Other-DB'),
    hashLine(3, { alt_id: 'legacy-3' }),
    { _ID: { $oid: oid(4) }, email: 'user4@example.com', passwordHash: bcrypt(4), connection: DB },
    'a JSON string, not an object',
  ]
  for (let n = 10; n < 2010; n++) lines.push(hashLine(n))
  lines.push(hashLine(5, { email: 'shared@example.com' }))
  lines.push({ ...hashLine(2), passwordHash: bcrypt(22) })
  lines.push(hashLine(6, { email: 'only-at-the-end@example.com' }))
  return ndjson(...lines) + 'not json at all\n'
}

const profiles = (): Record<string, unknown>[] => [
  profile('x-unknown', 'shared@example.com'),
  profile(oid(2), 'user2@example.com'),
  profile(oid(2), 'user2@example.com', 'Other-DB'),
  { user_id: `auth0|${oid(2)}`, email: 'nobody@example.com', identities: [] },
  profile('legacy-3', 'someone@example.com'),
  profile(oid(4), 'user4@example.com'),
  profile('y-unknown', 'ONLY-AT-THE-END@example.com'),
  profile(oid(10), 'user10@example.com'),
  profile(oid(2009), 'user2009@example.com'),
  profile('z-unknown', 'user1500@example.com'),
]

async function joinAll(index: PasswordHashIndex): Promise<{ hashes: unknown[]; counts: Record<string, number> }> {
  const join = new PasswordHashJoin(index, await index.openReader(new OpenFiles()), 'auto')
  const hashes = profiles().map((p) => join.apply(p)['password_hash'])
  await join.close()
  return { hashes, counts: { ...join.counts } }
}

describe('PasswordHashIndex built in two halves', () => {
  it('joins every profile exactly as the index built in one pass does', async () => {
    const dir = await tempDir()
    const path = await writeText(dir, 'hashes.ndjson', hashExport())
    const whole = await PasswordHashIndex.build([path], new OpenFiles())
    const halves = await PasswordHashIndex.build([path], new OpenFiles(), undefined, { splitMinBytes: 0 })
    expect(whole.ids.parts).toHaveLength(1)
    expect(halves.ids.parts).toHaveLength(2)
    // The unreadable lines are named by their numbers in the file, from either half.
    const at = [{ path, line: 5 }, { path, line: 2009 }]
    expect(whole.stats).toMatchObject({ unreadable: 2, unreadableAt: at })
    expect(halves.stats).toMatchObject({ lines: whole.stats.lines, unreadable: 2, unreadableAt: at })
    // Several files (one gzipped) indexed as one copy: each line named in its own file.
    const second = await writeGzip(dir, 'more.ndjson.gz', 'not an object\n{"_id":{"$oid":"1"}}\n"nor this"\n')
    const both = await PasswordHashIndex.build([path, second], new OpenFiles())
    expect(both.stats.unreadableAt).toEqual([...at, { path: second, line: 1 }, { path: second, line: 3 }])
    await both.dispose()
    const one = await joinAll(whole)
    const two = await joinAll(halves)
    expect(two).toEqual(one)
    expect(one.hashes).toEqual([
      undefined, // the email is on two lines (one in each half): ambiguous
      bcrypt(22), // the id is on two lines (one per half, two connections): the profile's connection picks one
      bcrypt(2), // ... and the other
      undefined, // two lines for the id and no connection to choose: none
      bcrypt(3), // alt_id
      bcrypt(4), // _ID spelling
      bcrypt(6), // email, unique, found in the second half
      bcrypt(10),
      bcrypt(2009),
      bcrypt(1500), // email fallback in the middle of the file
    ])
    expect(one.counts).toMatchObject({ ambiguous: 2 })
  })

  it('indexes the second half on the calling thread when the helper thread fails', async () => {
    const dir = await tempDir()
    const path = await writeText(dir, 'hashes.ndjson', hashExport())
    const whole = await PasswordHashIndex.build([path], new OpenFiles())
    let asked = 0
    const failing = async (): Promise<never> => {
      asked++
      throw new Error('helper thread ran out of memory')
    }
    const fallback = await PasswordHashIndex.build([path], new OpenFiles(), undefined, { splitMinBytes: 0, onThread: failing })
    expect(asked).toBe(1)
    expect(fallback.ids.parts).toHaveLength(2)
    expect(await joinAll(fallback)).toEqual(await joinAll(whole))
  })
})
