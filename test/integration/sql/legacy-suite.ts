/**
 * The same legacy users table, in PostgreSQL and in MariaDB, imported with `gearbridge backfill`
 * into the emulator: mixed-case emails, national phone numbers, several hash formats, soft-deleted
 * and locked rows, unicode and empty strings, NULLs, and roles aggregated from a join table.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { parse, stringify } from 'yaml'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { setTimeout as sleep } from 'node:timers/promises'
import { sql } from 'kysely'
import { SqlClient } from '../../../connectors/sql/client.ts'
import { connectionSettings } from '../../../connectors/sql/connection-options.ts'
import { createSqlSource } from '../../../connectors/sql/source.ts'
import { cliTarget, runCli } from '../../conformance/cli-run.ts'
import { context, keysOf, readAll } from '../../conformance/source-suite.ts'
import type { DatabaseService } from '../../services/database-service.ts'
import { dialectSql, sqlConfig } from './sql-harness.ts'
import type { UserStore } from '../../../src/emulator/user-store.ts'
import { LoginLedger } from '../../../src/runtime/login-ledger.ts'

const bcrypt = '$2b$10$nFguVi9LsCAcvTZFKQlRKeLVydo8ETv483lkNsSFI/Wl1Rz1Ypo1K'
const argon2 = '$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG'
const django = 'pbkdf2_sha256$260000$abcdefgh$0123456789abcdefghijABCDEFGHIJ0123456789abc='
const phpass = '$P$BPpK7CZVfSqzbGzBZTfDc2lHTkzVv8/'
const unknownValue = 'definitely-not-a-hash-format'

// id, email, confirmed, phone, country, username, first, last, hash, locale, locked, deleted
const rows: readonly (readonly (string | number | boolean | null)[])[] = [
  [1, 'Alice@Example.COM', true, '(415) 555-2671', 'US', null, 'Émilie', 'Zoë', bcrypt, 'en_US', false, false],
  [2, 'bob@example.com', false, '06 12 34 56 78', 'FR', null, 'Bob', '', argon2, 'fr', true, false],
  [3, ' Carol@Example.com ', true, '', null, null, '', '  ', django, '', false, true],
  [4, null, null, '020 7946 0958', null, null, null, null, null, null, false, false],
  [5, null, null, null, null, 'DaveUser', 'Dave', null, phpass, 'de_DE', false, false],
  [6, 'not-an-email', true, null, null, null, null, null, null, null, false, false],
  [7, 'eve@example.com', true, null, null, null, 'Eve', null, unknownValue, null, false, false],
  [8, 'zhang@example.com', true, null, null, null, '伟', '张', null, 'zh_Hant_HK', false, false],
  [9, null, null, null, null, null, null, null, null, null, false, false],
]

async function createLegacyTables(db: DatabaseService, suffix: string): Promise<{ users: string; roles: string }> {
  const d = dialectSql(db)
  const users = `legacy_users_${suffix}`
  const roles = `legacy_roles_${suffix}`
  await db.query(`CREATE TABLE ${users} (
    id integer PRIMARY KEY, email varchar(200) NULL, email_confirmed_at ${d.timestamp} NULL, phone varchar(40) NULL, country char(2) NULL,
    username varchar(100) NULL, first_name varchar(100) NULL, last_name varchar(100) NULL, password_hash varchar(255) NULL, locale varchar(20) NULL,
    locked_at ${d.timestamp} NULL, deleted_at ${d.timestamp} NULL, updated_at ${d.timestamp} NOT NULL)`)
  await db.query(`CREATE TABLE ${roles} (user_id integer NOT NULL, role varchar(50) NOT NULL)`)
  for (const [id, email, confirmed, phone, country, username, first, last, hash, locale, locked, deleted] of rows) {
    const p = (i: number) => d.param(i)
    await db.query(
      `INSERT INTO ${users} VALUES (${p(1)}, ${p(2)}, ${confirmed ? d.nowPlus(-86_400_000) : 'NULL'}, ${p(3)}, ${p(4)}, ${p(5)}, ${p(6)}, ${p(7)}, ${p(8)}, ${p(9)}, ${locked ? d.nowPlus(-3_600_000) : 'NULL'}, ${deleted ? d.nowPlus(-60_000) : 'NULL'}, ${d.nowPlus(-120_000)})`,
      [id, email, phone, country, username, first, last, hash, locale],
    )
  }
  await db.query(`INSERT INTO ${roles} VALUES (1, 'editor'), (1, 'admin'), (2, 'editor')`)
  return { users, roles }
}

function rolesQuery(db: DatabaseService, users: string, roles: string): string {
  return db.dialect === 'postgres'
    ? `SELECT u.*, (SELECT json_agg(r.role ORDER BY r.role) FROM ${roles} r WHERE r.user_id = u.id) AS roles FROM ${users} u`
    : `SELECT u.*, (SELECT JSON_ARRAYAGG(r.role ORDER BY r.role) FROM ${roles} r WHERE r.user_id = u.id) AS roles FROM ${users} u`
}

const columns = {
  email: 'email', email_verified: 'email_confirmed_at', phone_number: 'phone', country: 'country', username: 'username',
  given_name: 'first_name', family_name: 'last_name', password_hash: 'password_hash', locale: 'locale', roles: 'roles',
}

/** The batches of one backfill snapshot of a table (pages of 2 by default), its source closed after. */
async function snapshotOf(db: DatabaseService, overrides: Parameters<typeof sqlConfig>[1]): Promise<Awaited<ReturnType<typeof readAll>>> {
  const source = createSqlSource(sqlConfig(db, { page_size: 2, columns: { email: 'email' }, ...overrides }), { baseDir: process.cwd(), mode: 'backfill' })
  try {
    return await readAll(source, undefined)
  } finally {
    await source.close()
  }
}

/** Waits until a running sync has imported what `check` looks for (a minute at most). */
async function until(check: () => boolean): Promise<void> {
  const deadline = Date.now() + 60_000
  while (!check()) {
    if (Date.now() > deadline) throw new Error('sync did not import the changes in time')
    await new Promise((r) => setTimeout(r, 50))
  }
}

/** Changes a written config file in place (a setting fixed, a target moved, a feature turned off). */
function editConfig(path: string, change: (config: Record<string, Record<string, unknown>>) => void): void {
  const config = parse(readFileSync(path, 'utf8')) as Record<string, Record<string, unknown>>
  change(config)
  writeFileSync(path, stringify(config))
}

/** A users table of the login-ledger tests (`id`, `email`, `username`, `updated_at` an hour back) with these rows. */
async function createLoginsTable(db: DatabaseService, table: string, rows: readonly (readonly [number, string | null, string | null])[]): Promise<void> {
  const d = dialectSql(db)
  await db.query(`CREATE TABLE ${table} (id integer PRIMARY KEY, email varchar(100) NULL, username varchar(100) NULL, updated_at ${d.timestamp} NOT NULL)`)
  const literal = (value: string | null) => (value === null ? 'NULL' : `'${value}'`)
  await db.query(`INSERT INTO ${table} VALUES ${rows.map(([id, email, username]) => `(${id}, ${literal(email)}, ${literal(username)}, ${d.nowPlus(-3_600_000)})`).join(', ')}`)
}

/**
 * A sync, under upsert with pages of one row, of a table of rows 10 (e10, u10) and 11 (e11, u11)
 * that has imported both and polled the table's end for a while. `write` changes the table; the
 * sync then runs until `done` (or `waitMs`) and stops with SIGTERM, which must end it with exit
 * 0 and no dead letter. Returns the emulator's store, with the users rows 10 and 11 had first.
 */
async function syncThroughWrite(
  db: DatabaseService,
  name: string,
  source: Record<string, unknown>,
  write: (table: string, d: ReturnType<typeof dialectSql>) => Promise<void>,
  done: (store: UserStore) => boolean,
  waitMs = 20_000,
): Promise<{ store: UserStore; first: { readonly u10: string; readonly u11: string }; close: () => Promise<void> }> {
  const d = dialectSql(db)
  const table = `${name}_${process.pid}`
  await createLoginsTable(db, table, [[10, 'e10@example.com', 'u10'], [11, 'e11@example.com', 'u11']])
  const target = await cliTarget(
    { type: 'sql', dialect: db.dialect, url: db.reader.url, table, key: 'id', updated_at: 'updated_at', columns: { email: 'email', username: 'username' }, page_size: 1, poll_interval_ms: 100, safety_lag_seconds: 1, ...source },
    { sink: { upsert: true, batch: { linger_ms: 20 } } },
  )
  const store = target.emulator.store as UserStore
  const deadLetters = join(target.dir, 'state', 'test.dead-letter.ndjson')
  try {
    let settled = false
    const sync = runCli(['sync', '--config', target.configPath], { killWhen: () => settled, signal: 'SIGTERM' })
    while (store.count() < 2) await sleep(50)
    // Caught up for a while (polls of the table's end).
    await sleep(1500)
    const first = { u10: store.findByLoginId('username', 'u10')!.id, u11: store.findByLoginId('username', 'u11')!.id }
    await write(table, d)
    const started = Date.now()
    while (Date.now() - started < waitMs && !done(store) && !(existsSync(deadLetters) && readFileSync(deadLetters, 'utf8') !== '')) await sleep(50)
    settled = true
    const result = await sync
    expect(result.code, result.stderr).toBe(0)
    expect(existsSync(deadLetters) ? readFileSync(deadLetters, 'utf8') : '').toBe('')
    return { store, first, close: () => target.close() }
  } catch (error) {
    await target.close()
    throw error
  }
}

/** Row 10's email moved to a new row 1 (username new1), row 10's user kept with its new email old10@. */
function emailHandedOn(store: UserStore): boolean {
  return store.findByLoginId('username', 'new1') !== undefined && store.findByLoginId('username', 'u10')?.email?.value === 'old10@example.com'
}

/** After `emailHandedOn`: row 10's user (`original`) kept, with its new email; row 1 a user of its own with the email it took. */
function expectEmailHandedOn(store: UserStore, original: string): void {
  expect(store.findByLoginId('username', 'u10')).toMatchObject({ id: original, email: { value: 'old10@example.com' } })
  expect(store.findByLoginId('email', 'e10@example.com')?.username?.value).toBe('new1')
  expect(store.findByLoginId('email', 'e10@example.com')?.id).not.toBe(original)
  expect(store.count()).toBe(3)
}

/**
 * Ann's row (1) takes the email of her duplicate's row (2) in one statement, under upsert, so the
 * taker is read first; `writtenAgain`: row 2 is written again later, so row 3 comes between the
 * taker and the giver in (updated_at, key) order. A sync must follow the handover: no dead letter,
 * each user holding its row's email. Returns the report.
 */
async function handedOver(db: DatabaseService, table: string, source: Record<string, unknown>, options: { writtenAgain: boolean }): Promise<string> {
  const d = dialectSql(db)
  await createLoginsTable(db, table, [[1, 'ann@example.com', 'ann'], [2, 'ann.work@example.com', 'ann2'], [3, 'cat@example.com', 'cat']])
  const target = await cliTarget(
    { type: 'sql', dialect: db.dialect, url: db.reader.url, table, key: 'id', updated_at: 'updated_at', columns: { email: 'email', username: 'username' }, poll_interval_ms: 100, safety_lag_seconds: 1, ...source },
    { sink: { upsert: true, batch: { linger_ms: 20 } } },
  )
  try {
    const backfill = await runCli(['backfill', '--config', target.configPath])
    expect(backfill.code, backfill.stderr).toBe(0)
    const store = target.emulator.store
    const older = store.findByLoginId('username', 'ann')!.id
    const duplicate = store.findByLoginId('username', 'ann2')!.id
    await db.query(`UPDATE ${table} SET email = CASE id WHEN 2 THEN 'ann.old-duplicate@example.com' ELSE 'ann.work@example.com' END, updated_at = ${d.nowPlus(0)} WHERE id IN (1, 2)`)
    if (options.writtenAgain) {
      await db.query(`UPDATE ${table} SET updated_at = ${d.nowPlus(300)} WHERE id = 3`)
      await db.query(`UPDATE ${table} SET updated_at = ${d.nowPlus(600)} WHERE id = 2`)
    }
    const deadLetters = join(target.dir, 'state', 'test.dead-letter.ndjson')
    const dead = () => (existsSync(deadLetters) ? readFileSync(deadLetters, 'utf8') : '')
    const sync = await runCli(['sync', '--config', target.configPath], {
      killWhen: () => dead() !== '' || store.findByLoginId('email', 'ann.work@example.com')?.id === older,
      signal: 'SIGTERM',
    })
    expect(sync.code, sync.stderr).toBe(0)
    expect(dead()).toBe('')
    expect(store.findByLoginId('email', 'ann.work@example.com')?.id).toBe(older)
    expect(store.findByLoginId('email', 'ann.old-duplicate@example.com')?.id).toBe(duplicate)
    expect(store.count()).toBe(3)
    return readFileSync(join(target.dir, 'state', 'test.report.ndjson'), 'utf8')
  } finally {
    await target.close()
  }
}

