import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { scratchTarget } from '../../support/emulator-harness.ts'
import { runCli } from '../../support/run-cli.ts'
import { readNdjson, writeTestConfig } from '../../support/write-config.ts'

const bcrypt = (n: number) => `$2b$10$${String(n).padStart(53, 'a')}`
const db = (id: string, email: string) => ({ user_id: `auth0|${id}`, email, identities: [{ connection: 'Username-Password-Authentication', provider: 'auth0', user_id: id, isSocial: false }] })

describe('users the password-hash join gives no password', () => {
  for (const workers of [0, 2]) {
    it(`are named on their report lines and in validate, not only counted (mapping.workers: ${workers})`, async () => {
      const { dir, target } = await scratchTarget('gb-join-')
      const users = [db('000000000000000000000001', 'has@example.com'), db('000000000000000000000002', 'missing@example.com'), db('000000000000000000000003', 'twice@example.com'), { user_id: 'google-oauth2|1', email: 'social@example.com', identities: [{ connection: 'google-oauth2', provider: 'google-oauth2', user_id: '1', isSocial: true }] }]
      const hashes = [
        { _id: { $oid: '000000000000000000000001' }, email: 'has@example.com', passwordHash: bcrypt(1), connection: 'Username-Password-Authentication' },
        // The same id in two connections, and the profile's connection matches neither line's: nothing tells them apart.
        { _id: { $oid: '000000000000000000000003' }, email: 'twice@example.com', passwordHash: bcrypt(3), connection: 'db-a' },
        { _id: { $oid: '000000000000000000000003' }, email: 'twice@example.com', passwordHash: bcrypt(4), connection: 'db-b' },
      ]
      await writeFile(join(dir, 'users.ndjson'), users.map((u) => JSON.stringify(u)).join('\n') + '\n')
      await writeFile(join(dir, 'hashes.ndjson'), hashes.map((h) => JSON.stringify(h)).join('\n') + '\n')
      const config = await writeTestConfig(dir, target, { source: { type: 'auth0', files: join(dir, 'users.ndjson'), password_hashes: { files: join(dir, 'hashes.ndjson') } }, mapping: { workers } })
      const validate = await runCli(['validate', '--config', config])
      expect(validate.stdout).toMatch(/1 {2}no password: the password-hash export has no line for this database user.*\(e\.g\. users\.ndjson:2\)/)
      const run = await runCli(['backfill', '--config', config])
      expect(run.code, run.stderr).toBe(0)
      const report = await readNdjson(join(dir, 'state', 'test.report.ndjson'))
      const warningsOf = (email: string) => report.find((line) => line['login'] === email)?.['warnings'] as string[] | undefined
      expect(warningsOf('has@example.com')).toBeUndefined()
      expect(warningsOf('missing@example.com')).toEqual([expect.stringMatching(/^no password: the password-hash export has no line for this database user/)])
      expect(warningsOf('social@example.com')).toBeUndefined()
      expect(warningsOf('twice@example.com')).toEqual([expect.stringMatching(/^no password: several lines of the password-hash export match this database user/)])
    })
  }
})
