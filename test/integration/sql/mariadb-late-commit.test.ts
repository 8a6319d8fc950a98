import mysql from 'mysql2/promise'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { setTimeout as sleep } from 'node:timers/promises'
import { sharedMariadb, type DatabaseService } from '../../services/mariadb.ts'
import { cliTarget, runCli } from '../../conformance/cli-run.ts'

let db: DatabaseService
beforeAll(async () => {
  db = await sharedMariadb()
})
afterAll(async () => {
  await db?.stop()
})

describe('sync over a whole-second updated_at column (MariaDB DATETIME, NOW())', () => {
  it('reads an update whose transaction commits late, within safety_lag_seconds, though its timestamp is up to a second older than the write', async () => {
    const table = `late_commit_${process.pid}`
    await db.query(`CREATE TABLE ${table} (id int PRIMARY KEY, email varchar(100) NOT NULL, name varchar(100) NULL, updated_at DATETIME NOT NULL)`)
    await db.query(`INSERT INTO ${table} VALUES (1, 'late@example.com', 'v0', NOW() - INTERVAL 1 HOUR), (2, 'other@example.com', 'v0', NOW() - INTERVAL 1 HOUR)`)
    const target = await cliTarget(
      { type: 'sql', dialect: 'mysql', url: db.reader.url, table, key: 'id', updated_at: 'updated_at', columns: { email: 'email', name: 'name' }, poll_interval_ms: 100, safety_lag_seconds: 2 },
      { sink: { upsert: true, batch: { linger_ms: 20 } } },
    )
    const connect = () => mysql.createConnection({ host: db.host, port: db.port, user: db.user, password: db.password, database: db.database })
    const [slow, quick] = await Promise.all([connect(), connect()])
    const store = target.emulator.store
    const name = (email: string) => store.findByLoginId('email', email)?.standard?.['name']
    let done = false
    try {
      const writer = (async () => {
        while (store.count() < 2) await sleep(50)
        // Late in a second: NOW() is the second the statement ran in, ~0.9 s before the write.
        for (;;) {
          const [rows] = await slow.query('SELECT MICROSECOND(NOW(6)) AS us')
          if ((rows as { us: number }[])[0]!.us > 900_000) break
          await sleep(5)
        }
        await slow.query('START TRANSACTION')
        await slow.query(`UPDATE ${table} SET name = 'late', updated_at = NOW() WHERE id = 1`)
        // Another row of the same second, committed at once: the cursor passes that second with it.
        await quick.query(`UPDATE ${table} SET name = 'v1', updated_at = NOW() WHERE id = 2`)
        // Open for 1.4 s, under the 2 s lag.
        await sleep(1400)
        await slow.query('COMMIT')
        const deadline = Date.now() + 8000
        while (Date.now() < deadline && name('late@example.com') !== 'late') await sleep(100)
        done = true
      })()
      const result = await runCli(['sync', '--config', target.configPath], { killWhen: () => done, signal: 'SIGTERM' })
      await writer
      expect(result.code, result.stderr).toBe(0)
      expect(name('other@example.com')).toBe('v1')
      expect(name('late@example.com')).toBe('late')
    } finally {
      await slow.end()
      await quick.end()
      await target.close()
    }
  })
})
