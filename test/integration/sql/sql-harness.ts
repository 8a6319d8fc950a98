import { sqlPositionSchema, type SqlPosition } from '../../../connectors/sql/position.ts'
import { sqlSourceConfigSchema, type SqlSourceConfig, type SqlSourceConfigInput } from '../../../connectors/sql/config.ts'
import { createSqlSource } from '../../../connectors/sql/source.ts'
import type { SourceChange, SourceHarness } from '../../conformance/source-suite.ts'
import type { DatabaseService } from '../../services/database-service.ts'

/** SQL snippets that differ between the dialects. */
export function dialectSql(db: DatabaseService) {
  const pg = db.dialect === 'postgres'
  return {
    timestamp: pg ? 'timestamp(6)' : 'DATETIME(6)',
    /** The server's UTC clock plus `ms` milliseconds, as a timestamp without time zone. */
    nowPlus: (ms: number) => (pg ? `((clock_timestamp() AT TIME ZONE 'UTC') + interval '${ms} milliseconds')` : `(UTC_TIMESTAMP(6) + INTERVAL ${ms * 1000} MICROSECOND)`),
    param: (i: number) => (pg ? `$${i}` : '?'),
  }
}

/** Source config for `table` on `db`, read as the read-only user. */
export function sqlConfig(db: DatabaseService, overrides: Partial<SqlSourceConfigInput>): SqlSourceConfig {
  return sqlSourceConfigSchema.parse({
    type: 'sql',
    dialect: db.dialect,
    host: db.host,
    port: db.port,
    database: db.database,
    user: db.reader.user,
    password: db.reader.password,
    key: 'id',
    retry: { max_attempts: 20, base_ms: 50, max_ms: 500 },
    ...overrides,
  })
}

let tableCounter = 0

/** The conformance harness for a SQL source on `db`: a table (id, email, deleted_at, updated_at). */
export function sqlHarness(db: DatabaseService): SourceHarness<SqlPosition> {
  const d = dialectSql(db)
  let table = ''
  return {
    name: db.dialect,
    async reset(count) {
      table = `conf_${process.pid}_${++tableCounter}`
      await db.query(`CREATE TABLE ${table} (id integer PRIMARY KEY, email varchar(200) NOT NULL, deleted_at ${d.timestamp} NULL, updated_at ${d.timestamp} NOT NULL)`)
      await db.query(`CREATE INDEX ${table}_cursor ON ${table} (updated_at, id)`)
      const values = Array.from({ length: count }, (_, i) => `(${i + 1}, 'user${i + 1}@example.com', ${d.nowPlus(-60_000 + i)})`)
      for (let i = 0; i < values.length; i += 1000) await db.query(`INSERT INTO ${table} (id, email, updated_at) VALUES ${values.slice(i, i + 1000).join(', ')}`)
    },
    create({ mode, pageSize }) {
      const config = sqlConfig(db, {
        table,
        updated_at: 'updated_at',
        soft_delete: { column: 'deleted_at', mode: 'disable' },
        page_size: pageSize ?? 1000,
        poll_interval_ms: 100,
        safety_lag_seconds: 3,
      })
      return createSqlSource(config, { baseDir: process.cwd(), mode })
    },
    parsePosition: (value) => sqlPositionSchema.parse(value),
    async apply(change: SourceChange) {
      const at = d.nowPlus(change.atOffsetMs ?? 0)
      if (change.op === 'insert') {
        // One statement: rows of one change share the timestamp exactly.
        const rows = change.keys.map((k) => `(${Number(k)}, 'user${Number(k)}@example.com', ${at})`)
        if (db.dialect === 'postgres') await db.query(`INSERT INTO ${table} (id, email, updated_at) SELECT v.id, v.email, now.t FROM (VALUES ${change.keys.map((k) => `(${Number(k)}, 'user${Number(k)}@example.com')`).join(', ')}) AS v(id, email), (SELECT ${at} AS t) AS now`)
        else {
          await db.query(`SET @t = ${at}`)
          await db.query(`INSERT INTO ${table} (id, email, updated_at) VALUES ${rows.map((r) => r.replace(at, '@t')).join(', ')}`)
        }
      } else if (change.op === 'update') {
        await db.query(`UPDATE ${table} SET email = CONCAT('renamed-', email), updated_at = ${at} WHERE id IN (${change.keys.map(Number).join(', ')})`)
      } else {
        await db.query(`UPDATE ${table} SET deleted_at = ${at}, updated_at = ${at} WHERE id IN (${change.keys.map(Number).join(', ')})`)
      }
    },
    sourceBlock: () => ({
      type: 'sql',
      dialect: db.dialect,
      url: db.reader.url,
      table,
      key: 'id',
      columns: { email: 'email' },
      soft_delete: { column: 'deleted_at', mode: 'disable' },
    }),
    isDeleted: (record) => record.data['deleted_at'] !== null && record.data['deleted_at'] !== undefined,
    version: (record) => `${String(record.data['updated_at'])} ${String(record.data['email'])}`,
  }
}
