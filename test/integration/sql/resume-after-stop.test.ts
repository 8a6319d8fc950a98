import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sharedPostgres, type DatabaseService } from '../../services/postgres.ts'
import { startTestEmulator } from '../../support/emulator-harness.ts'
import { runCli } from '../../support/run-cli.ts'
import { writeTestConfig } from '../../support/write-config.ts'

let db: DatabaseService
beforeAll(async () => {
  db = await sharedPostgres()
})
afterAll(async () => {
  await db?.stop()
})

describe('a SQL backfill resumed after a quota stop', () => {
  it('sends again the rows the stopped run imported, so rows changed since then arrive with their changes', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gb-sql-resume-'))
    const table = `resume_users_${process.pid}`
    await db.query(`CREATE TABLE ${table} (id integer PRIMARY KEY, email varchar(200) NOT NULL, first_name varchar(100), updated_at timestamp(6) NOT NULL)`)
    await db.query(`INSERT INTO ${table} SELECT g, 'user' || g || '@example.com', 'v1', (clock_timestamp() AT TIME ZONE 'UTC') - interval '60 seconds' FROM generate_series(1, 30) g`)
    const target = await startTestEmulator(dir, { quota: { user_import: [{ quota: 10, period: 'day' }] } })
    try {
      const config = await writeTestConfig(dir, target, {
        source: { type: 'sql', dialect: 'postgres', url: db.reader.url, table, key: 'id', updated_at: 'updated_at', safety_lag_seconds: 1, page_size: 100, columns: { email: 'email', given_name: 'first_name' } },
        sink: { upsert: true, batch: { max_records: 30, linger_ms: 200 }, max_in_flight: 1 },
      })
      expect((await runCli(['backfill', '--config', config])).code).toBe(75)
      // A row read again may be a newer version under the same origin: the stop names nothing to skip.
      const checkpoint = await readFile(join(dir, 'state', 'test.checkpoint.json'), 'utf8').catch(() => '{}')
      expect(checkpoint).not.toContain('settledAhead')
      await db.query(`UPDATE ${table} SET first_name = 'v2', updated_at = clock_timestamp() AT TIME ZONE 'UTC'`)
      await new Promise((resolve) => setTimeout(resolve, 1_500))
      target.emulator.quota.setLimits('user_import', [{ quota: 1_000, period: 'day' }])
      expect((await runCli(['backfill', '--config', config])).code).toBe(0)
      const stale = Array.from({ length: 30 }, (_, i) => i + 1).filter((i) => target.emulator.store.findByLoginId('email', `user${i}@example.com`)?.standard?.['given_name'] !== 'v2')
      expect(stale).toEqual([])
    } finally {
      await target.emulator.close()
      await db.query(`DROP TABLE ${table}`)
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('imports the second row of a two-row account once it has waited handover_wait_seconds, so the checkpoint moves past it before the end of the table', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gb-sql-resume-pair-'))
    const table = `resume_pair_${process.pid}`
    await db.query(`CREATE TABLE ${table} (id integer PRIMARY KEY, email varchar(200) NOT NULL, first_name varchar(100), updated_at timestamp(6) NOT NULL)`)
    await db.query(`INSERT INTO ${table} SELECT g, 'user' || g || '@example.com', 'v1', (clock_timestamp() AT TIME ZONE 'UTC') - interval '60 seconds' FROM generate_series(1, 40) g`)
    // Row 11 is a second row of row 10's account (the same email in other case): one user.
    await db.query(`UPDATE ${table} SET email = 'USER10@example.com' WHERE id = 11`)
    const target = await startTestEmulator(dir, { quota: { user_import: [{ quota: 10, period: 'day' }] } })
    try {
      const config = await writeTestConfig(dir, target, {
        // Pages of 5: each settles, and the checkpoint moves, as a long backfill's do.
        source: { type: 'sql', dialect: 'postgres', url: db.reader.url, table, key: 'id', updated_at: 'updated_at', safety_lag_seconds: 1, page_size: 5, handover_wait_seconds: 1, columns: { email: 'email', given_name: 'first_name' } },
        sink: { upsert: true, batch: { max_records: 5, linger_ms: 50 }, max_in_flight: 1 },
      })
      const reportPath = join(dir, 'state', 'test.report.ndjson')
      const outcomesOf = async (id: string) => (await readFile(reportPath, 'utf8')).split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>).filter((line) => line['source_key'] === id).map((line) => line['outcome'])
      // Day one: rows 1 to 10.
      expect((await runCli(['backfill', '--config', config])).code).toBe(75)
      expect(await outcomesOf('11')).toEqual([])
      // Day two, resumed: row 11 shares its email with row 10, imported the day before. Held to the
      // end of the table, it kept every later day starting over from it.
      // A day long enough for the held row's wait: every request takes 300 ms.
      target.emulator.quota.setLimits('user_import', [{ quota: 30, period: 'day' }])
      target.emulator.faults.latency_ms = 300
      expect((await runCli(['backfill', '--config', config])).code).toBe(75)
      target.emulator.faults.latency_ms = 0
      expect(await outcomesOf('11')).toEqual(['updated'])
      const before = target.emulator.store.count()
      target.emulator.quota.setLimits('user_import', [{ quota: 1_000, period: 'day' }])
      expect((await runCli(['backfill', '--config', config])).code).toBe(0)
      // The last day sends what the second left, not everything from row 11 on again.
      expect(await outcomesOf('11')).toEqual(['updated'])
      expect(before).toBeGreaterThanOrEqual(29)
      expect(target.emulator.store.count()).toBe(39)
    } finally {
      await target.emulator.close()
      await db.query(`DROP TABLE ${table}`)
      await rm(dir, { recursive: true, force: true })
    }
  })
})
