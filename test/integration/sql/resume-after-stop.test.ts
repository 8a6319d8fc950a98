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
})
