import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { generateAuth0Export } from '../../../bench/generate-auth0-export.ts'
import { startTestEmulator, type TestEmulator } from '../../support/emulator-harness.ts'
import { expectedIdentities, storedIdentities } from '../../support/expected-identities.ts'
import { runCli, startCli } from '../../support/run-cli.ts'
import { writeTestConfig } from '../../support/write-config.ts'

const mapping = { default_phone_region: 'US', custom_attributes: { plan: 'app_metadata.plan' } }
const project = { roles: ['admin', 'billing', 'member'], custom_attributes: [{ name: 'plan', type: 'string' as const }] }

let dir: string | undefined
let target: TestEmulator | undefined
afterEach(async () => {
  await target?.emulator.close()
  if (dir) await rm(dir, { recursive: true, force: true })
  target = dir = undefined
})

async function prepare(users: number, emulator: object) {
  dir = await mkdtemp(join(tmpdir(), 'gb-stop-'))
  await generateAuth0Export({ users, outDir: join(dir, 'data'), seed: 11 })
  const source = { type: 'auth0', files: 'data/users.ndjson', password_hashes: { files: 'data/password-hashes.ndjson' } }
  const expected = await expectedIdentities(source, mapping, dir)
  target = await startTestEmulator(dir, { ...project, ...emulator })
  return { source, expected }
}

const count = (stdout: string, label: string) => Number(new RegExp(`^\\s+${label}\\s+(\\d+)`, 'm').exec(stdout)?.[1] ?? 0)

function expectAllOnce(expected: Set<string>): void {
  const stored = storedIdentities(target!.emulator.store.list())
  expect(new Set(stored).size).toBe(stored.length)
  expect(new Set(stored)).toEqual(expected)
}

describe('stopping a backfill', () => {
  it('SIGTERM drains in-flight jobs, commits and exits 75; the rerun finishes the rest', async () => {
    const { source, expected } = await prepare(3000, { record_delay_ms: 1 })
    const config = await writeTestConfig(dir!, target!, { source, mapping, sink: { batch: { max_records: 200 }, max_in_flight: 2 } })
    const run = startCli(['backfill', '--config', config])
    let stderr = ''
    await new Promise<void>((resolve) => {
      run.child.stderr!.on('data', (chunk: string) => {
        stderr += chunk
        if (stderr.includes('run started')) resolve()
      })
    })
    await new Promise((resolve) => setTimeout(resolve, 700))
    run.child.kill('SIGTERM')
    const stopped = await run.done
    expect(stopped.code).toBe(75)
    expect(stopped.stderr).toContain('Stopping: no new records are read')
    expect(stopped.stderr).toContain('the checkpoint is saved')
    // Draining: every record read before the stop got its outcome, none is left pending.
    expect(count(stopped.stdout, 'read')).toBeGreaterThan(0)
    expect(count(stopped.stdout, 'read')).toBeLessThan(expected.read)
    expect(stopped.stdout).not.toMatch(/pending/)
    const checkpoint = JSON.parse(await readFile(join(dir!, 'state', 'test.checkpoint.json'), 'utf8')) as { complete: boolean; recordsCommitted: number }
    expect(checkpoint.complete).toBe(false)
    expect(checkpoint.recordsCommitted).toBe(count(stopped.stdout, 'read'))
    const rerun = await runCli(['backfill', '--config', config])
    expect([0, 3]).toContain(rerun.code)
    expectAllOnce(expected.identities)
  })

  it('a 429 UsageLimitExceeded stops cleanly with exit 75 naming the period; after the quota is raised the rerun completes', async () => {
    const { source, expected } = await prepare(1500, { quota: { user_import: [{ quota: 600, period: 'day' }] } })
    const config = await writeTestConfig(dir!, target!, { source, mapping, sink: { batch: { max_records: 200 }, max_in_flight: 1 } })
    const first = await runCli(['backfill', '--config', config])
    expect(first.code).toBe(75)
    expect(first.stderr).toMatch(/quota.*day/i)
    expect(first.stderr).toMatch(/00:00 UTC/)
    expect(first.stdout).toMatch(/pending\s+\d+/)
    expect(target!.emulator.store.count()).toBeGreaterThan(0)
    expect(target!.emulator.store.count()).toBeLessThan(expected.identities.size)
    target!.emulator.quota.setLimits('user_import', [{ quota: 1_000_000, period: 'day' }])
    const second = await runCli(['backfill', '--config', config])
    expect([0, 3]).toContain(second.code)
    expectAllOnce(expected.identities)
  })

  it('a refused JWT stops the run with exit 1 and a diagnosis naming the key id and project', async () => {
    const { source } = await prepare(50, {})
    const config = await writeTestConfig(dir!, target!, { source, mapping, sink: { key_id: 'rotated-away-key' } })
    const result = await runCli(['backfill', '--config', config])
    expect(result.code).toBe(1)
    expect(result.stderr).toContain('rotated-away-key')
    expect(result.stderr).toContain('myapp')
    expect(result.stderr).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}/)
    expect(target!.emulator.store.count()).toBe(0)
  })
})
