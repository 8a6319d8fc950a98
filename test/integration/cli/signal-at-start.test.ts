import { EventEmitter } from 'node:events'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runImport } from '../../../src/cli/run-import.ts'
import { ExitCodes } from '../../../src/runtime/exit-codes.ts'
import { startTestEmulator, type TestEmulator } from '../../support/emulator-harness.ts'
import { writeTestConfig } from '../../support/write-config.ts'

let dir: string
let target: TestEmulator
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gb-signal-'))
  target = await startTestEmulator(dir)
})
afterAll(async () => {
  await target?.emulator.close()
  await rm(dir, { recursive: true, force: true })
})

describe('a signal while the run is still starting', () => {
  it('is a resumable stop (exit 75), not a failure, when it aborts building the password-hash index', async () => {
    const users = Array.from({ length: 2000 }, (_, i) => JSON.stringify({ user_id: `auth0|${i}`, email: `u${i}@example.com`, identities: [{ provider: 'auth0', user_id: String(i), connection: 'db' }] }))
    const hashes = Array.from({ length: 200_000 }, (_, i) => JSON.stringify({ _id: { $oid: String(i) }, email: `u${i}@example.com`, passwordHash: `$2b$10$${'x'.repeat(53)}`, connection: 'db' }))
    await writeFile(join(dir, 'users.ndjson'), `${users.join('\n')}\n`)
    await writeFile(join(dir, 'hashes.ndjson'), `${hashes.join('\n')}\n`)
    const config = await writeTestConfig(dir, target, { source: { type: 'auth0', files: 'users.ndjson', password_hashes: { files: 'hashes.ndjson' } } })
    const signals = new EventEmitter()
    const stderr = new PassThrough()
    let errors = ''
    stderr.on('data', (chunk: Buffer) => (errors += chunk.toString()))
    // The first moment a handler listens: before the source has read anything.
    const send = setInterval(() => {
      if (signals.listenerCount('SIGTERM') > 0) {
        clearInterval(send)
        signals.emit('SIGTERM', 'SIGTERM')
      }
    }, 0)
    const code = await runImport({ config, mode: 'backfill' }, { stdout: new PassThrough(), stderr, signals })
    clearInterval(send)
    expect(code).toBe(ExitCodes.resumable)
    expect(errors).not.toContain('This operation was aborted')
    // Stopped before anything was read: no checkpoint, and it says so.
    expect(errors).toContain('Stopped before the end of the source; nothing was checkpointed, as no record reached Authgear')
  })
})
