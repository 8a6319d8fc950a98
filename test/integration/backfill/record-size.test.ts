import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { startTestEmulator, type TestEmulator } from '../../support/emulator-harness.ts'
import { runCli } from '../../support/run-cli.ts'
import { scratchDir } from '../../support/scratch-dir.ts'
import { readNdjson, writeTestConfig } from '../../support/write-config.ts'

let target: TestEmulator | undefined
afterEach(async () => {
  await target?.emulator.close()
  target = undefined
})

describe('record size', () => {
  it('sends a record larger than sink.batch.max_bytes alone, and refuses only one no request under 500,000 bytes can carry', async () => {
    const dir = await scratchDir('gb-size-')
    const users = [
      { user_id: 'auth0|small', email: 'small@example.com' },
      // Over the default max_bytes (450,000), under Authgear's 500,000 with the request around it.
      { user_id: 'auth0|big', email: 'big@example.com', name: 'a'.repeat(460_000) },
      { user_id: 'auth0|huge', email: 'huge@example.com', name: 'a'.repeat(500_000) },
      // Too large for any request, and for a dead-letter line to hold.
      { user_id: 'auth0|vast', email: 'vast@example.com', name: 'a'.repeat(5_000_000) },
      { user_id: 'auth0|after', email: 'after@example.com' },
    ]
    await writeFile(join(dir, 'users.ndjson'), users.map((user) => JSON.stringify(user)).join('\n'))
    target = await startTestEmulator(dir)
    const config = await writeTestConfig(dir, target, { source: { type: 'auth0', files: 'users.ndjson' } })
    const validated = await runCli(['validate', '--config', config])
    expect(validated.stdout).toMatch(/record_too_large\s+2\b/)
    const run = await runCli(['backfill', '--config', config])
    expect(run.code, run.stderr.slice(-1500)).toBe(3)
    expect(run.stdout).toMatch(/rejected\s+2\b/)
    expect([...target.emulator.store.list()].map((user) => user.email?.value).sort()).toEqual(['after@example.com', 'big@example.com', 'small@example.com'])
    const dead = await readNdjson(join(dir, 'state', 'test.dead-letter.ndjson'))
    expect(dead.map((line) => [line['source_key'], line['code'], line['record_truncated'] ?? false])).toEqual([['auth0|huge', 'record_too_large', false], ['auth0|vast', 'record_too_large', true]])
    expect(dead[0]?.['message']).toMatch(/^users\.ndjson:3: the record serializes to 500\d{3} bytes; with the request's own \d+ bytes that is over the 499999-byte request limit$/)
    expect(dead[0]?.['record']).toMatchObject({ email: 'huge@example.com' })
    expect(dead[1]).not.toHaveProperty('record')
  })
})
