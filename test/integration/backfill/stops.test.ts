import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { scratchTarget } from '../../support/emulator-harness.ts'
import { backfillWorkspace, generatedMapping, type BackfillWorkspace } from '../../support/backfill-workspace.ts'
import { runCli, startCli } from '../../support/run-cli.ts'
import { readNdjson, writeTestConfig } from '../../support/write-config.ts'
import { ScriptedServer, text } from '../authgear-client/scripted-server.ts'

const mapping = generatedMapping

let ws: BackfillWorkspace | undefined
afterEach(async () => {
  await ws?.close()
  ws = undefined
})

const count = (stdout: string, label: string) => Number(new RegExp(`^\\s+${label}\\s+(\\d+)`, 'm').exec(stdout)?.[1] ?? 0)

describe('stopping a backfill', () => {
  it('SIGTERM drains in-flight jobs, commits and exits 75; the rerun finishes the rest', async () => {
    ws = await backfillWorkspace(3000, { emulator: { record_delay_ms: 1 }, export: { seed: 11 } })
    const { source, expected } = ws
    const config = await writeTestConfig(ws.dir, ws.target, { source, mapping, sink: { batch: { max_records: 200 }, max_in_flight: 2 } })
    const run = startCli(['backfill', '--config', config])
    await run.started()
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
    const checkpoint = JSON.parse(await readFile(join(ws.dir, 'state', 'test.checkpoint.json'), 'utf8')) as { complete: boolean; recordsCommitted: number }
    expect(checkpoint.complete).toBe(false)
    expect(checkpoint.recordsCommitted).toBe(count(stopped.stdout, 'read'))
    const rerun = await runCli(['backfill', '--config', config])
    expect([0, 3]).toContain(rerun.code)
    ws.expectExactlyOnce()
  })

  it('a second signal stops at once with exit 75, not as a failure; the rerun resends what was in flight', async () => {
    ws = await backfillWorkspace(3000, { emulator: { record_delay_ms: 5 }, export: { seed: 11 } })
    const { source } = ws
    const config = await writeTestConfig(ws.dir, ws.target, { source, mapping, sink: { batch: { max_records: 200 }, max_in_flight: 2 } })
    const run = startCli(['backfill', '--config', config])
    await run.started()
    await new Promise((resolve) => setTimeout(resolve, 700))
    run.child.kill('SIGINT')
    await new Promise((resolve) => setTimeout(resolve, 200))
    run.child.kill('SIGINT')
    const stopped = await run.done
    expect(stopped.code, stopped.stderr.slice(-1500)).toBe(75)
    expect(stopped.stderr).toContain('Stopped at once by a second signal')
    expect(stopped.stderr).not.toContain('The run stopped on an error')
    expect(stopped.stdout).toMatch(/gearbridge backfill: stopped/)
    const rerun = await runCli(['backfill', '--config', config])
    expect([0, 3]).toContain(rerun.code)
    ws.expectExactlyOnce()
  })

  it('a 429 UsageLimitExceeded stops cleanly with exit 75 naming the period; after the quota is raised the rerun completes', async () => {
    ws = await backfillWorkspace(1500, { emulator: { quota: { user_import: [{ quota: 600, period: 'day' }] } }, export: { seed: 11 } })
    const { source, expected } = ws
    const config = await writeTestConfig(ws.dir, ws.target, { source, mapping, sink: { batch: { max_records: 200 }, max_in_flight: 1 } })
    const metricsOut = join(ws.dir, 'backfill.prom')
    const first = await runCli(['backfill', '--config', config, '--metrics-out', metricsOut])
    expect(first.code).toBe(75)
    expect(first.stderr).toMatch(/quota.*day/i)
    // Log searches key on the code, as for every other stop.
    expect(first.stderr).toMatch(/"level":40.*"code":"GB_QUOTA"/)
    // What GearbridgeQuotaExhausted alerts on, in the file a textfile collector would pick up.
    const metrics = await readFile(metricsOut, 'utf8')
    expect(metrics).toContain('gearbridge_quota_exhausted{period="day"} 1')
    expect(metrics).toContain('gearbridge_quota_exhausted{period="month"} 0')
    expect(metrics).toContain('gearbridge_run_state{state="stopped"} 1')
    expect(first.stderr).toMatch(/00:00 UTC/)
    expect(first.stdout).toMatch(/pending\s+\d+/)
    expect(ws.target.emulator.store.count()).toBeGreaterThan(0)
    expect(ws.target.emulator.store.count()).toBeLessThan(expected.identities.size)
    ws.target.emulator.quota.setLimits('user_import', [{ quota: 1_000_000, period: 'day' }])
    const second = await runCli(['backfill', '--config', config])
    expect([0, 3]).toContain(second.code)
    ws.expectExactlyOnce()
  })

  it('a refused JWT stops the run with exit 1 and a diagnosis naming the key id and project', async () => {
    ws = await backfillWorkspace(50)
    const { source } = ws
    const config = await writeTestConfig(ws.dir, ws.target, { source, mapping, sink: { key_id: 'rotated-away-key' } })
    const result = await runCli(['backfill', '--config', config])
    expect(result.code).toBe(1)
    expect(result.stderr).toContain('rotated-away-key')
    expect(result.stderr).toContain('myapp')
    expect(result.stderr).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}/)
    expect(ws.target.emulator.store.count()).toBe(0)
  })

  it('a reply that says the endpoint is wrong (404 "app not found") stops the run with exit 1, dead-letters nothing, and the rerun imports everyone', async () => {
    ws = await backfillWorkspace(600, { export: { seed: 5 } })
    const { source } = ws
    const wrong = await ScriptedServer.start()
    try {
      wrong.script(text(404, 'app not found'))
      await writeTestConfig(ws.dir, ws.target, { source, mapping, sink: { endpoint: wrong.url, batch: { max_records: 100 } } })
      const failed = await runCli(['backfill', '--config', join(ws.dir, 'gearbridge.yaml')])
      expect(failed.code, failed.stderr.slice(-1500)).toBe(1)
      expect(failed.stderr).toContain('check sink.endpoint')
      const deadLetters = await readNdjson(join(ws.dir, 'state', 'test.dead-letter.ndjson'))
      expect(deadLetters.filter((line) => line['code'] === 'request_rejected')).toEqual([])
      // Nothing was imported, so nothing was committed: no checkpoint, or one not complete.
      const checkpoint = await readFile(join(ws.dir, 'state', 'test.checkpoint.json'), 'utf8').then((text) => JSON.parse(text) as { complete: boolean }, () => undefined)
      expect(checkpoint?.complete ?? false).toBe(false)
    } finally {
      await wrong.close()
    }
    const config = await writeTestConfig(ws.dir, ws.target, { source, mapping, sink: { batch: { max_records: 100 } } })
    const rerun = await runCli(['backfill', '--config', config])
    expect([0, 3]).toContain(rerun.code)
    ws.expectExactlyOnce()
  })

  it('a run against a mistyped project id saves no checkpoint, even when a repeated user was settled without being sent: the corrected config runs', async () => {
    ws = await backfillWorkspace(40)
    const { source } = ws
    // A user repeated at the end of the file: the second version supersedes the first in the same job.
    const usersFile = join(ws.dir, source['files'] as string)
    const text = await readFile(usersFile, 'utf8')
    await writeFile(usersFile, `${text}${text.slice(0, text.indexOf('\n') + 1)}`)
    await writeTestConfig(ws.dir, ws.target, { source, mapping, sink: { project_id: 'myap' } })
    const wrong = await runCli(['backfill', '--config', join(ws.dir, 'gearbridge.yaml')])
    expect(wrong.code, wrong.stderr.slice(-1500)).toBe(1)
    await expect(readFile(join(ws.dir, 'state', 'test.checkpoint.json'), 'utf8')).rejects.toMatchObject({ code: 'ENOENT' })
    // And says so, rather than that what had outcomes is checkpointed.
    expect(wrong.stderr).toContain('Nothing was checkpointed, as no record reached Authgear')
    const config = await writeTestConfig(ws.dir, ws.target, { source, mapping })
    const fixed = await runCli(['backfill', '--config', config])
    expect([0, 3], fixed.stderr.slice(-1500)).toContain(fixed.code)
    expect(count(fixed.stdout, 'superseded')).toBe(1)
    ws.expectExactlyOnce()
  })

  it('a --from-start run with a mistyped file path keeps the checkpoint: the corrected command finds the import complete', async () => {
    ws = await backfillWorkspace(40)
    const { source } = ws
    const config = await writeTestConfig(ws.dir, ws.target, { source, mapping })
    const first = await runCli(['backfill', '--config', config])
    expect([0, 3]).toContain(first.code)
    const typo = await writeTestConfig(ws.dir, ws.target, { source: { ...source, files: 'data/user.ndjson' }, mapping }, 'typo.yaml')
    const refused = await runCli(['backfill', '--config', typo, '--from-start'])
    expect(refused.code, refused.stderr.slice(-1500)).toBe(78)
    const again = await runCli(['backfill', '--config', config])
    expect(again.stdout).toContain('already complete')
    ws.expectExactlyOnce()
  })

  it('a --from-start run that stops is continued by the plain command, not taken for the complete run before it', async () => {
    ws = await backfillWorkspace(3000, { emulator: { record_delay_ms: 1 }, export: { seed: 11 } })
    const { source, expected } = ws
    const config = await writeTestConfig(ws.dir, ws.target, { source, mapping, sink: { batch: { max_records: 200 }, max_in_flight: 2, upsert: true } })
    const first = await runCli(['backfill', '--config', config])
    expect([0, 3]).toContain(first.code)
    const again = startCli(['backfill', '--config', config, '--from-start'])
    await again.started()
    await new Promise((resolve) => setTimeout(resolve, 150))
    again.child.kill('SIGTERM')
    const stopped = await again.done
    expect(stopped.code, stopped.stderr.slice(-1500)).toBe(75)
    expect(stopped.stderr).toContain('Run it again without --from-start to continue.')
    const rest = await runCli(['backfill', '--config', config])
    expect([0, 3]).toContain(rest.code)
    expect(rest.stdout).not.toContain('already complete')
    // The first run and the --from-start pass together read the source once more in full.
    expect(count(stopped.stdout, 'read') + count(rest.stdout, 'read')).toBe(expected.read)
    ws.expectExactlyOnce()
  })

  it('a run resumed after a quota stop, and a rerun once complete, exit 3 for records an earlier run dead-lettered', async () => {
    const { dir, target } = await scratchTarget('gb-earlier-', { quota: { user_import: [{ quota: 10, period: 'day' }] } })
    const invalid = ['not-an-email', 'also not', '@example.com'].map((email, i) => JSON.stringify({ user_id: `auth0|bad${i}`, email }))
    const valid = Array.from({ length: 20 }, (_, i) => JSON.stringify({ user_id: `auth0|ok${i}`, email: `user${i}@example.com` }))
    await writeFile(join(dir, 'users.ndjson'), [...invalid, ...valid].join('\n') + '\n')
    const config = await writeTestConfig(dir, target, { source: { type: 'auth0', files: 'users.ndjson', batch_records: 1 }, sink: { batch: { max_records: 5 }, max_in_flight: 1 } })
    const first = await runCli(['backfill', '--config', config])
    expect(first.code, first.stderr.slice(-1500)).toBe(75)
    expect(count(first.stdout, 'rejected')).toBe(3)
    target.emulator.quota.setLimits('user_import', [{ quota: 1_000, period: 'day' }])
    const resumed = await runCli(['backfill', '--config', config])
    expect(count(resumed.stdout, 'rejected')).toBe(0)
    expect(count(resumed.stdout, 'dead-lettered by earlier runs')).toBe(3)
    expect(resumed.code).toBe(3)
    expect(target.emulator.store.count()).toBe(20)
    const again = await runCli(['backfill', '--config', config])
    expect(again.stdout).toContain('already complete')
    expect(count(again.stdout, 'dead-lettered by earlier runs')).toBe(3)
    expect(again.stdout).toContain(join(dir, 'state', 'test.dead-letter.ndjson'))
    expect(again.code).toBe(3)
  })

  it.each([0, 2])('a batch larger than what is left of the quota is halved until the rest is used, then the run stops (mapping.workers: %i)', async (workers) => {
    const { dir, target } = await scratchTarget('gb-quota-rest-', { quota: { user_import: [{ quota: 250, period: 'day' }] } })
    const users = Array.from({ length: 300 }, (_, i) => JSON.stringify({ user_id: `auth0|u${i}`, email: `user${i}@example.com` }))
    await writeFile(join(dir, 'users.ndjson'), users.join('\n') + '\n')
    const config = await writeTestConfig(dir, target, { source: { type: 'auth0', files: 'users.ndjson' }, mapping: { workers }, sink: { batch: { max_records: 300, linger_ms: 200 }, max_in_flight: 1 } })
    const first = await runCli(['backfill', '--config', config])
    expect(first.code, first.stderr.slice(-1500)).toBe(75)
    // One request of 300 would have been refused whole, importing nobody on a day that had room for 250.
    expect(target.emulator.store.count()).toBe(250)
    expect(target.emulator.quota.used('user_import', 'day')).toBe(250)
    expect(count(first.stdout, 'inserted')).toBe(250)
    target.emulator.quota.setLimits('user_import', [{ quota: 1_000, period: 'day' }])
    const rest = await runCli(['backfill', '--config', config])
    expect(rest.code, rest.stderr.slice(-1500)).toBe(0)
    expect(target.emulator.store.count()).toBe(300)
    // The 250 imported were all read in one source batch, which the stop could not commit: the
    // checkpoint names them, so the rerun spends quota on the other 50 only.
    expect(count(rest.stdout, 'settled by the stopped run')).toBe(250)
    expect(count(rest.stdout, 'inserted')).toBe(50)
    expect(count(rest.stdout, 'skipped')).toBe(0)
    expect(target.emulator.quota.used('user_import', 'day')).toBe(300)
    const report = await readNdjson(join(dir, 'state', 'test.report.ndjson'))
    expect(report).toHaveLength(300)
    expect(new Set(report.map((line) => line['source_key'])).size).toBe(300)
  })

  it('a run resumed after a second signal reads the records of the jobs it abandoned as resent: under upsert no password is said lost', async () => {
    const { dir, target } = await scratchTarget('gb-abandoned-', { workers: 2, record_delay_ms: 40 })
    const bcrypt = `$2b$10$${'a'.repeat(53)}`
    const users = Array.from({ length: 60 }, (_, i) => JSON.stringify({ user_id: `auth0|u${i}`, email: `user${i}@example.com`, password_hash: bcrypt }))
    await writeFile(join(dir, 'users.ndjson'), users.join('\n') + '\n')
    const config = await writeTestConfig(dir, target, { source: { type: 'auth0', files: 'users.ndjson', batch_records: 20 }, sink: { upsert: true, max_in_flight: 2, batch: { max_records: 20, linger_ms: 20 } } })
    const run = startCli(['backfill', '--config', config])
    await run.started()
    while (target.emulator.jobs.jobsCreated < 2) await new Promise((resolve) => setTimeout(resolve, 5))
    run.child.kill('SIGTERM')
    await new Promise((resolve) => setTimeout(resolve, 30))
    run.child.kill('SIGTERM')
    expect((await run.done).code).toBe(75)
    // The abandoned jobs go on in Authgear and import their users, passwords included.
    const jobs = target.emulator.jobs
    while (jobs.tasksCompleted + jobs.tasksCrashed < jobs.tasksQueued) await new Promise((resolve) => setTimeout(resolve, 20))
    const rerun = await runCli(['backfill', '--config', config])
    expect(rerun.code, rerun.stderr.slice(-1500)).toBe(0)
    expect(target.emulator.store.count()).toBe(60)
    for (let i = 0; i < 60; i++) expect(target.emulator.store.findByLoginId('email', `user${i}@example.com`)!.hasPassword).toBe(true)
    const report = await readNdjson(join(dir, 'state', 'test.report.ndjson'))
    expect(report.filter((line) => line['password_not_applied'])).toEqual([])
    expect(report.filter((line) => line['outcome'] === 'updated').every((line) => String(line['warnings']).includes('sent again'))).toBe(true)
  })

  it('a quota-bound import finishes in as many days as the quota needs: each stop remembers what the stops before it imported', async () => {
    const { dir, target } = await scratchTarget('gb-quota-days-', { quota: { user_import: [{ quota: 10, period: 'day' }] } })
    const users = Array.from({ length: 30 }, (_, i) => JSON.stringify({ user_id: `auth0|u${i}`, email: `user${i}@example.com` }))
    await writeFile(join(dir, 'users.ndjson'), users.join('\n') + '\n')
    // One source batch holds them all: no stop can commit past any of them.
    const config = await writeTestConfig(dir, target, { source: { type: 'auth0', files: 'users.ndjson' }, sink: { batch: { max_records: 10, linger_ms: 50 }, max_in_flight: 1 } })
    const codes: (number | null)[] = []
    for (let day = 1; day <= 3; day++) {
      // A new day's quota of 10, as the counter resets at midnight.
      target.emulator.quota.setLimits('user_import', [{ quota: 10 * day, period: 'day' }])
      codes.push((await runCli(['backfill', '--config', config])).code)
    }
    expect(codes).toEqual([75, 75, 0])
    expect(target.emulator.store.count()).toBe(30)
    expect(target.emulator.quota.used('user_import', 'day')).toBe(30)
    const report = await readNdjson(join(dir, 'state', 'test.report.ndjson'))
    expect(report).toHaveLength(30)
    expect(report.every((line) => line['outcome'] === 'inserted')).toBe(true)
  })

  it('a stop\'s list of records settled ahead is dropped when the export file was replaced since: the new file is read in full', async () => {
    const { dir, target } = await scratchTarget('gb-replaced-', { quota: { user_import: [{ quota: 10, period: 'day' }] } })
    const write = (prefix: string) => writeFile(join(dir, 'users.ndjson'), Array.from({ length: 30 }, (_, i) => JSON.stringify({ user_id: `auth0|${prefix}${i}`, email: `${prefix}${i}@example.com` })).join('\n') + '\n')
    await write('old')
    const config = await writeTestConfig(dir, target, { source: { type: 'auth0', files: 'users.ndjson' }, sink: { batch: { max_records: 10, linger_ms: 50 }, max_in_flight: 1 } })
    expect((await runCli(['backfill', '--config', config])).code).toBe(75)
    await write('new')
    target.emulator.quota.setLimits('user_import', [{ quota: 1_000, period: 'day' }])
    const rerun = await runCli(['backfill', '--config', config])
    expect(rerun.code, rerun.stderr.slice(-1500)).toBe(0)
    for (let i = 0; i < 30; i++) expect(target.emulator.store.findByLoginId('email', `new${i}@example.com`), `new${i}`).toBeDefined()
    expect(rerun.stderr).toContain('The export files changed since the stop')
  })

  it('a resume refused because the file changed past its first 64 KiB since a quota stop stays refused: the refusal does not seal the changed file', async () => {
    const { dir, target } = await scratchTarget('gb-resealed-', { quota: { user_import: [{ quota: 1500, period: 'day' }] } })
    const all = Array.from({ length: 3000 }, (_, i) => JSON.stringify({ user_id: `auth0|user${i}`, email: `user${i}@example.com` }))
    await writeFile(join(dir, 'users.ndjson'), all.join('\n') + '\n')
    const config = await writeTestConfig(dir, target, { source: { type: 'auth0', files: 'users.ndjson', batch_records: 100 }, sink: { batch: { max_records: 500 }, max_in_flight: 1 } })
    expect((await runCli(['backfill', '--config', config])).code).toBe(75)
    // A re-export without one user (past the first 64 KiB, before the stop's position) and with a new one at its end.
    const reexport = [...all.filter((_, i) => i !== 1200), JSON.stringify({ user_id: 'auth0|a-later-user', email: 'a-later-user-with-a-longer-name@example.com' })]
    await writeFile(join(dir, 'users.ndjson'), reexport.join('\n') + '\n')
    target.emulator.quota.setLimits('user_import', [{ quota: 10_000, period: 'day' }])
    for (const attempt of [1, 2]) {
      const refused = await runCli(['backfill', '--config', config])
      expect(refused.code, `attempt ${attempt}: ${refused.stderr.slice(-800)}`).toBe(1)
      expect(refused.stderr).toContain('users.ndjson is not the file the checkpoint was reading')
    }
    // As the refusal says: from the start, users Authgear already has are skipped.
    const fresh = await runCli(['backfill', '--config', config, '--from-start'])
    expect(fresh.code, fresh.stderr.slice(-800)).toBe(0)
    expect(target.emulator.store.count()).toBe(3001)
  })
})