/** `dialect` is the database's, for the few tests of one dialect's own behaviour. */
export function defineLegacySuite(database: () => DatabaseService, dialect: DatabaseService['dialect']): void {
  describe('legacy users table', () => {
    it('ends in the emulator as expected, with the unmappable rows dead-lettered by table, key and column', async () => {
      const db = database()
      const { users, roles } = await createLegacyTables(db, `${process.pid}_a`)
      const target = await cliTarget(
        { type: 'sql', dialect: db.dialect, url: db.reader.url, query: rolesQuery(db, users, roles), key: 'id', updated_at: 'updated_at', columns, soft_delete: { column: 'deleted_at', mode: 'disable' }, locked: { column: 'locked_at' } },
        { emulator: { roles: ['admin', 'editor'] }, mapping: { default_phone_region: 'GB', roles_from: null, groups_from: null } },
      )
      try {
        const result = await runCli(['backfill', '--config', target.configPath])
        expect(result.code, result.stderr).toBe(3)
        const store = target.emulator.store
        expect(store.count()).toBe(6)

        const alice = store.findByLoginId('email', 'alice@example.com')
        expect(alice?.email).toMatchObject({ value: 'alice@example.com', verified: true })
        expect(alice?.phone?.value).toBe('+14155552671')
        expect(alice?.hasPassword).toBe(true)
        expect(alice?.status).toBe('normal')
        expect(alice?.standard).toMatchObject({ given_name: 'Émilie', family_name: 'Zoë', locale: 'en-US' })
        expect(alice?.roles?.sort()).toEqual(['admin', 'editor'])

        const bob = store.findByLoginId('email', 'bob@example.com')
        expect(bob?.phone?.value).toBe('+33612345678')
        expect(bob?.email?.verified).toBe(false)
        expect(bob?.status).toBe('disabled')
        expect(bob?.hasPassword ?? false).toBe(false)
        expect(bob?.standard?.['family_name']).toBeUndefined()

        const carol = store.findByLoginId('email', 'carol@example.com')
        expect(carol?.status).toBe('disabled')
        expect(carol?.phone).toBeUndefined()
        expect(carol?.standard?.['given_name']).toBeUndefined()
        expect(carol?.standard?.['locale']).toBeUndefined()

        expect(store.findByLoginId('phone', '+442079460958')?.email).toBeUndefined()
        const dave = store.findByLoginId('username', 'daveuser')
        expect(dave?.hasPassword ?? false).toBe(false)
        expect(dave?.standard).toMatchObject({ given_name: 'Dave', locale: 'de-DE' })
        expect(store.findByLoginId('email', 'zhang@example.com')?.standard).toMatchObject({ given_name: '伟', family_name: '张', locale: 'zh-Hant-HK' })

        const deadText = readFileSync(join(target.dir, 'state', 'test.dead-letter.ndjson'), 'utf8')
        const dead = deadText.trim().split('\n').map((line) => JSON.parse(line) as { source_key: string; origin: string; code: string; message: string })
        expect(dead.map((d) => [d.source_key, d.code]).sort()).toEqual([['6', 'invalid_email'], ['7', 'password_policy'], ['9', 'no_identifier']])
        for (const d of dead) expect(d.origin).toBe(`query id=${d.source_key}`)
        expect(dead.find((d) => d.source_key === '6')?.message).toContain('email')
        expect(dead.find((d) => d.source_key === '7')?.message).toContain('password_hash')
        for (const secret of [bcrypt, argon2, django, phpass, unknownValue]) expect(deadText).not.toContain(secret)
        const summary = result.stdout
        expect(summary).toMatch(/argon2/)
      } finally {
        await target.close()
      }
    })

    it('fails at start, before anything is sent, on a missing column or a bad query', async () => {
      const db = database()
      const { users } = await createLegacyTables(db, `${process.pid}_b`)
      const source = { type: 'sql', dialect: db.dialect, url: db.reader.url, table: users, key: 'id', columns: { email: 'mail', username: 'username' } }
      const target = await cliTarget(source)
      try {
        const missing = await runCli(['backfill', '--config', target.configPath])
        // 78 (EX_CONFIG) once the runtime maps a ConfigError raised by the source at start; 1 until then.
        expect([1, 78], missing.stderr).toContain(missing.code)
        expect(missing.stderr).toContain('source.columns.email: column "mail" does not exist')
        expect(target.emulator.jobs.jobsCreated).toBe(0)
      } finally {
        await target.close()
      }
      const bad = await cliTarget({ ...source, table: undefined, query: `SELECT * FROM ${users} WHERE no_such_column = 1`, columns: { email: 'email' } })
      try {
        const result = await runCli(['backfill', '--config', bad.configPath])
        expect([1, 78], result.stderr).toContain(result.code)
        expect(result.stderr).toContain('source.query does not run')
        expect(result.stderr).toContain('no_such_column')
        expect(bad.emulator.store.count()).toBe(0)
      } finally {
        await bad.close()
      }
    })

    // The throwaway PostgreSQL trusts local connections (pg_hba `trust`), so any password logs in there.
    it.runIf(dialect === 'mysql')('says a wrong password is a login the database refused, not a table or query problem', async () => {
      const db = database()
      const { users } = await createLegacyTables(db, `${process.pid}_login`)
      const login = await cliTarget({ type: 'sql', dialect: db.dialect, host: db.host, port: db.port, database: db.database, user: db.reader.user, password: 'not-the-password', table: users, key: 'id', columns: { email: 'email' } })
      try {
        const result = await runCli(['backfill', '--config', login.configPath])
        expect(result.code, result.stderr).toBe(78)
        expect(result.stderr).toContain('cannot log in to the database')
        expect(result.stderr).not.toContain('not-the-password')
      } finally {
        await login.close()
      }
    })

    it('`gearbridge sync` imports rows inserted and updated while it polls, and stops cleanly on SIGTERM', async () => {
      const db = database()
      const d = dialectSql(db)
      const table = `sync_${process.pid}`
      await db.query(`CREATE TABLE ${table} (id integer PRIMARY KEY, email varchar(100) NOT NULL, name varchar(100) NULL, updated_at ${d.timestamp} NOT NULL)`)
      await db.query(`INSERT INTO ${table} VALUES (1, 'one@example.com', 'One', ${d.nowPlus(-60_000)}), (2, 'two@example.com', 'Two', ${d.nowPlus(-60_000)})`)
      const target = await cliTarget(
        { type: 'sql', dialect: db.dialect, url: db.reader.url, table, key: 'id', updated_at: 'updated_at', columns: { email: 'email', name: 'name' }, poll_interval_ms: 100, safety_lag_seconds: 2 },
        { sink: { upsert: true, batch: { linger_ms: 20 } } },
      )
      try {
        const store = target.emulator.store
        let stage = 0
        const changes = (async () => {
          await until(() => store.count() === 2)
          await db.query(`INSERT INTO ${table} VALUES (3, 'three@example.com', 'Three', ${d.nowPlus(0)})`)
          await db.query(`UPDATE ${table} SET name = 'Uno', updated_at = ${d.nowPlus(0)} WHERE id = 1`)
          await until(() => store.count() === 3 && store.findByLoginId('email', 'one@example.com')?.standard?.['name'] === 'Uno')
          stage = 1
        })()
        const result = await runCli(['sync', '--config', target.configPath], { killWhen: () => stage === 1, signal: 'SIGTERM' })
        await changes
        expect(result.code, result.stderr).toBe(0)
        expect(store.findByLoginId('email', 'three@example.com')?.standard).toMatchObject({ name: 'Three' })
      } finally {
        await target.close()
      }
    })

    it('`sync` sends a second change that keeps the same updated_at (whole-second columns) while the row is in the lag window', async () => {
      const db = database()
      const d = dialectSql(db)
      const table = `same_second_${process.pid}`
      await db.query(`CREATE TABLE ${table} (id integer PRIMARY KEY, email varchar(100) NOT NULL, name varchar(100) NULL, updated_at ${d.timestamp} NOT NULL)`)
      await db.query(`INSERT INTO ${table} VALUES (1, 'same@example.com', 'Zero', ${d.nowPlus(-3_600_000)})`)
      const target = await cliTarget(
        { type: 'sql', dialect: db.dialect, url: db.reader.url, table, key: 'id', updated_at: 'updated_at', columns: { email: 'email', name: 'name' }, poll_interval_ms: 100, safety_lag_seconds: 30 },
        { sink: { upsert: true, batch: { linger_ms: 20 } } },
      )
      try {
        const store = target.emulator.store
        const nameIs = (name: string) => store.findByLoginId('email', 'same@example.com')?.standard?.['name'] === name
        let done = false
        const changes = (async () => {
          await until(() => nameIs('Zero'))
          await db.query(`UPDATE ${table} SET name = 'First', updated_at = ${d.nowPlus(0)} WHERE id = 1`)
          await until(() => nameIs('First'))
          // The same updated_at, as a second change within the same second leaves it.
          await db.query(`UPDATE ${table} SET name = 'Second' WHERE id = 1`)
          await until(() => nameIs('Second'))
        })().finally(() => (done = true))
        const result = await runCli(['sync', '--config', target.configPath], { killWhen: () => done, signal: 'SIGTERM' })
        await changes
        expect(result.code, result.stderr).toBe(0)
      } finally {
        await target.close()
      }
    })

    it('a restarted `sync` does not send again the rows inside the safety lag it had sent, only those changed since', async () => {
      const db = database()
      const d = dialectSql(db)
      const table = `restart_lag_${process.pid}`
      const hash = '$2b$10$' + 'a'.repeat(53)
      await db.query(`CREATE TABLE ${table} (id integer PRIMARY KEY, email varchar(100) NOT NULL, name varchar(100) NULL, pw varchar(100) NULL, updated_at ${d.timestamp} NOT NULL)`)
      await db.query(`INSERT INTO ${table} VALUES ${[1, 2, 3].map((i) => `(${i}, 'lag${i}@example.com', 'Name ${i}', '${hash}', ${d.nowPlus(0)})`).join(', ')}`)
      const target = await cliTarget(
        { type: 'sql', dialect: db.dialect, url: db.reader.url, table, key: 'id', updated_at: 'updated_at', columns: { email: 'email', name: 'name', password_hash: 'pw' }, poll_interval_ms: 100, safety_lag_seconds: 60 },
        { sink: { upsert: true, batch: { linger_ms: 20 } } },
      )
      try {
        const store = target.emulator.store
        const first = await runCli(['sync', '--config', target.configPath], { killWhen: () => store.count() === 3, killDelayMs: 300, signal: 'SIGTERM' })
        expect(first.code, first.stderr).toBe(0)
        const checkpoint = JSON.parse(readFileSync(join(target.dir, 'state', 'test.checkpoint.json'), 'utf8')) as { position: { mode: string; sent?: Record<string, string> } }
        // All three are inside the lag: the position cannot pass them, and says they were sent.
        expect(checkpoint.position.mode).toBe('start')
        expect(Object.keys(checkpoint.position.sent ?? {}).sort()).toEqual(['1', '2', '3'])
        expect(JSON.stringify(checkpoint)).not.toContain(hash)
        await db.query(`UPDATE ${table} SET name = 'Changed' WHERE id = 2`)
        // Several polls pass after the change arrives, each of which reads all three rows again.
        const second = await runCli(['sync', '--config', target.configPath], { killWhen: () => store.findByLoginId('email', 'lag2@example.com')?.standard?.['name'] === 'Changed', killDelayMs: 500, signal: 'SIGTERM' })
        expect(second.code, second.stderr).toBe(0)
        expect(second.stdout).toMatch(/^\s+read\s+1$/m)
        expect(second.stdout).toMatch(/^\s+updated\s+1\b/m)
        // Rows 1 and 3 were not sent again: no second line saying their password was not applied.
        const report = readFileSync(join(target.dir, 'state', 'test.report.ndjson'), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { source_key: string; outcome: string; password_not_applied?: boolean })
        expect(report.map((line) => `${line.source_key} ${line.outcome}${line.password_not_applied ? ' password_not_applied' : ''}`)).toEqual(['1 inserted', '2 inserted', '3 inserted', '2 updated password_not_applied'])
      } finally {
        await target.close()
      }
    })

    it('a backfill from a saved cursor leaves out the lag rows its position says were sent, and a window over 10,000 rows is not saved', async () => {
      const db = database()
      const d = dialectSql(db)
      const table = `sent_list_${process.pid}`
      await db.query(`CREATE TABLE ${table} (id integer PRIMARY KEY, email varchar(100) NOT NULL, updated_at ${d.timestamp} NOT NULL)`)
      await db.query(`INSERT INTO ${table} VALUES (1, 'old@example.com', ${d.nowPlus(-3_600_000)}), (2, 'new2@example.com', ${d.nowPlus(0)}), (3, 'new3@example.com', ${d.nowPlus(0)})`)
      const config = sqlConfig(db, { table, updated_at: 'updated_at', page_size: 5000, safety_lag_seconds: 60, columns: { email: 'email' } })
      const first = createSqlSource(config, { baseDir: process.cwd(), mode: 'backfill' })
      try {
        const batches = await readAll(first, { mode: 'changes', updated_at: '2000-01-01 00:00:00' })
        const position = batches.at(-1)?.position
        expect(position).toMatchObject({ mode: 'cursor', key: 1 })
        expect(Object.keys((position as { sent?: object }).sent ?? {}).sort()).toEqual(['2', '3'])
        await db.query(`UPDATE ${table} SET email = 'changed3@example.com' WHERE id = 3`)
        expect(keysOf(await readAll(first, position))).toEqual(['3'])
        // A busy window is not carried: a restart then reads all of it again.
        await db.query(`INSERT INTO ${table} VALUES ${Array.from({ length: 10_000 }, (_, i) => `(${i + 10}, 'busy${i}@example.com', ${d.nowPlus(0)})`).join(', ')}`)
        const busy = await readAll(first, position)
        expect(busy.at(-1)?.position).not.toHaveProperty('sent')
      } finally {
        await first.close()
      }
    })

    it('a backfill --since whose rows are all inside the lag (or that finds none) saves where the next run goes on from, not the table\'s start; a passed row leaves the sent list', async () => {
      const db = database()
      const d = dialectSql(db)
      const table = `since_lag_${process.pid}`
      await db.query(`CREATE TABLE ${table} (id integer PRIMARY KEY, email varchar(100) NOT NULL, updated_at ${d.timestamp} NOT NULL)`)
      await db.query(`INSERT INTO ${table} VALUES (1, 'day-old@example.com', ${d.nowPlus(-86_400_000)})`)
      const since = new Date(Date.now() - 3_600_000)
      const config = sqlConfig(db, { table, updated_at: 'updated_at', safety_lag_seconds: 60, columns: { email: 'email' } })
      const source = createSqlSource(config, { baseDir: process.cwd(), mode: 'backfill', since })
      try {
        // Nothing changed since: one empty batch, positioned at --since.
        const none = await readAll(source, undefined)
        expect(keysOf(none)).toEqual([])
        expect(none.at(-1)?.position).toMatchObject({ mode: 'changes' })
        // A row changed just now, inside the lag: the position is still --since, with the row sent.
        await db.query(`INSERT INTO ${table} VALUES (2, 'fresh@example.com', ${d.nowPlus(0)})`)
        const fresh = await readAll(source, undefined)
        expect(keysOf(fresh)).toEqual(['2'])
        const position = fresh.at(-1)?.position as { mode: string; sent?: object }
        expect(position.mode).toBe('changes')
        expect(Object.keys(position.sent ?? {})).toEqual(['2'])
      } finally {
        await source.close()
      }
      // A row the list names that the cursor has since passed is dropped from it.
      const later = createSqlSource(config, { baseDir: process.cwd(), mode: 'backfill' })
      try {
        const batches = await readAll(later, { mode: 'changes', updated_at: '2000-01-01 00:00:00', sent: { '1': 'stale', '2': 'stale' } })
        expect(batches.at(-1)?.position).toMatchObject({ mode: 'cursor', key: 1 })
        expect(Object.keys((batches.at(-1)?.position as { sent?: object }).sent ?? {})).toEqual(['2'])
      } finally {
        await later.close()
      }
    })

    it('`sync` after a `backfill` of the same config follows the changes since the snapshot began, without sending everyone again', async () => {
      const db = database()
      const d = dialectSql(db)
      const table = `handover_${process.pid}`
      await db.query(`CREATE TABLE ${table} (id integer PRIMARY KEY, email varchar(100) NOT NULL, name varchar(100) NULL, updated_at ${d.timestamp} NOT NULL)`)
      const values = Array.from({ length: 40 }, (_, i) => `(${i + 1}, 'h${i + 1}@example.com', 'Name ${i + 1}', ${d.nowPlus(-3_600_000)})`).join(', ')
      await db.query(`INSERT INTO ${table} VALUES ${values}`)
      const target = await cliTarget(
        { type: 'sql', dialect: db.dialect, url: db.reader.url, table, key: 'id', updated_at: 'updated_at', columns: { email: 'email', name: 'name' }, page_size: 15, poll_interval_ms: 100, safety_lag_seconds: 1 },
        { sink: { upsert: true, batch: { linger_ms: 20 } } },
      )
      try {
        const backfill = await runCli(['backfill', '--config', target.configPath])
        expect(backfill.code, backfill.stderr).toBe(0)
        expect(target.emulator.store.count()).toBe(40)
        const checkpoint = JSON.parse(readFileSync(join(target.dir, 'state', 'test.checkpoint.json'), 'utf8')) as { position: { mode: string }; complete: boolean }
        expect(checkpoint).toMatchObject({ position: { mode: 'changes' }, complete: true })
        await db.query(`UPDATE ${table} SET name = 'Changed', updated_at = ${d.nowPlus(0)} WHERE id = 7`)
        const store = target.emulator.store
        const result = await runCli(['sync', '--config', target.configPath], { killWhen: () => store.findByLoginId('email', 'h7@example.com')?.standard?.['name'] === 'Changed', signal: 'SIGTERM' })
        expect(result.code, result.stderr).toBe(0)
        expect(result.stdout).toMatch(/^\s+read\s+1$/m)
        expect(result.stdout).toMatch(/^\s+updated\s+1$/m)
      } finally {
        await target.close()
      }
    })

    it('`sync` disables a user whose row is locked and enables it again when the row is unlocked', async () => {
      const db = database()
      const d = dialectSql(db)
      const table = `lock_${process.pid}`
      await db.query(`CREATE TABLE ${table} (id integer PRIMARY KEY, email varchar(100) NOT NULL, locked_at ${d.timestamp} NULL, updated_at ${d.timestamp} NOT NULL)`)
      await db.query(`INSERT INTO ${table} VALUES (1, 'locky@example.com', NULL, ${d.nowPlus(-60_000)}), (2, 'steady@example.com', NULL, ${d.nowPlus(-60_000)})`)
      const target = await cliTarget(
        { type: 'sql', dialect: db.dialect, url: db.reader.url, table, key: 'id', updated_at: 'updated_at', columns: { email: 'email' }, locked: { column: 'locked_at' }, poll_interval_ms: 100, safety_lag_seconds: 1 },
        { sink: { upsert: true, batch: { linger_ms: 20 } } },
      )
      try {
        const store = target.emulator.store
        const status = () => store.findByLoginId('email', 'locky@example.com')?.status
        let stage = 0
        const changes = (async () => {
          const until = async (check: () => boolean) => {
            const deadline = Date.now() + 60_000
            while (!check()) {
              if (Date.now() > deadline) throw new Error(`sync did not apply the change in time (status ${String(status())})`)
              await new Promise((r) => setTimeout(r, 50))
            }
          }
          await until(() => status() === 'normal')
          await db.query(`UPDATE ${table} SET locked_at = ${d.nowPlus(0)}, updated_at = ${d.nowPlus(0)} WHERE id = 1`)
          await until(() => status() === 'disabled')
          await db.query(`UPDATE ${table} SET locked_at = NULL, updated_at = ${d.nowPlus(0)} WHERE id = 1`)
          await until(() => status() === 'normal')
          stage = 1
        })()
        const result = await runCli(['sync', '--config', target.configPath], { killWhen: () => stage === 1, signal: 'SIGTERM' })
        await changes
        expect(result.code, result.stderr).toBe(0)
        expect(store.findByLoginId('email', 'steady@example.com')?.status).toBe('normal')
        const report = readFileSync(join(target.dir, 'state', 'test.report.ndjson'), 'utf8')
        expect(report).not.toContain('normal -> normal')
      } finally {
        await target.close()
      }
    })

    it('`sync` under upsert removes from the user what a row sets to NULL, so a phone number given up can go to the user who gets it next', async () => {
      const db = database()
      const d = dialectSql(db)
      const table = `nulls_${process.pid}`
      await db.query(`CREATE TABLE ${table} (id integer PRIMARY KEY, email varchar(100) NULL, phone varchar(30) NULL, full_name varchar(100) NULL, roles varchar(100) NULL, plan varchar(20) NULL, updated_at ${d.timestamp} NOT NULL)`)
      await db.query(`INSERT INTO ${table} VALUES (1, 'ann@example.com', '+14155550101', 'Ann', 'admin', 'pro', ${d.nowPlus(-60_000)})`)
      const target = await cliTarget(
        {
          type: 'sql', dialect: db.dialect, url: db.reader.url, table, key: 'id', updated_at: 'updated_at',
          columns: { email: 'email', phone_number: 'phone', name: 'full_name', roles: 'roles' }, poll_interval_ms: 100, safety_lag_seconds: 1,
        },
        {
          sink: { upsert: true, batch: { linger_ms: 20 } },
          mapping: { identifier: ['email', 'phone_number'], custom_attributes: { plan: 'plan' } },
          emulator: { roles: ['admin'], custom_attributes: [{ name: 'plan', type: 'string' }] },
        },
      )
      try {
        const store = target.emulator.store
        const ann = () => store.findByLoginId('email', 'ann@example.com')
        let stage = 0
        const changes = (async () => {
          await until(() => ann()?.phone?.value === '+14155550101' && ann()?.standard?.['name'] === 'Ann')
          await db.query(`UPDATE ${table} SET phone = NULL, full_name = NULL, roles = NULL, plan = NULL, updated_at = ${d.nowPlus(0)} WHERE id = 1`)
          await until(() => ann()?.phone === undefined)
          // Bob gets the number Ann gave up: a user of his own, not an update of Ann's.
          await db.query(`INSERT INTO ${table} VALUES (2, NULL, '+14155550101', 'Bob', NULL, NULL, ${d.nowPlus(0)})`)
          await until(() => store.findByLoginId('phone', '+14155550101') !== undefined)
          stage = 1
        })()
        const result = await runCli(['sync', '--config', target.configPath], { killWhen: () => stage === 1, signal: 'SIGTERM' })
        await changes
        expect(result.code, result.stderr).toBe(0)
        expect(ann()?.phone).toBeUndefined()
        expect(ann()?.standard?.['name']).toBeUndefined()
        expect(ann()?.roles ?? []).toEqual([])
        expect(ann()?.custom?.['plan'] ?? null).toBeNull()
        const bob = store.findByLoginId('phone', '+14155550101')!
        expect(bob.id).not.toBe(ann()!.id)
        expect(bob.standard?.['name']).toBe('Bob')
        expect(bob.email).toBeUndefined()
        const report = readFileSync(join(target.dir, 'state', 'test.report.ndjson'), 'utf8')
        expect(report).not.toContain('has no effect in insert')
      } finally {
        await target.close()
      }
    })

    it('a first run whose requests never reached Authgear, or that Authgear refused outright (403), leaves no note: a row changed before the next run is imported, not dead-lettered identifier_changed', async () => {
      const db = database()
      const d = dialectSql(db)
      const table = `never_sent_${process.pid}`
      await createLoginsTable(db, table, [[1, 'ann@example.com', null], [2, 'cat@example.com', null]])
      const target = await cliTarget({ type: 'sql', dialect: db.dialect, url: db.reader.url, table, key: 'id', updated_at: 'updated_at', columns: { email: 'email' } }, { sink: { upsert: true, batch: { linger_ms: 20 }, retry: { max_attempts: 2, base_ms: 10 } } })
      try {
        const config = parse(readFileSync(target.configPath, 'utf8')) as { sink: Record<string, unknown> }
        const variant = (name: string, sink: Record<string, unknown>): string => {
          const path = join(target.dir, `${name}.yaml`)
          writeFileSync(path, stringify({ ...config, sink: { ...config.sink, ...sink } }))
          return path
        }
        // Nothing listens on port 1; an unknown key id gets Authgear's plain-text 403.
        for (const path of [variant('unreachable', { endpoint: 'http://127.0.0.1:1' }), variant('refused', { key_id: 'not-the-key' })]) {
          const failed = await runCli(['backfill', '--config', path])
          expect(failed.code, failed.stderr).toBe(1)
          const logins = await runCli(['logins', 'show', '--config', target.configPath, '--', '1'])
          expect(logins.stdout).not.toContain('"unsettled":true')
        }
        await db.query(`UPDATE ${table} SET email = 'ann.new@example.com', updated_at = ${d.nowPlus(0)} WHERE id = 1`)
        const backfill = await runCli(['backfill', '--config', target.configPath])
        expect(backfill.code, backfill.stderr).toBe(0)
        expect(target.emulator.store.findByLoginId('email', 'ann.new@example.com')).toBeDefined()
        expect(target.emulator.store.count()).toBe(2)
      } finally {
        await target.close()
      }
    })

    it('a changed email is followed across runs by the row\'s unchanged username; one it cannot follow is dead-lettered until `logins forget`', async () => {
      const db = database()
      const d = dialectSql(db)
      const table = `moves_${process.pid}`
      await createLoginsTable(db, table, [[1, 'ann@example.com', 'ann'], [2, 'cat@example.com', null]])
      const target = await cliTarget(
        { type: 'sql', dialect: db.dialect, url: db.reader.url, table, key: 'id', updated_at: 'updated_at', columns: { email: 'email', username: 'username' }, poll_interval_ms: 100, safety_lag_seconds: 1 },
        { sink: { upsert: true, batch: { linger_ms: 20 } } },
      )
      const lines = (name: string) => {
        try {
          return readFileSync(join(target.dir, 'state', `test.${name}.ndjson`), 'utf8').trim().split('\n').filter(Boolean).map((line) => JSON.parse(line) as { source_key: string; outcome?: string; code?: string; message?: string; warnings?: string[] })
        } catch {
          return []
        }
      }
      try {
        const backfill = await runCli(['backfill', '--config', target.configPath])
        expect(backfill.code, backfill.stderr).toBe(0)
        const store = target.emulator.store
        const annId = store.findByLoginId('email', 'ann@example.com')!.id
        const catId = store.findByLoginId('email', 'cat@example.com')!.id
        // Changed while nothing runs: only the ledger of the backfill knows the earlier emails.
        await db.query(`UPDATE ${table} SET email = 'ann.new@example.com', updated_at = ${d.nowPlus(0)} WHERE id = 1`)
        await db.query(`UPDATE ${table} SET email = 'kat@example.com', updated_at = ${d.nowPlus(0)} WHERE id = 2`)
        // validate says beforehand what the run will do, from the same ledger.
        const dry = await runCli(['validate', '--config', target.configPath])
        expect(dry.code, dry.stderr).toBe(3)
        expect(dry.stdout).toMatch(/2 records read, 1 would be sent, 1 would be dead-lettered/)
        expect(dry.stdout).toMatch(/^ {2}identifier_changed +1$/m)
        expect(dry.stdout).toContain('email changed from cat@example.com to kat@example.com')
        expect(dry.stdout).toMatch(/1 +identifier_changed: a login ID changed; the user was matched by another one/)
        const metricsFile = join(target.dir, 'sync.prom')
        const sync = await runCli(['sync', '--config', target.configPath, '--metrics-out', metricsFile], {
          killWhen: () => store.findByLoginId('email', 'ann.new@example.com') !== undefined && lines('dead-letter').some((line) => line.source_key === '2'),
          signal: 'SIGTERM',
        })
        expect(sync.code, sync.stderr).toBe(0)
        expect(store.count()).toBe(2)
        const ann = store.findByLoginId('email', 'ann.new@example.com')!
        expect(ann.id).toBe(annId)
        expect(ann.username?.value).toBe('ann')
        expect(store.findByLoginId('email', 'ann@example.com')).toBeUndefined()
        const moved = lines('report').find((line) => line.source_key === '1' && line.outcome === 'updated')
        expect(moved?.warnings?.join(' ')).toContain('identifier_changed: email changed from ann@example.com to ann.new@example.com; matched by preferred_username instead')
        const refused = lines('dead-letter').find((line) => line.source_key === '2')!
        expect(refused.code).toBe('identifier_changed')
        expect(refused.message).toContain('email changed from cat@example.com to kat@example.com')
        expect(refused.message).toContain(`gearbridge logins forget --config ${target.configPath} -- 2`)
        expect(store.findByLoginId('email', 'kat@example.com')).toBeUndefined()
        const metrics = readFileSync(metricsFile, 'utf8')
        expect(metrics).toMatch(/^gearbridge_login_id_changes_total\{result="followed"\} 1$/m)
        expect(metrics).toMatch(/^gearbridge_login_id_changes_total\{result="refused"\} 1$/m)

        const show = await runCli(['logins', 'show', '--config', target.configPath, '--', '1', '2', '-3'])
        expect(show.code).toBe(1)
        expect(show.stdout.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>)).toEqual([
          expect.objectContaining({ source_key: '1', known: true, email: 'ann.new@example.com', preferred_username: 'ann' }),
          expect.objectContaining({ source_key: '2', known: true, email: 'cat@example.com' }),
          { source_key: '-3', known: false },
        ])
        // What the dead letter says to do: change the email in Authgear, forget the key, and the row's next change imports it.
        ;(store as UserStore).setLoginId(store.get(catId)!, 'email', 'kat@example.com', true)
        const forget = await runCli(['logins', 'forget', '--config', target.configPath, '2'])
        expect(forget.code, forget.stderr).toBe(0)
        expect(forget.stdout).toContain('forgot the login IDs of 1 of 1 key;')
        await db.query(`UPDATE ${table} SET updated_at = ${d.nowPlus(0)} WHERE id = 2`)
        const again = await runCli(['sync', '--config', target.configPath], { killWhen: () => lines('report').some((line) => line.source_key === '2' && line.outcome === 'updated'), signal: 'SIGTERM' })
        expect(again.code, again.stderr).toBe(0)
        expect(store.count()).toBe(2)
        expect(store.findByLoginId('email', 'kat@example.com')?.id).toBe(catId)
      } finally {
        await target.close()
      }
    })

    it('an email handed from one row to another in one statement is followed, though the row taking it is read first', async () => {
      // Support moves an email from a duplicate account to the older one: both rows get the same
      // updated_at and are read in key order, the taker first, while Authgear still gives the
      // email to the other user.
      await handedOver(database(), `handed_email_${process.pid}`, {}, { writtenAgain: false })
    })

    it('an email handed over is followed when the giving row was written again before the sync read it, with other rows read between the two', async () => {
      await handedOver(database(), `handed_later_${process.pid}`, {}, { writtenAgain: true })
    })

    it('an email handed over is followed when the taker is read a page before the giver: the refused taker waits for the giver and is sent again', async () => {
      // Pages of one row: no page holds both rows, so the taker goes first and Authgear refuses it
      // while the other user still holds the email.
      const report = await handedOver(database(), `handed_pages_${process.pid}`, { page_size: 1 }, { writtenAgain: true })
      // The taker's report line is its second send's: updated, once.
      const takerLines = report.split('\n').filter((line) => line.includes('"source_key":"1"') && line.includes('ann.work@example.com'))
      expect(takerLines.map((line) => (JSON.parse(line) as { outcome: string }).outcome)).toEqual(['updated'])
    })

    it('a newer version of a taker read while its refused version waits for the giver replaces it, and the read goes on to the giver', async () => {
      // The taker's first version is in a job when its second is read: the read waits for that
      // job; the first version, refused, must not hold the read (and the giver behind it) for the
      // whole handover wait.
      const db = database()
      const d = dialectSql(db)
      const table = `handed_again_${process.pid}`
      await db.query(`CREATE TABLE ${table} (id integer PRIMARY KEY, email varchar(100) NULL, username varchar(100) NULL, name varchar(100) NULL, updated_at ${d.timestamp} NOT NULL)`)
      await db.query(`INSERT INTO ${table} VALUES (1, 'taker@example.com', 'taker', 'n', ${d.nowPlus(-3_600_000)}), (2, 'giver@example.com', 'giver', 'n', ${d.nowPlus(-3_600_000)}), (3, 'other@example.com', 'other', 'n', ${d.nowPlus(-3_600_000)})`)
      const target = await cliTarget(
        { type: 'sql', dialect: db.dialect, url: db.reader.url, table, key: 'id', updated_at: 'updated_at', columns: { email: 'email', username: 'username', name: 'name' }, poll_interval_ms: 100, safety_lag_seconds: 1, handover_wait_seconds: 60 },
        { sink: { upsert: true, batch: { linger_ms: 20 } }, emulator: { record_delay_ms: 1500 } },
      )
      const store = target.emulator.store
      const deadLetters = join(target.dir, 'state', 'test.dead-letter.ndjson')
      try {
        expect((await runCli(['backfill', '--config', target.configPath])).code).toBe(0)
        let other: number | undefined
        const sync = runCli(['sync', '--config', target.configPath], { killWhen: () => other !== undefined && store.findByLoginId('email', 'giver@example.com')?.username?.value === 'taker', signal: 'SIGTERM' })
        await db.query(`UPDATE ${table} SET name = 'warm', updated_at = ${d.nowPlus(0)} WHERE id = 3`)
        while (store.findByLoginId('username', 'other')?.standard?.['name'] !== 'warm') await sleep(50)
        await db.query(`UPDATE ${table} SET email = 'giver@example.com', updated_at = ${d.nowPlus(0)} WHERE id = 1`)
        await sleep(400)
        await db.query(`UPDATE ${table} SET name = 'taker v2', updated_at = ${d.nowPlus(0)} WHERE id = 1`)
        await sleep(300)
        await db.query(`UPDATE ${table} SET email = 'giver.new@example.com', updated_at = ${d.nowPlus(0)} WHERE id = 2`)
        await db.query(`UPDATE ${table} SET name = 'other changed', updated_at = ${d.nowPlus(0)} WHERE id = 3`)
        const written = Date.now()
        while (store.findByLoginId('username', 'other')?.standard?.['name'] !== 'other changed' && Date.now() - written < 70_000) await sleep(50)
        other = Date.now() - written
        const result = await sync
        expect(result.code, result.stderr).toBe(0)
        // Well within the 60 s wait: the read went on.
        expect(other).toBeLessThan(20_000)
        expect(existsSync(deadLetters) ? readFileSync(deadLetters, 'utf8') : '').toBe('')
        expect(store.findByLoginId('email', 'giver@example.com')).toMatchObject({ username: { value: 'taker' }, standard: { name: 'taker v2' } })
        expect(store.findByLoginId('username', 'giver')?.email?.value).toBe('giver.new@example.com')
      } finally {
        await target.close()
      }
    })

    it('a new row taking an email a row on a later page gives up is held back until that row\'s change is imported, and gets a user of its own', async () => {
      // A sync that has read the table once (its first run): support moves row 10's email to a new
      // account, row 1. Pages of one row: the new row is read first, alone. Under upsert Authgear
      // would match it by email to row 10's user and overwrite that user with row 1's data.
      const db = database()
      const { store, first, close } = await syncThroughWrite(db, 'new_taker', {}, async (table, d) => {
        await db.query(`INSERT INTO ${table} VALUES (1, 'e10@example.com', 'new1', ${d.nowPlus(0)})`)
        await db.query(`UPDATE ${table} SET email = 'old10@example.com', updated_at = ${d.nowPlus(0)} WHERE id = 10`)
      }, emailHandedOn)
      try {
        expectEmailHandedOn(store, first.u10)
      } finally {
        await close()
      }
    })

    it('a sync holds a new row inserted a moment before its giver gives the email up (two transactions) until the giver\'s change is imported', async () => {
      // Support moves row 10's email to a new account, row 1, in two steps 400 ms apart. Pages of
      // one row: the new row is read first, alone. Under upsert Authgear would match it by email to
      // row 10's user and overwrite that user with row 1's data.
      const db = database()
      const { store, first, close } = await syncThroughWrite(db, 'late_giver', {}, async (table, d) => {
        await db.query(`INSERT INTO ${table} VALUES (1, 'e10@example.com', 'new1', ${d.nowPlus(0)})`)
        await sleep(400)
        await db.query(`UPDATE ${table} SET email = 'old10@example.com', updated_at = ${d.nowPlus(0)} WHERE id = 10`)
      }, emailHandedOn)
      try {
        expectEmailHandedOn(store, first.u10)
      } finally {
        await close()
      }
    })

    it('a sync sends a row refused for a deleted row\'s username again once a new row taking that row\'s email has updated its user without the username', async () => {
      // Row 10 is deleted; row 11 takes its username and a new row 1 its email (no username).
      // Row 10's change is never read: row 1, sent once the wait is over, updates row 10's user
      // (matched by email) and clears the username, which is then row 11's to take.
      const db = database()
      const { store, first, close } = await syncThroughWrite(db, 'gone_giver', { handover_wait_seconds: 2 }, async (table, d) => {
        await db.query(`DELETE FROM ${table} WHERE id = 10`)
        await db.query(`UPDATE ${table} SET username = 'u10', updated_at = ${d.nowPlus(0)} WHERE id = 11`)
        await db.query(`INSERT INTO ${table} VALUES (1, 'e10@example.com', NULL, ${d.nowPlus(0)})`)
      }, (users) => users.findByLoginId('username', 'u10')?.email?.value === 'e11@example.com', 30_000)
      try {
        // Row 1 holds row 10's user, without its username; row 11 took the username.
        expect(store.findByLoginId('email', 'e10@example.com')).toMatchObject({ id: first.u10 })
        expect(store.findByLoginId('email', 'e10@example.com')?.username).toBeUndefined()
        expect(store.findByLoginId('username', 'u10')).toMatchObject({ id: first.u11, email: { value: 'e11@example.com' } })
        expect(store.count()).toBe(2)
      } finally {
        await close()
      }
    })

    it('a backfill holds a new row taking the email of a row it reads much later until that row\'s change is imported, however long past handover_wait_seconds; a second row of one account still wins in read order', async () => {
      const db = database()
      const d = dialectSql(db)
      const table = `far_giver_${process.pid}`
      await createLoginsTable(db, table, Array.from({ length: 40 }, (_, i) => [i + 2, `e${i + 2}@example.com`, `u${i + 2}`] as const))
      const target = await cliTarget(
        { type: 'sql', dialect: db.dialect, url: db.reader.url, table, key: 'id', updated_at: 'updated_at', columns: { email: 'email', username: 'username' }, page_size: 5, handover_wait_seconds: 1 },
        { sink: { upsert: true, batch: { linger_ms: 20, max_records: 5 } }, emulator: { record_delay_ms: 60 } },
      )
      const store = target.emulator.store
      try {
        expect((await runCli(['backfill', '--config', target.configPath])).code).toBe(0)
        const giverUser = store.findByLoginId('username', 'u41')!.id
        // Row 41's email moves to a new row 1, read first; a new row 0 is a second account of
        // row 9's email, read before row 9: row 9's version is read last and must win.
        await db.query(`INSERT INTO ${table} VALUES (1, 'e41@example.com', 'new1', ${d.nowPlus(-3_600_000)})`)
        await db.query(`UPDATE ${table} SET email = 'old41@example.com' WHERE id = 41`)
        await db.query(`INSERT INTO ${table} VALUES (0, 'e9@example.com', 'second9', ${d.nowPlus(-3_600_000)})`)
        const started = Date.now()
        const again = await runCli(['backfill', '--from-start', '--config', target.configPath])
        expect(again.code, again.stderr).toBe(0)
        // The giver was read well past the 1 s wait.
        expect(Date.now() - started).toBeGreaterThan(2_000)
        expect(store.findByLoginId('username', 'u41')).toMatchObject({ id: giverUser, email: { value: 'old41@example.com' } })
        expect(store.findByLoginId('email', 'e41@example.com')?.username?.value).toBe('new1')
        // Rows 0 and 9 share one user; row 9, read after row 0, was sent after it.
        expect(store.findByLoginId('email', 'e9@example.com')?.username?.value).toBe('u9')
        expect(store.count()).toBe(41)
      } finally {
        await target.close()
      }
    })

    it('a new row taking an email whose row gave it up in a change that was dead-lettered is dead-lettered too, not handed that row\'s user; a taker whose giver is read past the wait still gets its email', async () => {
      const db = database()
      const d = dialectSql(db)
      const table = `stale_giver_${process.pid}`
      await createLoginsTable(db, table, Array.from({ length: 40 }, (_, i) => [i + 2, `e${i + 2}@example.com`, `u${i + 2}`] as const))
      const target = await cliTarget(
        { type: 'sql', dialect: db.dialect, url: db.reader.url, table, key: 'id', updated_at: 'updated_at', columns: { email: 'email', username: 'username' }, page_size: 1, handover_wait_seconds: 1 },
        { sink: { upsert: true, batch: { linger_ms: 20, max_records: 5 } }, emulator: { record_delay_ms: 40 } },
      )
      const store = target.emulator.store
      const deadLetters = join(target.dir, 'state', 'test.dead-letter.ndjson')
      try {
        expect((await runCli(['backfill', '--config', target.configPath])).code).toBe(0)
        const row5 = store.findByLoginId('username', 'u5')!.id
        const row10 = store.findByLoginId('username', 'u10')!.id
        // Row 5 changes both its login IDs (dead-lettered identifier_changed): its user keeps e5,
        // which a new row 1 takes. A chain read far apart: a new row 0 takes row 10's email, row 10
        // takes row 40's, row 40 (read well past the 1 s wait) takes a fresh one.
        await db.query(`UPDATE ${table} SET email = 'new5@example.com', username = 'nu5' WHERE id = 5`)
        await db.query(`INSERT INTO ${table} VALUES (1, 'e5@example.com', 'carol', ${d.nowPlus(-3_600_000)})`)
        await db.query(`INSERT INTO ${table} VALUES (0, 'e10@example.com', 'newbie', ${d.nowPlus(-3_600_000)})`)
        await db.query(`UPDATE ${table} SET email = 'e40@example.com' WHERE id = 10`)
        await db.query(`UPDATE ${table} SET email = 'fresh40@example.com' WHERE id = 40`)
        const again = await runCli(['backfill', '--from-start', '--config', target.configPath])
        expect(again.code, again.stderr).toBe(3)
        const dead = readFileSync(deadLetters, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as { source_key: string; code: string; message: string })
        expect(dead.map((entry) => [entry.source_key, entry.code]).sort()).toEqual([['1', 'login_id_held'], ['5', 'identifier_changed']])
        expect(dead.find((entry) => entry.source_key === '1')?.message).toMatch(/held back for e5@example\.com, which Authgear holds for the user of row 5: row 5 no longer has it, but its change was dead-lettered/)
        // Row 5's user untouched, and no user for row 1.
        expect(store.findByLoginId('email', 'e5@example.com')).toMatchObject({ id: row5, username: { value: 'u5' } })
        expect(store.findByLoginId('username', 'carol')).toBeUndefined()
        // The chain: each row its own user, with its new email.
        expect(store.findByLoginId('username', 'u10')).toMatchObject({ id: row10, email: { value: 'e40@example.com' } })
        expect(store.findByLoginId('username', 'u40')?.email?.value).toBe('fresh40@example.com')
        expect(store.findByLoginId('email', 'e10@example.com')?.username?.value).toBe('newbie')
        expect(store.count()).toBe(41)
      } finally {
        await target.close()
      }
    })

    it('a row whose change the mapping refused for its password is judged by the login IDs it read: a new row taking the email it gave up is dead-lettered naming that change, and a second row of an unchanged one updates its user', async () => {
      const db = database()
      const d = dialectSql(db)
      const table = `refused_giver_${process.pid}`
      await db.query(`CREATE TABLE ${table} (id integer PRIMARY KEY, email varchar(100) NULL, username varchar(100) NULL, pw varchar(100) NULL, updated_at ${d.timestamp} NOT NULL)`)
      await db.query(`INSERT INTO ${table} VALUES ${Array.from({ length: 10 }, (_, i) => `(${i + 2}, 'e${i + 2}@example.com', 'u${i + 2}', NULL, ${d.nowPlus(-3_600_000)})`).join(', ')}`)
      const target = await cliTarget(
        { type: 'sql', dialect: db.dialect, url: db.reader.url, table, key: 'id', updated_at: 'updated_at', columns: { email: 'email', username: 'username', password_hash: 'pw' }, page_size: 1, handover_wait_seconds: 1 },
        { sink: { upsert: true, batch: { linger_ms: 20, max_records: 5 } }, mapping: { passwords: { unknown: 'dead_letter' } } },
      )
      const store = target.emulator.store
      const deadLetters = join(target.dir, 'state', 'test.dead-letter.ndjson')
      try {
        expect((await runCli(['backfill', '--config', target.configPath])).code).toBe(0)
        const row5 = store.findByLoginId('username', 'u5')!.id
        const row7 = store.findByLoginId('username', 'u7')!.id
        // Row 5 moves to a new email with a password the policy refuses: its user keeps e5, which
        // a new row 1 takes. Row 7 keeps its login IDs with such a password, and a new row 0 is a
        // second row of its account (read before it, as two rows of one account are).
        await db.query(`UPDATE ${table} SET email = 'new5@example.com', pw = 'not-a-hash' WHERE id = 5`)
        await db.query(`UPDATE ${table} SET pw = 'not-a-hash' WHERE id = 7`)
        await db.query(`INSERT INTO ${table} VALUES (1, 'e5@example.com', 'carol', NULL, ${d.nowPlus(-3_600_000)})`)
        await db.query(`INSERT INTO ${table} VALUES (0, 'e7@example.com', 'second7', NULL, ${d.nowPlus(-3_600_000)})`)
        const again = await runCli(['backfill', '--from-start', '--config', target.configPath])
        expect(again.code, again.stderr).toBe(3)
        const dead = readFileSync(deadLetters, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as { source_key: string; code: string; message: string })
        expect(dead.map((entry) => entry.source_key).sort()).toEqual(['1', '5', '7'])
        expect(dead.find((entry) => entry.source_key === '1')).toMatchObject({ code: 'login_id_held' })
        expect(dead.find((entry) => entry.source_key === '1')?.message).toMatch(/held back for e5@example\.com, which Authgear holds for the user of row 5: row 5 no longer has it, but its change was dead-lettered/)
        expect(store.findByLoginId('email', 'e5@example.com')).toMatchObject({ id: row5, username: { value: 'u5' } })
        expect(store.findByLoginId('username', 'carol')).toBeUndefined()
        // Row 0 updated row 7's user, as a second row of an account whose row is unchanged does.
        expect(store.findByLoginId('email', 'e7@example.com')?.id).toBe(row7)
        expect(store.count()).toBe(10)
      } finally {
        await target.close()
      }
    })

    it('a new row taking an email whose row gave it up in a change this run did not read is dead-lettered, not handed that row\'s user: the row is read again before the held row goes', async () => {
      const db = database()
      const d = dialectSql(db)
      const table = `unread_giver_${process.pid}`
      await createLoginsTable(db, table, Array.from({ length: 10 }, (_, i) => [i + 2, `e${i + 2}@example.com`, `u${i + 2}`] as const))
      const target = await cliTarget(
        { type: 'sql', dialect: db.dialect, url: db.reader.url, table, key: 'id', updated_at: 'updated_at', safety_lag_seconds: 1, columns: { email: 'email', username: 'username' }, handover_wait_seconds: 1 },
        { sink: { upsert: true, batch: { linger_ms: 20 } } },
      )
      const store = target.emulator.store
      const deadLetters = join(target.dir, 'state', 'test.dead-letter.ndjson')
      try {
        expect((await runCli(['backfill', '--config', target.configPath])).code).toBe(0)
        const row5 = store.findByLoginId('username', 'u5')!.id
        // Row 5 moves to a new email without its updated_at changing (a read by cursor does not see
        // it, as a snapshot that had passed the row would not); a new row 1 takes e5.
        const since = new Date(Date.now() - 60_000).toISOString()
        await db.query(`UPDATE ${table} SET email = 'new5@example.com' WHERE id = 5`)
        await db.query(`INSERT INTO ${table} VALUES (1, 'e5@example.com', 'zed', ${d.nowPlus(-10_000)})`)
        const again = await runCli(['backfill', '--from-start', '--since', since, '--config', target.configPath])
        expect(again.code, again.stderr).toBe(3)
        const dead = readFileSync(deadLetters, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as { source_key: string; code: string; message: string })
        expect(dead.map((entry) => [entry.source_key, entry.code])).toEqual([['1', 'login_id_held']])
        expect(dead[0]?.message).toMatch(/held back for e5@example\.com, which Authgear holds for the user of row 5: row 5 no longer has it in the table, but this run did not read that change/)
        // Row 5's user is untouched: no row took it over.
        expect(store.findByLoginId('email', 'e5@example.com')).toMatchObject({ id: row5, username: { value: 'u5' } })
        expect(store.findByLoginId('username', 'zed')).toBeUndefined()
        expect(store.count()).toBe(10)
      } finally {
        await target.close()
      }
    })

    it('a swap of two emails waits for a giver that never comes, and is dead-lettered once handover_wait_seconds has passed, or at the end of a backfill', async () => {
      const db = database()
      const d = dialectSql(db)
      const table = `swapped_${process.pid}`
      await createLoginsTable(db, table, [[1, 'ann@example.com', 'ann'], [2, 'bob@example.com', 'bob']])
      const target = await cliTarget(
        { type: 'sql', dialect: db.dialect, url: db.reader.url, table, key: 'id', updated_at: 'updated_at', columns: { email: 'email', username: 'username' }, poll_interval_ms: 100, safety_lag_seconds: 1, handover_wait_seconds: 1 },
        { sink: { upsert: true, batch: { linger_ms: 20 } } },
      )
      try {
        const backfill = await runCli(['backfill', '--config', target.configPath])
        expect(backfill.code, backfill.stderr).toBe(0)
        await db.query(`UPDATE ${table} SET email = CASE id WHEN 1 THEN 'bob@example.com' ELSE 'ann@example.com' END, updated_at = ${d.nowPlus(0)}`)
        const deadLetters = join(target.dir, 'state', 'test.dead-letter.ndjson')
        const dead = () => (existsSync(deadLetters) ? readFileSync(deadLetters, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as { source_key: string; code: string; message: string }) : [])
        const started = Date.now()
        const sync = await runCli(['sync', '--config', target.configPath], { killWhen: () => dead().length === 2, signal: 'SIGTERM' })
        expect(sync.code, sync.stderr).toBe(0)
        expect(Date.now() - started).toBeGreaterThan(1000)
        expect(dead().map((letter) => [letter.source_key, letter.code]).sort()).toEqual([['1', 'InvariantViolated'], ['2', 'InvariantViolated']])
        for (const letter of dead()) expect(letter.message).toMatch(/no row of the table gave it up in the \d+ s it waited/)
        // Both users as they were: nothing half-applied.
        const store = target.emulator.store
        expect(store.findByLoginId('username', 'ann')?.email?.value).toBe('ann@example.com')
        expect(store.findByLoginId('username', 'bob')?.email?.value).toBe('bob@example.com')
        // A backfill over the same rows ends at the table's end: refused at once, not after a wait.
        rmSync(deadLetters)
        const again = await runCli(['backfill', '--config', target.configPath, '--from-start'])
        expect(again.code, again.stderr).toBe(3)
        expect(dead().map((letter) => letter.source_key).sort()).toEqual(['1', '2'])
      } finally {
        await target.close()
      }
    })

    it('a row whose first import was in flight at a kill -9 and whose email changed since is followed to the user that job created', async () => {
      const db = database()
      const d = dialectSql(db)
      const table = `killed_new_${process.pid}`
      await createLoginsTable(db, table, [[1, 'old@example.com', 'ann'], [2, 'bob@example.com', 'bob'], [3, 'cat@example.com', 'cat']])
      const target = await cliTarget(
        { type: 'sql', dialect: db.dialect, url: db.reader.url, table, key: 'id', updated_at: 'updated_at', columns: { email: 'email', username: 'username' }, poll_interval_ms: 100, safety_lag_seconds: 1 },
        { sink: { upsert: true, batch: { linger_ms: 20 } }, emulator: { record_delay_ms: 700, workers: 1 } },
      )
      try {
        const store = target.emulator.store
        // Killed once the job has created row 1's user, before it reports.
        const killed = await runCli(['sync', '--config', target.configPath], { killWhen: () => store.findByLoginId('email', 'old@example.com') !== undefined, signal: 'SIGKILL' })
        expect(killed.signal).toBe('SIGKILL')
        await db.query(`UPDATE ${table} SET email = 'new@example.com', updated_at = ${d.nowPlus(0)} WHERE id = 1`)
        const report = join(target.dir, 'state', 'test.report.ndjson')
        const settled = () => existsSync(report) && readFileSync(report, 'utf8').split('\n').some((line) => line.includes('"source_key":"1"') && line.includes('new@example.com'))
        const again = await runCli(['sync', '--config', target.configPath], { killWhen: settled, signal: 'SIGTERM' })
        expect(again.code, again.stderr).toBe(0)
        expect(store.count()).toBe(3)
        expect(store.findByLoginId('email', 'new@example.com')?.username?.value).toBe('ann')
        expect(store.findByLoginId('email', 'old@example.com')).toBeUndefined()
        const deadLetters = join(target.dir, 'state', 'test.dead-letter.ndjson')
        expect(existsSync(deadLetters) ? readFileSync(deadLetters, 'utf8') : '').toBe('')
      } finally {
        await target.close()
      }
    })

    it('a bulk change of email domain is followed in full import jobs, not one job a row', async () => {
      const db = database()
      const d = dialectSql(db)
      const table = `domain_${process.pid}`
      const count = 120
      await createLoginsTable(db, table, Array.from({ length: count }, (_, i) => [i + 1, `user${i + 1}@old.example`, `user${i + 1}`] as const))
      const target = await cliTarget(
        { type: 'sql', dialect: db.dialect, url: db.reader.url, table, key: 'id', updated_at: 'updated_at', columns: { email: 'email', username: 'username' }, poll_interval_ms: 100, safety_lag_seconds: 1 },
        { sink: { upsert: true, batch: { max_records: 50, linger_ms: 20 } } },
      )
      try {
        const backfill = await runCli(['backfill', '--config', target.configPath])
        expect(backfill.code, backfill.stderr).toBe(0)
        const store = target.emulator.store
        const ids = Array.from({ length: count }, (_, i) => store.findByLoginId('email', `user${i + 1}@old.example`)!.id)
        await db.query(`UPDATE ${table} SET email = REPLACE(email, '@old.example', '@new.example'), updated_at = ${d.nowPlus(0)}`)
        const metricsFile = join(target.dir, 'sync.prom')
        const moved = () => Array.from({ length: count }, (_, i) => store.findByLoginId('email', `user${i + 1}@new.example`)).every((user) => user !== undefined)
        const sync = await runCli(['sync', '--config', target.configPath, '--metrics-out', metricsFile], { killWhen: moved, signal: 'SIGTERM' })
        expect(sync.code, sync.stderr).toBe(0)
        expect(store.count()).toBe(count)
        for (let i = 0; i < count; i++) expect(store.findByLoginId('email', `user${i + 1}@new.example`)?.id).toBe(ids[i])
        const metrics = readFileSync(metricsFile, 'utf8')
        expect(metrics).toMatch(new RegExp(`^gearbridge_login_id_changes_total\\{result="followed"\\} ${count}$`, 'm'))
        // 120 changes read together, 50 to a job: three jobs (one more if a poll splits them).
        const jobs = Number(/^gearbridge_import_jobs_total\{result="completed"\} (\d+)$/m.exec(metrics)?.[1])
        expect(jobs).toBeGreaterThanOrEqual(3)
        expect(jobs).toBeLessThanOrEqual(4)
      } finally {
        await target.close()
      }
    })

    it('`gearbridge sweep` keeps a deleted row\'s key while the row keeping its user is not imported yet, and sweeps the user once that row is deleted too', async () => {
      // Ann's account is deleted and she registers again under a new key (row 3), which no sync
      // has read yet; then that account is closed too.
      const db = database()
      const d = dialectSql(db)
      const table = `sweep_again_${process.pid}`
      await createLoginsTable(db, table, [[1, 'ann@example.com', null], [2, 'bob@example.com', null]])
      const target = await cliTarget(
        { type: 'sql', dialect: db.dialect, url: db.reader.url, table, key: 'id', updated_at: 'updated_at', columns: { email: 'email', username: 'username' }, deletes: { policy: 'delete', max_per_second: 100 } },
        { sink: { batch: { linger_ms: 20 } } },
      )
      const store = target.emulator.store
      const sweep = () => runCli(['sweep', '--config', target.configPath])
      try {
        const backfill = await runCli(['backfill', '--config', target.configPath])
        expect(backfill.code, backfill.stderr).toBe(0)
        await db.query(`DELETE FROM ${table} WHERE id = 1`)
        await db.query(`INSERT INTO ${table} VALUES (3, 'ann@example.com', NULL, ${d.nowPlus(0)})`)
        const kept = await sweep()
        expect(kept.code, kept.stderr).toBe(0)
        expect(kept.stdout).toContain('1 skipped (delete_shared 1)')
        expect(store.findByLoginId('email', 'ann@example.com')).toBeDefined()
        await db.query(`DELETE FROM ${table} WHERE id = 3`)
        const swept = await sweep()
        expect(swept.code, swept.stderr).toBe(0)
        expect(swept.stdout).toContain('swept 1 of 1: 1 deleted')
        expect(store.findByLoginId('email', 'ann@example.com')).toBeUndefined()
        expect(store.count()).toBe(1)
      } finally {
        await target.close()
      }
    })

    it('`gearbridge sweep` keeps the note of a first import written since the last import run began (it may be in flight), and lets go of it once a later run has begun', async () => {
      const db = database()
      const table = `sweep_noted_${process.pid}`
      await createLoginsTable(db, table, [[1, 'ann@example.com', null]])
      const target = await cliTarget(
        { type: 'sql', dialect: db.dialect, url: db.reader.url, table, key: 'id', updated_at: 'updated_at', columns: { email: 'email', username: 'username' }, deletes: { policy: 'delete', max_per_second: 100 } },
        { sink: { batch: { linger_ms: 20 } } },
      )
      const sweep = () => runCli(['sweep', '--config', target.configPath])
      try {
        expect((await runCli(['backfill', '--config', target.configPath])).code).toBe(0)
        // A sync running now notes row 2's first import just before its job is sent; the row is
        // deleted meanwhile, and Authgear has no user for it yet.
        const ledger = new LoginLedger(join(target.dir, 'state', 'test.logins.sqlite'))
        const noted = { source: { key: '2' }, mapped: { identifier: 'email' as const, identifierValue: 'bob@example.com' } }
        ledger.sent(noted, undefined)
        ledger.sending([noted])
        ledger.close()
        const first = await sweep()
        expect(first.code, first.stderr).toBe(0)
        expect(first.stdout).toContain('(1 of them first imports without an outcome yet: a stopped run\'s, or in flight in a running one), 1 of them no longer in the table')
        expect(first.stdout).toContain('1 skipped (delete_not_found 1)')
        // Kept: that job may still create the user.
        expect((await sweep()).stdout).toContain('1 of them no longer in the table')
        // A run begun since: the note is a stopped run's, and its user was not found.
        expect((await runCli(['backfill', '--from-start', '--config', target.configPath])).code).toBe(0)
        expect((await sweep()).stdout).toContain('1 skipped (delete_not_found 1)')
        expect((await sweep()).stdout).toContain('0 of them no longer in the table')
        expect(target.emulator.store.findByLoginId('email', 'ann@example.com')).toBeDefined()
      } finally {
        await target.close()
      }
    })

    it('`gearbridge sweep` finds rows hard-deleted since their import and applies source.deletes.policy, within its safety limit', async () => {
      const db = database()
      const d = dialectSql(db)
      const table = `sweep_${process.pid}`
      await createLoginsTable(db, table, [[1, 'ann@example.com', 'ann'], [2, 'bob@example.com', 'bob'], [3, null, 'cat'], [4, 'dan@example.com', null], [5, 'eve@example.com', 'eve'], [6, 'fay@example.com', null]])
      const target = await cliTarget({ type: 'sql', dialect: db.dialect, url: db.reader.url, table, key: 'id', updated_at: 'updated_at', columns: { email: 'email', username: 'username' } }, { sink: { batch: { linger_ms: 20 } } })
      const store = target.emulator.store
      const sweep = (...args: string[]) => runCli(['sweep', '--config', target.configPath, ...args])
      const lines = (text: string) => text.split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as Record<string, unknown>)
      try {
        const none = await sweep()
        expect(none.code).toBe(1)
        expect(none.stderr).toContain('no login ledger')
        const backfill = await runCli(['backfill', '--config', target.configPath])
        expect(backfill.code, backfill.stderr).toBe(0)
        expect(store.count()).toBe(6)
        // A column the config names that the table lacks stops the sweep as it stops a run, before
        // the scan: every row would map to nothing, and the sweep would report all is well.
        editConfig(target.configPath, (config) => {
          config['source']!['columns'] = { email: 'mail', username: 'username' }
        })
        const misnamed = await sweep()
        expect(misnamed.code).toBe(78)
        expect(misnamed.stderr).toMatch(/mail/)
        editConfig(target.configPath, (config) => {
          config['source']!['columns'] = { email: 'email', username: 'username' }
        })
        // Hard deletes, which no read of the table sees; row 7 is new and not imported yet.
        await db.query(`DELETE FROM ${table} WHERE id IN (2, 3, 4)`)
        await db.query(`INSERT INTO ${table} VALUES (7, 'gus@example.com', 'gus', ${d.nowPlus(0)})`)

        const listed = await sweep('--dry-run')
        expect(listed.code, listed.stderr).toBe(0)
        expect(listed.stdout).toContain('the login ledger holds 6 imported keys, 3 of them no longer in the table')
        expect(lines(listed.stdout)).toEqual([{ source_key: '2', email: 'bob@example.com', preferred_username: 'bob' }, { source_key: '3', preferred_username: 'cat' }, { source_key: '4', email: 'dan@example.com' }])
        expect(listed.stdout).toContain('dry run: nothing was changed')
        // deletes.policy is ignore by default: listed, nothing changed.
        const ignored = await sweep()
        expect(ignored.code).toBe(0)
        expect(ignored.stdout).toContain('source.deletes.policy is ignore: nothing was changed')
        expect(store.count()).toBe(6)

        editConfig(target.configPath, (config) => {
          config['source']!['deletes'] = { policy: 'delete', safety_limit: 2, max_per_second: 100 }
        })
        const refused = await sweep()
        expect(refused.code).toBe(4)
        expect(refused.stderr).toContain('refusing to delete 3 users, more than source.deletes.safety_limit (2): nothing was changed')
        expect(refused.stderr).toContain('--max 3')
        expect(store.count()).toBe(6)

        const metricsFile = join(target.dir, 'sweep.prom')
        const swept = await sweep('--max', '3', '--metrics-out', metricsFile)
        expect(swept.code, swept.stderr).toBe(0)
        expect(swept.stdout).toContain('swept 3 of 3: 3 deleted, 0 disabled')
        expect(store.count()).toBe(3)
        for (const gone of ['bob@example.com', 'dan@example.com']) expect(store.findByLoginId('email', gone)).toBeUndefined()
        expect(store.findByLoginId('username', 'cat')).toBeUndefined()
        for (const kept of ['ann@example.com', 'eve@example.com', 'fay@example.com']) expect(store.findByLoginId('email', kept)).toBeDefined()
        const report = readFileSync(join(target.dir, 'state', 'test.report.ndjson'), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { source_key: string; outcome: string; origin: string })
        expect(report.filter((line) => line.outcome === 'deleted').map((line) => [line.source_key, line.origin])).toEqual([['2', `${table} id=2`], ['3', `${table} id=3`], ['4', `${table} id=4`]])
        expect(readFileSync(metricsFile, 'utf8')).toMatch(/^gearbridge_deletes_total\{action="delete",result="done"\} 3$/m)
        // Swept keys leave the ledger: the next sweep finds nothing, and a row with such a key later is a new user.
        const shown = await runCli(['logins', 'show', '--config', target.configPath, '2', '5'])
        expect(lines(shown.stdout).map((line) => line['known'])).toEqual([false, true])
        const again = await sweep()
        expect(again.code).toBe(0)
        expect(again.stdout).toContain('the login ledger holds 3 imported keys, 0 of them no longer in the table')

        editConfig(target.configPath, (config) => {
          config['source']!['deletes'] = { policy: 'disable', max_per_second: 100 }
        })
        await db.query(`DELETE FROM ${table} WHERE id = 5`)
        const disabled = await sweep()
        expect(disabled.code, disabled.stderr).toBe(0)
        expect(disabled.stdout).toContain('swept 1 of 1: 0 deleted, 1 disabled')
        expect(store.findByLoginId('email', 'eve@example.com')?.status).toBe('disabled')

        // An account registered again with the disabled user's login IDs is matched to that user:
        // without upsert it is skipped and the user stays disabled; under upsert the row's
        // `disabled: false` enables it again (README, sweep).
        await db.query(`INSERT INTO ${table} VALUES (8, 'eve@example.com', 'eve', ${d.nowPlus(0)})`)
        const plain = await runCli(['backfill', '--config', target.configPath])
        expect(plain.code, plain.stderr).toBe(0)
        expect(store.findByLoginId('email', 'gus@example.com')?.status).toBe('normal')
        const eveUser = store.findByLoginId('email', 'eve@example.com')
        expect(eveUser?.status).toBe('disabled')
        const reportLines = () => readFileSync(join(target.dir, 'state', 'test.report.ndjson'), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { source_key: string; outcome: string; user_id?: string })
        expect(reportLines().filter((line) => line.source_key === '8').map((line) => line.outcome)).toEqual(['skipped'])
        editConfig(target.configPath, (config) => {
          config['sink'] = { ...config['sink'], upsert: true }
        })
        await db.query(`UPDATE ${table} SET updated_at = ${d.nowPlus(0)} WHERE id = 8`)
        const upserted = await runCli(['backfill', '--config', target.configPath])
        expect(upserted.code, upserted.stderr).toBe(0)
        expect(store.findByLoginId('email', 'eve@example.com')?.status).toBe('normal')
        expect(store.findByLoginId('email', 'eve@example.com')?.id).toBe(eveUser?.id)
        expect(reportLines().filter((line) => line.source_key === '8').map((line) => line.outcome)).toEqual(['skipped', 'updated'])

        // A table that gives no key at all is not taken for every user deleted.
        await db.query(`DELETE FROM ${table}`)
        const emptied = await sweep()
        expect(emptied.code).toBe(4)
        expect(emptied.stderr).toContain('gave no row at all')
        expect(store.findByLoginId('email', 'ann@example.com')?.status).toBe('normal')
      } finally {
        await target.close()
      }
    })

    it('`gearbridge sweep` spares a user another row still holds and a row back in the table, and stops between users on a signal', async () => {
      const db = database()
      const d = dialectSql(db)
      const table = `sweep2_${process.pid}`
      await createLoginsTable(db, table, [...Array.from({ length: 6 }, (_, i) => [i + 1, `u${i + 1}@example.com`, null] as const), [8, 'alice@example.com', null], [10, 'twin@example.com', null], [11, 'twin@example.com', null]])
      const target = await cliTarget(
        { type: 'sql', dialect: db.dialect, url: db.reader.url, table, key: 'id', updated_at: 'updated_at', safety_lag_seconds: 1, poll_interval_ms: 100, columns: { email: 'email', username: 'username' }, deletes: { policy: 'disable', max_per_second: 2 } },
        { sink: { batch: { linger_ms: 20 } } },
      )
      const store = target.emulator.store
      const status = (n: number) => store.findByLoginId('email', `u${n}@example.com`)?.status
      const report = () => readFileSync(join(target.dir, 'state', 'test.report.ndjson'), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { source_key: string; outcome: string; code?: string })
      try {
        expect((await runCli(['backfill', '--config', target.configPath])).code).toBe(0)
        const alice = store.findByLoginId('email', 'alice@example.com')!
        const twin = store.findByLoginId('email', 'twin@example.com')!
        // Alice's account is deleted and registered again with the same email, and no sync has read
        // row 9 yet; of two rows sharing an email (one imported, the other superseded in its job),
        // the one the ledger holds is deleted.
        await db.query(`DELETE FROM ${table} WHERE id = 8`)
        await db.query(`INSERT INTO ${table} VALUES (9, 'alice@example.com', NULL, ${d.nowPlus(0)})`)
        const known = (await runCli(['logins', 'show', '--config', target.configPath, '10', '11'])).stdout
        const recorded = JSON.parse(known.split('\n').find((line) => line.includes('"known":true')) as string) as { source_key: string }
        await db.query(`DELETE FROM ${table} WHERE id = ${recorded.source_key}`)

        // A signal stops the sweep between users; a second one stops it at once. Both leave the rest to the next sweep.
        await db.query(`DELETE FROM ${table} WHERE id <= 6`)
        const first = await runCli(['sweep', '--config', target.configPath], { killWhen: () => status(1) === 'disabled', signal: 'SIGTERM' })
        expect(first.code, `${first.stdout}\n${first.stderr}`).toBe(75)
        expect(first.stderr).toContain('Stopped before every missing row was swept')
        // The users rows still in the table hold are kept first, with no call to Authgear.
        expect(first.stdout).toContain('8 of them no longer in the table (2 of those name users that rows still in the table hold, and are kept)')
        expect(first.stdout).toMatch(/skipped \(delete_shared 2\)/)
        // At most the user being changed when the signal came follows the first.
        expect([2, 3, 4, 5, 6].filter((n) => status(n) === 'disabled').length).toBeLessThanOrEqual(1)
        expect(status(3)).toBe('normal')
        const second = await runCli(['sweep', '--config', target.configPath], { killWhen: () => status(3) === 'disabled', signal: 'SIGTERM', times: 2 })
        expect(second.code, `${second.stdout}\n${second.stderr}`).toBe(75)
        expect([5, 6].map(status)).toEqual(['normal', 'normal'])

        // While the sweep works on the users before them, row 6 comes back, and u5 registers again as row 16.
        const third = runCli(['sweep', '--config', target.configPath])
        while (status(4) !== 'disabled') await sleep(20)
        await db.query(`INSERT INTO ${table} VALUES (6, 'u6@example.com', NULL, ${d.nowPlus(0)}), (16, 'u5@example.com', NULL, ${d.nowPlus(0)})`)
        const swept = await third
        expect(swept.code, swept.stderr).toBe(0)
        // The users of keys 8 and the twin's again (their keeping rows are not imported yet), and u5's.
        expect(swept.stdout, swept.stdout).toMatch(/skipped \(delete_shared 3, delete_row_present 1\)/)
        expect([1, 2, 3, 4].map(status)).toEqual(Array(4).fill('disabled'))
        expect([5, 6].map(status)).toEqual(['normal', 'normal'])
        expect(store.findByLoginId('email', 'alice@example.com')).toMatchObject({ id: alice.id, status: 'normal' })
        expect(store.findByLoginId('email', 'twin@example.com')).toMatchObject({ id: twin.id, status: 'normal' })
        expect(report().filter((line) => line.source_key === '8').at(-1)).toMatchObject({ outcome: 'skipped', code: 'delete_shared' })
        // The report line names the row that keeps the user.
        expect((report().filter((line) => line.source_key === '8').at(-1) as { warnings?: string[] }).warnings?.join(' ')).toMatch(/the row \S+ id=9, which is in the table/)
        // A gone key stays while no key the ledger holds follows its user: once the keeping rows
        // are imported, theirs do, and the gone keys go.
        const kept = await runCli(['sweep', '--config', target.configPath])
        expect(kept.stdout).toContain('3 of them no longer in the table (3 of those name users that rows still in the table hold, and are kept)')
        expect((await runCli(['backfill', '--from-start', '--config', target.configPath])).code).toBe(0)
        expect((await runCli(['sweep', '--config', target.configPath])).stdout).toContain('3 of them no longer in the table (3 of those')
        const last = await runCli(['sweep', '--config', target.configPath])
        expect(last.stdout).toContain('0 of them no longer in the table')
      } finally {
        await target.close()
      }
    })

    it('`gearbridge sweep` keeps a user that a row the mapping refuses names, or that has a login ID of a row in the table', async () => {
      const db = database()
      const d = dialectSql(db)
      const table = `sweep3_${process.pid}`
      await db.query(`CREATE TABLE ${table} (id integer PRIMARY KEY, email varchar(100) NULL, phone varchar(40) NULL, pw varchar(100) NULL, updated_at ${d.timestamp} NOT NULL)`)
      await db.query(`INSERT INTO ${table} VALUES (1, 'ann@example.com', NULL, NULL, ${d.nowPlus(-3_600_000)}), (10, 'twin@example.com', NULL, NULL, ${d.nowPlus(-3_600_000)})`)
      const target = await cliTarget(
        { type: 'sql', dialect: db.dialect, url: db.reader.url, table, key: 'id', updated_at: 'updated_at', safety_lag_seconds: 1, poll_interval_ms: 100, columns: { email: 'email', phone_number: 'phone', password_hash: 'pw' }, deletes: { policy: 'delete', max_per_second: 100 } },
        { sink: { batch: { linger_ms: 20 } }, mapping: { default_phone_region: 'US', passwords: { unknown: 'dead_letter' } } },
      )
      const store = target.emulator.store
      const report = () => readFileSync(join(target.dir, 'state', 'test.report.ndjson'), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { source_key: string; outcome: string; code?: string })
      try {
        expect((await runCli(['backfill', '--config', target.configPath])).code).toBe(0)
        const ann = store.findByLoginId('email', 'ann@example.com')!
        const twin = store.findByLoginId('email', 'twin@example.com')!
        // Ann adds her phone in Authgear; row 3, known by that phone alone, is then imported onto her user (skipped).
        ;(store as UserStore).setLoginId(ann, 'phone', '+14155552671', true)
        await db.query(`INSERT INTO ${table} VALUES (3, NULL, '+14155552671', NULL, ${d.nowPlus(0)})`)
        // Row 11 carries the twin's email, but a hash the config refuses: it is never imported.
        await db.query(`INSERT INTO ${table} VALUES (11, 'twin@example.com', NULL, 'definitely-not-a-hash-format', ${d.nowPlus(0)})`)
        const sync = await runCli(['sync', '--config', target.configPath], { killWhen: () => report().some((line) => line.source_key === '3') && report().some((line) => line.source_key === '11'), signal: 'SIGTERM' })
        expect(sync.code, sync.stderr).toBe(0)
        expect(report().find((line) => line.source_key === '3')).toMatchObject({ outcome: 'skipped' })
        expect(report().find((line) => line.source_key === '11')).toMatchObject({ outcome: 'rejected' })
        await db.query(`DELETE FROM ${table} WHERE id IN (1, 10)`)

        const swept = await runCli(['sweep', '--config', target.configPath])
        expect(swept.code, swept.stderr).toBe(0)
        expect(swept.stdout).toContain('2 of them no longer in the table (1 of those name users that rows still in the table hold, and are kept)')
        expect(swept.stdout).toContain('swept 2 of 2: 0 deleted, 0 disabled, 2 skipped (delete_shared 2), 0 failed')
        expect(store.findByLoginId('email', 'ann@example.com')?.id).toBe(ann.id)
        expect(store.findByLoginId('email', 'twin@example.com')?.id).toBe(twin.id)
        expect(report().filter((line) => line.source_key === '1').at(-1)).toMatchObject({ outcome: 'skipped', code: 'delete_shared' })
        // Row 3's key follows Ann's user now; the twin's is kept by row 11, which is never imported:
        // its key stays, so the user is swept once row 11 is deleted too.
        expect((await runCli(['sweep', '--config', target.configPath])).stdout).toContain('1 of them no longer in the table (1 of those name users that rows still in the table hold, and are kept)')
        await db.query(`DELETE FROM ${table} WHERE id = 11`)
        expect((await runCli(['sweep', '--config', target.configPath])).stdout).toContain('swept 1 of 1: 1 deleted')
        expect(store.findByLoginId('email', 'twin@example.com')).toBeUndefined()
        expect(store.findByLoginId('email', 'ann@example.com')?.id).toBe(ann.id)
      } finally {
        await target.close()
      }
    })

    it('the login ledger: a run refuses one kept for another source or project until it is adopted or deleted; a skip records only the identifier Authgear holds', async () => {
      const db = database()
      const table = `ledgerowner_${process.pid}`
      await createLoginsTable(db, table, [[1, 'cat@example.com', null], [2, 'dan@example.com', 'dan']])
      const source = { type: 'sql', dialect: db.dialect, url: db.reader.url, table, key: 'id', updated_at: 'updated_at', columns: { email: 'email', username: 'username' } }
      const staging = await cliTarget(source, { sink: { upsert: false, batch: { linger_ms: 20 } } })
      const production = await cliTarget(source, { sink: { upsert: false, batch: { linger_ms: 20 } } })
      try {
        expect((await runCli(['backfill', '--config', staging.configPath])).code).toBe(0)
        await db.query(`UPDATE ${table} SET email = 'kat@example.com' WHERE id = 1`)
        // Going live: the same config and state pointed at another project, which has none of these users.
        const target = parse(readFileSync(production.configPath, 'utf8')) as { sink: Record<string, unknown> }
        writeFileSync(join(staging.dir, 'admin-key.pem'), readFileSync(join(production.dir, 'admin-key.pem')))
        editConfig(staging.configPath, (config) => Object.assign(config['sink']!, { endpoint: target.sink['endpoint'], key_id: target.sink['key_id'] }))
        // A run refuses a ledger kept for another project: only the operator knows whether its keys name the same users.
        const dry = await runCli(['validate', '--config', staging.configPath])
        expect(dry.stdout).toMatch(/2 records read, 2 would be sent, 0 would be dead-lettered/)
        expect(dry.stdout).toContain('a run refuses to start: the login ledger')
        const refused = await runCli(['backfill', '--from-start', '--config', staging.configPath])
        expect(refused.code).toBe(78)
        expect(refused.stderr).toContain('was kept for another source table or Authgear project: sink.endpoint (its host) changed since it was written')
        expect(refused.stderr).toContain('gearbridge logins adopt --config')
        expect(production.emulator.store.count()).toBe(0)
        const ledgerFile = join(staging.dir, 'state', 'test.logins.sqlite')
        for (const suffix of ['', '-wal', '-shm']) rmSync(`${ledgerFile}${suffix}`, { force: true })
        const live = await runCli(['backfill', '--from-start', '--config', staging.configPath])
        expect(live.code, live.stderr).toBe(0)
        expect(production.emulator.store.findByLoginId('email', 'kat@example.com')).toBeDefined()
        expect(production.emulator.store.count()).toBe(2)

        // The same users under an edited source (a query instead of the table): adopted, and followed as before.
        editConfig(staging.configPath, (config) => {
          delete config['source']!['table']
          config['source']!['query'] = `SELECT id, email, username, updated_at FROM ${table}`
        })
        expect((await runCli(['backfill', '--from-start', '--config', staging.configPath])).code).toBe(78)
        const adopt = await runCli(['logins', 'adopt', '--config', staging.configPath])
        expect(adopt.code, adopt.stderr).toBe(0)
        expect(adopt.stdout).toContain('(it was kept before source.table, source.query changed)')
        // Adopted again: it is this config's already, and says so.
        const again = await runCli(['logins', 'adopt', '--config', staging.configPath])
        expect(again.code, again.stderr).toBe(0)
        expect(again.stdout).toContain("is already this config's: nothing changed")
        expect((await runCli(['backfill', '--from-start', '--config', staging.configPath])).code).toBe(0)

        // Without upsert a user Authgear has is skipped as it is: the ledger learns only the login ID it was found by.
        await db.query(`UPDATE ${table} SET username = 'danny' WHERE id = 2`)
        editConfig(staging.configPath, (config) => (config['state']!['login_ledger'] = false))
        await runCli(['backfill', '--from-start', '--config', staging.configPath])
        editConfig(staging.configPath, (config) => (config['state']!['login_ledger'] = true))
        const show = await runCli(['logins', 'forget', '--config', staging.configPath, '--', '2'])
        expect(show.code, show.stderr).toBe(0)
        expect((await runCli(['backfill', '--from-start', '--config', staging.configPath])).code).toBe(0)
        const known = await runCli(['logins', 'show', '--config', staging.configPath, '--', '2'])
        expect(JSON.parse(known.stdout) as Record<string, unknown>).toMatchObject({ source_key: '2', known: true, email: 'dan@example.com' })
        expect(JSON.parse(known.stdout) as Record<string, unknown>).not.toHaveProperty('preferred_username')
        // Authgear's user still has username dan: a changed email is not matched by danny, which would create a second user.
        await db.query(`UPDATE ${table} SET email = 'dan.new@example.com' WHERE id = 2`)
        const moved = await runCli(['backfill', '--from-start', '--config', staging.configPath])
        expect(moved.code).toBe(3)
        expect(production.emulator.store.count()).toBe(2)
      } finally {
        await staging.close()
        await production.close()
      }
    })

    it('the login ledger: a version read while an earlier one is in flight is judged by that one\'s outcome; an outcome is written before any checkpoint save', async () => {
      const db = database()
      const d = dialectSql(db)
      const table = `ledgerflight_${process.pid}`
      await db.query(`CREATE TABLE ${table} (id integer PRIMARY KEY, email varchar(100) NULL, username varchar(100) NULL, roles varchar(100) NULL, updated_at ${d.timestamp} NOT NULL)`)
      await db.query(`INSERT INTO ${table} VALUES (1, 'ann@example.com', 'ann', 'staff', ${d.nowPlus(-3_600_000)})`)
      const target = await cliTarget(
        { type: 'sql', dialect: db.dialect, url: db.reader.url, table, key: 'id', updated_at: 'updated_at', columns: { email: 'email', username: 'username', roles: 'roles' }, poll_interval_ms: 100, safety_lag_seconds: 1 },
        { emulator: { roles: ['staff'] }, sink: { upsert: true, batch: { linger_ms: 20 } } },
      )
      const ledgerPath = join(target.dir, 'state', 'test.logins.sqlite')
      const ledgerEmail = (): unknown => {
        try {
          const ledger = new LoginLedger(ledgerPath, { readOnly: true })
          try {
            return ledger.lookup('1')?.email
          } finally {
            ledger.close()
          }
        } catch {
          return undefined
        }
      }
      try {
        expect((await runCli(['backfill', '--config', target.configPath])).code).toBe(0)
        const store = target.emulator.store
        const ann = store.findByLoginId('email', 'ann@example.com')!.id
        // v1 changes the username and names a role Authgear does not have: sent by the unchanged email, it fails.
        target.emulator.faults.latency_ms = 1500
        const jobs = target.emulator.jobs.jobsCreated
        await db.query(`UPDATE ${table} SET username = 'annie', roles = 'bogus', updated_at = ${d.nowPlus(0)} WHERE id = 1`)
        let changed = false
        const deadLetters = join(target.dir, 'state', 'test.dead-letter.ndjson')
        const sync = runCli(['sync', '--config', target.configPath], { killWhen: () => changed && existsSync(deadLetters) && readFileSync(deadLetters, 'utf8').split('\n').filter(Boolean).length >= 2, signal: 'SIGTERM' })
        while (target.emulator.jobs.jobsCreated === jobs) await sleep(20)
        // v2, read while v1's job runs: a new email, and the role fixed.
        await db.query(`UPDATE ${table} SET email = 'ann.new@example.com', roles = 'staff', updated_at = ${d.nowPlus(0)} WHERE id = 1`)
        changed = true
        const result = await sync
        expect(result.code, result.stderr).toBe(0)
        // Judged against what Authgear kept (ann, ann@example.com): no login ID of v2 is one of them, so no second user.
        expect(store.count()).toBe(1)
        expect(store.get(ann)?.email?.value).toBe('ann@example.com')
        const dead = readFileSync(deadLetters, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { code: string; message: string })
        // v1 refused by Authgear, then v2 refused here.
        expect(dead).toHaveLength(2)
        expect(dead[1]).toMatchObject({ code: 'identifier_changed', message: expect.stringContaining('email changed from ann@example.com to ann.new@example.com') })

        // A kill -9 after an outcome, long before the next checkpoint save: the ledger has the outcome all the same.
        target.emulator.faults.latency_ms = 0
        editConfig(target.configPath, (config) => (config['state']!['checkpoint_interval_ms'] = 600_000))
        await db.query(`UPDATE ${table} SET email = 'ann.new@example.com', username = 'ann', roles = 'staff', updated_at = ${d.nowPlus(0)} WHERE id = 1`)
        const killed = await runCli(['sync', '--config', target.configPath], { killWhen: () => ledgerEmail() === 'ann.new@example.com', signal: 'SIGKILL' })
        expect(killed.signal).toBe('SIGKILL')
        await db.query(`UPDATE ${table} SET username = 'annie', updated_at = ${d.nowPlus(0)} WHERE id = 1`)
        const again = await runCli(['sync', '--config', target.configPath], { killWhen: () => store.get(ann)?.username?.value === 'annie', signal: 'SIGTERM' })
        expect(again.code, again.stderr).toBe(0)
        expect(store.count()).toBe(1)
        expect(store.get(ann)?.email?.value).toBe('ann.new@example.com')
      } finally {
        await target.close()
      }
    })

    it('the login ledger: a first run refused before importing anything (a mistyped table) does not tie the ledger to its config', async () => {
      const db = database()
      const d = dialectSql(db)
      const table = `ledgertypo_${process.pid}`
      await db.query(`CREATE TABLE ${table} (id integer PRIMARY KEY, email varchar(100) NULL, updated_at ${d.timestamp} NOT NULL)`)
      await db.query(`INSERT INTO ${table} VALUES (1, 'ann@example.com', ${d.nowPlus(-3_600_000)})`)
      const target = await cliTarget({ type: 'sql', dialect: db.dialect, url: db.reader.url, table: `${table}_typo`, key: 'id', updated_at: 'updated_at', columns: { email: 'email' } }, { sink: { batch: { linger_ms: 20 } } })
      try {
        expect((await runCli(['backfill', '--config', target.configPath])).code).toBe(78)
        editConfig(target.configPath, (config) => (config['source']!['table'] = table))
        const fixed = await runCli(['backfill', '--config', target.configPath])
        expect(fixed.code, fixed.stderr).toBe(0)
        expect(target.emulator.store.count()).toBe(1)
      } finally {
        await target.close()
      }
    })

    it('`backfill --retry-failed` sends only the rows whose last outcome was a dead letter, and the backfill then counts none', async () => {
      const db = database()
      const table = `retry_${process.pid}`
      await createLoginsTable(db, table, [[1, 'ann@example.com', 'ann'], [2, 'not-an-email', 'bob'], [3, 'cat@example.com', 'cat'], [4, 'dan.example.com', 'dan']])
      const target = await cliTarget({ type: 'sql', dialect: db.dialect, url: db.reader.url, table, key: 'id', updated_at: 'updated_at', columns: { email: 'email', username: 'username' } }, { sink: { batch: { linger_ms: 20 } }, emulator: { quota: { user_import: [{ quota: 1000, period: 'day' }] } } })
      try {
        // Import quota is spent per record sent: what a retry saves.
        const used = () => target.emulator.quota.used('user_import', 'day')
        const first = await runCli(['backfill', '--config', target.configPath])
        expect(first.code).toBe(3)
        expect(target.emulator.store.count()).toBe(2)
        const sent = used()
        // Row 2 is fixed; row 4 is not.
        await db.query(`UPDATE ${table} SET email = 'bob@example.com' WHERE id = 2`)
        const retry = await runCli(['backfill', '--retry-failed', '--config', target.configPath])
        expect(retry.code, retry.stderr).toBe(3)
        expect(retry.stdout).toMatch(/backfill --retry-failed: complete/)
        expect(retry.stdout).toMatch(/not retried 2 /)
        expect(retry.stdout).toMatch(/inserted\s+1\n/)
        expect(retry.stdout).toMatch(/rejected\s+1\n/)
        expect(retry.stdout).toMatch(/still dead-lettered {2}1 /)
        // Only row 2 reached Authgear; row 4 was refused again by the mapping.
        expect(used() - sent).toBe(1)
        expect(target.emulator.store.count()).toBe(3)
        const report = readFileSync(join(target.dir, 'state', 'test.report.ndjson'), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { source_key: string; outcome: string })
        expect(report.filter((line) => line.source_key === '2').map((line) => line.outcome)).toEqual(['rejected', 'inserted'])
        // The plain backfill still ends with exit 3, for row 4 alone.
        await db.query(`UPDATE ${table} SET email = 'dan@example.com' WHERE id = 4`)
        const again = await runCli(['backfill', '--retry-failed', '--config', target.configPath])
        expect(again.code, again.stderr).toBe(0)
        expect(again.stdout).toMatch(/not retried 3 /)
        expect(used() - sent).toBe(2)
        expect(target.emulator.store.count()).toBe(4)
        const plain = await runCli(['backfill', '--config', target.configPath])
        expect(plain.code, plain.stdout).toBe(0)
        expect(plain.stdout).toMatch(/already complete/)
        expect(plain.stdout).not.toMatch(/dead-lettered by earlier runs/)
        // Nothing left to retry: the source is read, nothing is sent.
        const none = await runCli(['backfill', '--retry-failed', '--config', target.configPath])
        expect(none.code).toBe(0)
        expect(none.stdout).toMatch(/not retried 4 /)
        expect(used() - sent).toBe(2)
      } finally {
        await target.close()
      }
    })

    it('with state.login_ledger: false keeps no ledger, and a changed email is imported as a second user', async () => {
      const db = database()
      const table = `noledger_${process.pid}`
      await createLoginsTable(db, table, [[1, 'ann@example.com', 'ann']])
      const target = await cliTarget({ type: 'sql', dialect: db.dialect, url: db.reader.url, table, key: 'id', updated_at: 'updated_at', columns: { email: 'email' } }, { sink: { upsert: true, batch: { linger_ms: 20 } } })
      try {
        editConfig(target.configPath, (config) => (config['state']!['login_ledger'] = false))
        expect((await runCli(['backfill', '--config', target.configPath])).code).toBe(0)
        await db.query(`UPDATE ${table} SET email = 'ann.new@example.com' WHERE id = 1`)
        expect((await runCli(['backfill', '--from-start', '--config', target.configPath])).code).toBe(0)
        expect(target.emulator.store.count()).toBe(2)
        expect(existsSync(join(target.dir, 'state', 'test.logins.sqlite'))).toBe(false)
      } finally {
        await target.close()
      }
    })

    it('`backfill --since` reads only the rows changed at or after that time, by cursor, to the current end', async () => {
      const db = database()
      const d = dialectSql(db)
      const table = `since_${process.pid}`
      await db.query(`CREATE TABLE ${table} (id integer PRIMARY KEY, email varchar(100) NOT NULL, updated_at ${d.timestamp} NOT NULL)`)
      const values = Array.from({ length: 50 }, (_, i) => `(${i + 1}, 'u${i + 1}@example.com', ${d.nowPlus(-(50 - i) * 60_000)})`).join(', ')
      await db.query(`INSERT INTO ${table} VALUES ${values}`)
      // Row 51 changed just now, inside the safety lag: a transaction still open could yet commit
      // a row with an older timestamp, so the saved cursor must not pass it.
      await db.query(`INSERT INTO ${table} VALUES (51, 'u51@example.com', ${d.nowPlus(0)})`)
      // Row n was changed (51 - n) minutes ago: rows 31…50 are the last 20 minutes.
      const since = new Date(Date.now() - 20.5 * 60_000)
      const source = createSqlSource(sqlConfig(db, { table, updated_at: 'updated_at', page_size: 7, columns: { email: 'email' } }), { baseDir: process.cwd(), mode: 'backfill', since })
      try {
        const batches = await readAll(source, undefined)
        expect(keysOf(batches)).toEqual(Array.from({ length: 21 }, (_, i) => String(31 + i)))
        expect(batches.at(-1)?.position).toMatchObject({ mode: 'cursor', key: 50 })
      } finally {
        await source.close()
      }
    })

    it('a `backfill --since` stopped by the quota says to continue without --since, which goes on from its checkpoint', async () => {
      const db = database()
      const d = dialectSql(db)
      const table = `since_quota_${process.pid}`
      await db.query(`CREATE TABLE ${table} (id integer PRIMARY KEY, email varchar(100) NOT NULL, updated_at ${d.timestamp} NOT NULL)`)
      await db.query(`INSERT INTO ${table} VALUES ${Array.from({ length: 300 }, (_, i) => `(${i + 1}, 'q${i + 1}@example.com', ${d.nowPlus(-(300 - i) * 60_000)})`).join(', ')}`)
      const target = await cliTarget({ type: 'sql', dialect: db.dialect, url: db.reader.url, table, key: 'id', updated_at: 'updated_at', page_size: 50, columns: { email: 'email' } }, { emulator: { quota: { user_import: [{ quota: 100, period: 'day' }] } }, sink: { batch: { max_records: 50 }, max_in_flight: 1 } })
      try {
        const stopped = await runCli(['backfill', '--config', target.configPath, '--since', '2000-01-01T00:00:00Z'])
        expect(stopped.code, stopped.stderr).toBe(75)
        expect(stopped.stderr).toContain('Run it again without --since to continue.')
        target.emulator.quota.setLimits('user_import', [{ quota: 10_000, period: 'day' }])
        const resumed = await runCli(['backfill', '--config', target.configPath])
        expect(resumed.code, resumed.stderr).toBe(0)
        expect(target.emulator.store.count()).toBe(300)
      } finally {
        await target.close()
      }
    })

    it('refuses backfill --since over an unfinished snapshot, whose remaining rows it would never read', async () => {
      const db = database()
      const d = dialectSql(db)
      const table = `since_snapshot_${process.pid}`
      await db.query(`CREATE TABLE ${table} (id integer PRIMARY KEY, email varchar(100) NOT NULL, updated_at ${d.timestamp} NULL)`)
      await db.query(`INSERT INTO ${table} VALUES (1, 'a@example.com', ${d.nowPlus(-60_000)}), (2, 'b@example.com', NULL)`)
      const source = createSqlSource(sqlConfig(db, { table, updated_at: 'updated_at', columns: { email: 'email' } }), { baseDir: process.cwd(), mode: 'backfill', since: new Date(Date.now() - 3_600_000) })
      try {
        await expect(readAll(source, { mode: 'snapshot', key: 1, changes_since: '2026-01-01 00:00:00+00' })).rejects.toThrow('backfill --since cannot start while an unfinished snapshot is saved')
        // Nor over a saved cursor, which would decide where reading starts and leave --since unheeded.
        await expect(readAll(source, { mode: 'cursor', updated_at: '2026-01-01 00:00:00+00', key: 1 })).rejects.toThrow('backfill --since cannot start from a saved checkpoint')
      } finally {
        await source.close()
      }
    })

    it('reads BIT(1) flags as booleans: soft-deleted rows skipped, the others kept with their flags', async () => {
      const db = database()
      const table = `bit_flags_${process.pid}`
      await db.query(`CREATE TABLE ${table} (id integer PRIMARY KEY, email varchar(100) NOT NULL, is_deleted bit(1) NOT NULL, active bit(1) NULL)`)
      const bit = (on: boolean) => (db.dialect === 'postgres' ? `B'${on ? 1 : 0}'` : `b'${on ? 1 : 0}'`)
      await db.query(`INSERT INTO ${table} VALUES (1, 'a@example.com', ${bit(false)}, ${bit(true)}), (2, 'b@example.com', ${bit(true)}, ${bit(true)}), (3, 'c@example.com', ${bit(false)}, ${bit(false)}), (4, 'd@example.com', ${bit(false)}, NULL)`)
      const records = (await snapshotOf(db, { table, soft_delete: { column: 'is_deleted', mode: 'skip' } })).flatMap((batch) => batch.records)
      expect(records.map((record) => [record.key, record.kind === 'data' ? [record.data['is_deleted'], record.data['active']] : record.kind])).toEqual([
        ['1', db.dialect === 'postgres' ? ['0', '1'] : [false, true]],
        ['3', db.dialect === 'postgres' ? ['0', '0'] : [false, false]],
        ['4', db.dialect === 'postgres' ? ['0', null] : [false, null]],
      ])
    })

    // MariaDB casts such values with a warning, not an error: it quotes none.
    it.runIf(dialect === 'postgres')('leaves the row values a database error quotes out of the message (PostgreSQL quotes the value a cast failed on: here a password hash)', async () => {
      const db = database()
      const { users } = await createLegacyTables(db, `${process.pid}_leak`)
      // A cast of the hash, a date format applied to it (quoting its first characters), a number out of range.
      for (const [failing, expected, value] of [
        ['password_hash::int', '[22P02]: invalid input syntax for type integer: "…"', '$2b$'],
        [`to_timestamp(password_hash, 'YYYY')`, '[22007]: invalid value "…"', '$2b$'],
        [`(id::text || '9876543210')::int`, '[22003]: value "…" is out of range for type integer', '9876543210'],
      ] as const) {
        const target = await cliTarget({ type: 'sql', dialect: db.dialect, url: db.reader.url, key: 'id', query: `SELECT id, email, password_hash, ${failing} AS n FROM ${users}`, columns: { email: 'email', password_hash: 'password_hash' } })
        try {
          const result = await runCli(['backfill', '--config', target.configPath])
          expect(result.code, result.stderr).toBe(1)
          expect(result.stderr).toContain(expected)
          expect(result.stdout + result.stderr).not.toContain(value)
          for (const hash of [bcrypt, argon2, django, phpass, unknownValue]) expect(result.stdout + result.stderr).not.toContain(hash)
        } finally {
          await target.close()
        }
      }
    })

    // PostgreSQL has no zero date.
    it.runIf(dialect === 'mysql')('reads MySQL zero dates (0000-00-00, a NOT NULL column never set) as NULL: such rows are neither soft-deleted nor verified', async () => {
      const db = database()
      const table = `zero_dates_${process.pid}`
      await db.query(`SET STATEMENT sql_mode='' FOR CREATE TABLE ${table} (id integer PRIMARY KEY, email varchar(100) NOT NULL, confirmed_at DATETIME NOT NULL DEFAULT '0000-00-00 00:00:00', deleted_at DATETIME NOT NULL DEFAULT '0000-00-00 00:00:00', born DATE NOT NULL DEFAULT '0000-00-00')`)
      await db.query(`SET STATEMENT sql_mode='' FOR INSERT INTO ${table} (id, email, confirmed_at, deleted_at) VALUES (1, 'a@example.com', DEFAULT, DEFAULT), (2, 'b@example.com', '2024-05-01 10:00:00', DEFAULT), (3, 'c@example.com', DEFAULT, '2024-06-01 00:00:00')`)
      const records = (await snapshotOf(db, { table, soft_delete: { column: 'deleted_at', mode: 'skip' } })).flatMap((batch) => batch.records)
      expect(records.map((record) => [record.key, record.kind === 'data' ? [record.data['confirmed_at'], record.data['deleted_at'], record.data['born']] : record.kind])).toEqual([
        ['1', [null, null, null]],
        ['2', ['2024-05-01T10:00:00Z', null, null]],
      ])
    })

    // DateStyle is PostgreSQL's setting; MariaDB always writes dates year first.
    it.runIf(dialect === 'postgres')('reads timestamps the same whatever DateStyle the server or role gives the session', async () => {
      const db = database()
      const table = `date_style_${process.pid}`
      await db.query(`CREATE TABLE ${table} (id integer PRIMARY KEY, email varchar(100) NOT NULL, valid_until timestamptz NULL, confirmed_at timestamp NULL)`)
      await db.query(`INSERT INTO ${table} VALUES (1, 'a@example.com', '2030-02-01 00:00:00+00', '2024-02-03 10:00:00')`)
      // A day-first style, as a role or database default would set it.
      const url = `${db.reader.url}?options=${encodeURIComponent('-c DateStyle=SQL,DMY')}`
      const source = createSqlSource(sqlConfig(db, { url, host: undefined, port: undefined, database: undefined, user: undefined, password: undefined, table, columns: { email: 'email' } }), { baseDir: process.cwd(), mode: 'backfill' })
      try {
        const records = (await readAll(source, undefined)).flatMap((batch) => batch.records)
        expect(records.map((record) => record.kind === 'data' && [new Date(record.data['valid_until'] as string).toISOString(), new Date(`${String(record.data['confirmed_at'])}`.replace(/Z?$/, 'Z')).toISOString()])).toEqual([['2030-02-01T00:00:00.000Z', '2024-02-03T10:00:00.000Z']])
      } finally {
        await source.close()
      }
    })

    it('dead-letters rows whose key is NULL and never saves a NULL key as a position', async () => {
      const db = database()
      const table = `null_key_${process.pid}`
      await db.query(`CREATE TABLE ${table} (id integer NULL UNIQUE, email varchar(100) NOT NULL)`)
      await db.query(`INSERT INTO ${table} VALUES (NULL, 'n1@example.com'), (1, 'a@example.com'), (2, 'b@example.com'), (3, 'c@example.com'), (4, 'd@example.com'), (NULL, 'n2@example.com')`)
      const batches = await snapshotOf(db, { table })
      const records = batches.flatMap((batch) => batch.records)
      expect(records.map((record) => [record.key, record.kind === 'unreadable' ? record.code : record.kind])).toEqual([
        ['1', 'data'], ['2', 'data'], ['3', 'data'], ['4', 'data'],
        [`${table} id=NULL #1`, 'null_key'], [`${table} id=NULL #2`, 'null_key'],
      ])
      // MariaDB sorts NULL first: its key was saved as the text "null", which the next page query could not compare.
      expect(batches.map((batch) => batch.position)).not.toContainEqual(expect.objectContaining({ key: 'null' }))
      expect(batches.at(-1)?.position).toMatchObject({ mode: 'snapshot', key: 4 })
    })

    it('says how many NULL-key rows were neither read nor dead-lettered when there are more than it dead-letters', async () => {
      const db = database()
      const table = `many_null_keys_${process.pid}`
      await db.query(`CREATE TABLE ${table} (id integer NULL, email varchar(100) NOT NULL)`)
      const values = Array.from({ length: 1003 }, (_, i) => `(NULL, 'n${i}@example.com')`).join(', ')
      await db.query(`INSERT INTO ${table} VALUES (1, 'a@example.com'), ${values}`)
      const source = createSqlSource(sqlConfig(db, { table, page_size: 500, columns: { email: 'email' } }), { baseDir: process.cwd(), mode: 'backfill' })
      try {
        const records = (await readAll(source, undefined)).flatMap((batch) => batch.records)
        expect(records.filter((record) => record.kind === 'unreadable')).toHaveLength(1000)
        expect(source.warnings?.()).toEqual([`1003 rows of ${table} have a NULL id: the first 1000 are dead-lettered as null_key, the other 3 are neither read nor dead-lettered; give them a key (or choose a key column that is never NULL) and run again`])
      } finally {
        await source.close()
      }
    })

    it('refuses a key that rows share, as the database compares keys, before anything is read', async () => {
      const db = database()
      const numbers = `shared_key_${process.pid}`
      await db.query(`CREATE TABLE ${numbers} (id integer NOT NULL, email varchar(100) NOT NULL)`)
      await db.query(`INSERT INTO ${numbers} VALUES (1, 'a@example.com'), (2, 'b@example.com'), (2, 'b2@example.com'), (3, 'c@example.com')`)
      await expect(snapshotOf(db, { table: numbers })).rejects.toThrow(`source.key: id is not unique in ${numbers} (id=2 (2 rows))`)
      // Keyed by email: under MariaDB's case-insensitive collation Bob@ and bob@ are one key, and `key > last` skipped one of them.
      const emails = `email_key_${process.pid}`
      await db.query(`CREATE TABLE ${emails} (email varchar(100) NOT NULL, name varchar(100) NULL)`)
      await db.query(`INSERT INTO ${emails} VALUES ('a@example.com', 'A'), ('Bob@example.com', 'B1'), ('bob@example.com', 'B2'), ('c@example.com', 'C')`)
      const byEmail = snapshotOf(db, { table: emails, key: 'email' })
      if (db.dialect === 'postgres') expect(keysOf(await byEmail)).toEqual(['Bob@example.com', 'a@example.com', 'bob@example.com', 'c@example.com'])
      else await expect(byEmail).rejects.toThrow(/source\.key: email is not unique in email_key_\d+ \(email=(Bob|bob)@example\.com \(2 rows\)\)/)
    })

    it('refuses a key that rows share in a sync and a backfill --since too, which page by (updated_at, key)', async () => {
      const db = database()
      const d = dialectSql(db)
      const table = `shared_cursor_key_${process.pid}`
      await db.query(`CREATE TABLE ${table} (id integer PRIMARY KEY, login varchar(50) NOT NULL, email varchar(100) NOT NULL, updated_at ${d.timestamp} NOT NULL)`)
      await db.query(`INSERT INTO ${table} VALUES (1, 'ann', 'a1@example.com', ${d.nowPlus(-120_000)}), (2, 'ann', 'a2@example.com', ${d.nowPlus(-120_000)}), (3, 'cy', 'c@example.com', ${d.nowPlus(-120_000)})`)
      for (const mode of ['sync', 'backfill'] as const) {
        const source = createSqlSource(sqlConfig(db, { table, key: 'login', updated_at: 'updated_at', page_size: 1, safety_lag_seconds: 1, columns: { email: 'email' } }), { baseDir: process.cwd(), mode, ...(mode === 'backfill' ? { since: new Date(Date.now() - 3_600_000) } : {}) })
        try {
          await expect(readAll(source, undefined), mode).rejects.toThrow(`source.key: login is not unique in ${table} (login=ann (2 rows))`)
        } finally {
          await source.close()
        }
      }
    })

    it('refuses a binary key before anything is read, as pages by it would skip or repeat rows', async () => {
      const db = database()
      const table = `binary_key_${process.pid}`
      const pg = db.dialect === 'postgres'
      await db.query(`CREATE TABLE ${table} (id ${pg ? 'bytea' : 'BINARY(4)'} PRIMARY KEY, email varchar(100) NOT NULL)`)
      const key = (hex: string) => (pg ? `decode('${hex}', 'hex')` : `UNHEX('${hex}')`)
      await db.query(`INSERT INTO ${table} VALUES (${key('05a10000')}, 'a@example.com'), (${key('3035ffff')}, 'b@example.com'), (${key('ff000000')}, 'c@example.com')`)
      await expect(snapshotOf(db, { table })).rejects.toThrow(/source\.key: id is a binary column/)
    })

    it('retries a lost connection and resumes from the last page with no gap and no duplicate', async () => {
      const db = database()
      const table = `lost_conn_${process.pid}`
      await db.query(`CREATE TABLE ${table} (id integer PRIMARY KEY, email varchar(100) NOT NULL)`)
      const values = Array.from({ length: 2000 }, (_, i) => `(${i + 1}, 'u${i + 1}@example.com')`).join(', ')
      await db.query(`INSERT INTO ${table} VALUES ${values}`)
      const source = createSqlSource(sqlConfig(db, { table, page_size: 100, columns: { email: 'email' } }), { baseDir: process.cwd(), mode: 'backfill' })
      const batches = []
      try {
        for await (const batch of source.read(undefined, context())) {
          batches.push(batch)
          if (batches.length === 3 || batches.length === 11) await db.dropConnections()
        }
      } finally {
        await source.close()
      }
      const keys = keysOf(batches)
      expect(keys.length).toBe(2000)
      expect(new Set(keys).size).toBe(2000)
    })

    it('survives a connection lost while held between two statements: the next statement fails, the process does not crash', async () => {
      const db = database()
      const config = sqlConfig(db, { table: 'information_schema.tables', columns: { email: 'table_name' } })
      const client = new SqlClient(config.dialect, connectionSettings(config, process.cwd()), { readOnly: true })
      try {
        const lost = await client.db.connection().execute(async (connection) => {
          await connection.executeQuery(sql`SELECT 1 AS one`.compile(connection))
          // The connection is checked out and idle when the server drops it: its socket errors with no query waiting.
          await db.dropConnections()
          await sleep(300)
          return connection.executeQuery(sql`SELECT 1 AS one`.compile(connection)).then(() => false, () => true)
        })
        expect(lost).toBe(true)
        expect(await client.rows(sql`SELECT 1 AS one`)).toHaveLength(1)
      } finally {
        await client.close()
      }
    })
  })
}
