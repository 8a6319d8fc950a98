import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { loginsForgetCommand, loginsShowCommand } from '../../../src/cli/logins.ts'
import { UsageError } from '../../../src/cli/usage-error.ts'
import { scratchDir } from '../../support/scratch-dir.ts'

function captured(): { io: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream }; out: string[]; err: string[] } {
  const out: string[] = []
  const err: string[] = []
  const stream = (into: string[]) => ({ write: (text: string) => into.push(text) }) as unknown as NodeJS.WritableStream
  return { io: { stdout: stream(out), stderr: stream(err) }, out, err }
}

describe('gearbridge logins', () => {
  it('is refused for a source that keeps no ledger, and says when no run has written one yet', async () => {
    const dir = await scratchDir('gb-logins-')
    const auth0 = join(dir, 'auth0.yaml')
    await writeFile(auth0, 'name: a\nsource:\n  type: auth0\n  files: users.ndjson\nsink:\n  endpoint: embedded\n  project_id: p\n  key_id: k\n  private_key_file: k.pem\n')
    await expect(loginsShowCommand({ config: auth0, keys: ['1'] }, captured().io as never)).rejects.toThrow(UsageError)
    const sql = join(dir, 'sql.yaml')
    await writeFile(sql, 'name: s\nsource:\n  type: sql\n  dialect: postgres\n  url: postgres://u@localhost/db\n  table: users\n  key: id\n  columns:\n    email: email\nsink:\n  endpoint: embedded\n  project_id: p\n  key_id: k\n  private_key_file: k.pem\nstate:\n  dir: state\n')
    const run = captured()
    expect(await loginsForgetCommand({ config: sql, keys: ['1'] }, run.io as never)).toBe(1)
    expect(run.err.join('')).toContain(`no login ledger at ${join(dir, 'state', 's.logins.sqlite')}`)
  })
})
