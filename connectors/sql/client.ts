import { Kysely, MysqlDialect, PostgresDialect, sql, type CompiledQuery, type RawBuilder } from 'kysely'
import { createPool as createMysqlPool, type Pool as MysqlPool, type PoolOptions, type FieldPacket } from 'mysql2'
import pg from 'pg'
import type { SqlDialect } from './config.ts'
import type { ConnectionSettings } from './connection-options.ts'
import { postgresTypes } from './postgres-types.ts'
import { mysqlTypeCast } from './mysql-types.ts'

/** Session settings applied to every new connection: UTC so timestamps compare and print the same everywhere. */
function sessionStatements(dialect: SqlDialect, readOnly: boolean): string[] {
  // DateStyle ISO: timestamps the driver does not parse (and cursors saved as text) read the same
  // whatever the server's or role's default (`SQL, DMY` would swap day and month).
  if (dialect === 'postgres') return ["SET TIME ZONE 'UTC'", 'SET DateStyle = ISO', ...(readOnly ? ['SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY'] : [])]
  return ["SET time_zone = '+00:00'", ...(readOnly ? ['SET SESSION TRANSACTION READ ONLY'] : [])]
}

/**
 * A connection pool to one database, through kysely, with what the reader needs on top: column
 * names of a relation (which kysely does not expose) and dialect-specific SQL fragments.
 * Concurrency: the reader runs one query at a time; the pool holds at most two connections.
 */
export class SqlClient {
  readonly dialect: SqlDialect
  readonly db: Kysely<Record<string, never>>
  #pg: pg.Pool | undefined
  #mysql: MysqlPool | undefined
  #closed = false

  constructor(dialect: SqlDialect, settings: ConnectionSettings, options: { readOnly: boolean }) {
    this.dialect = dialect
    const statements = sessionStatements(dialect, options.readOnly)
    if (dialect === 'postgres') {
      const pool = new pg.Pool({
        ...(settings.url !== undefined ? { connectionString: settings.url } : {}),
        ...(settings.host !== undefined ? { host: settings.host } : {}),
        ...(settings.url === undefined ? { port: settings.port } : {}),
        ...(settings.database !== undefined ? { database: settings.database } : {}),
        ...(settings.user !== undefined ? { user: settings.user } : {}),
        ...(settings.password !== undefined ? { password: settings.password } : {}),
        ...(settings.tls !== undefined ? { ssl: settings.tls } : {}),
        connectionTimeoutMillis: settings.connectTimeoutMs,
        max: 2,
        types: postgresTypes,
        application_name: 'gearbridge',
      })
      // A client whose server went away emits 'error'; without a listener that would crash the
      // process. The pool listens on idle clients only, and a checked-out client can lose its
      // connection between two statements (a dropped connection in CI did exactly that): the
      // statement that uses it next fails, and the read retries as for any lost connection.
      pool.on('error', () => undefined)
      pool.on('connect', (client) => client.on('error', () => undefined))
      this.#pg = pool
      this.db = new Kysely({ dialect: new PostgresDialect({ pool, onCreateConnection: (c) => run(c, statements) }) })
    } else {
      const base: PoolOptions = {
        ...(settings.host !== undefined ? { host: settings.host, port: settings.port } : {}),
        ...(settings.database !== undefined ? { database: settings.database } : {}),
        ...(settings.user !== undefined ? { user: settings.user } : {}),
        ...(settings.password !== undefined ? { password: settings.password } : {}),
        ...(settings.tls !== undefined ? { ssl: settings.tls as PoolOptions['ssl'] } : {}),
        connectTimeout: settings.connectTimeoutMs,
        connectionLimit: 2,
        supportBigNumbers: true,
        timezone: 'Z',
        dateStrings: ['DATE'],
        typeCast: mysqlTypeCast,
      }
      const pool = settings.url !== undefined ? createMysqlPool({ ...base, uri: settings.url }) : createMysqlPool(base)
      // As for PostgreSQL: a pooled connection that loses its server must not crash the process.
      pool.on('connection', (connection) => connection.on('error', () => undefined))
      this.#mysql = pool
      this.db = new Kysely({ dialect: new MysqlDialect({ pool, onCreateConnection: (c) => run(c, statements) }) })
    }
  }

  /** Runs a query built with kysely's `sql` tag and returns its rows. */
  async rows<R = Record<string, unknown>>(query: RawBuilder<unknown>): Promise<R[]> {
    const result = await this.db.executeQuery<R>(query.compile(this.db) as CompiledQuery<R>)
    return result.rows as R[]
  }

  /** Column names the relation `from` produces (an empty result still carries them). */
  async columnNames(from: RawBuilder<unknown>): Promise<string[]> {
    const compiled = sql`SELECT * FROM ${from} LIMIT 0`.compile(this.db)
    if (this.#pg) {
      const client = await this.#pg.connect()
      try {
        for (const statement of sessionStatements('postgres', true)) await client.query(statement)
        const result = await client.query({ text: compiled.sql, values: [...compiled.parameters] })
        return result.fields.map((f) => f.name)
      } finally {
        client.release()
      }
    }
    const pool = (this.#mysql as MysqlPool).promise()
    const [, fields] = await pool.query(compiled.sql, [...compiled.parameters])
    return (fields as FieldPacket[]).map((f) => f.name)
  }

  /** The column cast to text, as the server prints it: full precision, for cursor values. */
  asText(column: RawBuilder<unknown>): RawBuilder<string> {
    return this.dialect === 'postgres' ? sql<string>`CAST(${column} AS text)` : sql<string>`CAST(${column} AS CHAR)`
  }

  /** The server's clock minus `seconds`, as text comparable with `asText` of a timestamp column. */
  clockMinus(seconds: number): RawBuilder<string> {
    const micros = Math.round(seconds * 1_000_000)
    if (this.dialect === 'postgres') return sql<string>`CAST(clock_timestamp() - make_interval(secs => ${micros / 1_000_000}) AS text)`
    return sql<string>`CAST(NOW(6) - INTERVAL ${sql.lit(micros)} MICROSECOND AS CHAR)`
  }

  /** True (1) when `column` is older than the server's clock minus `seconds`. */
  olderThan(column: RawBuilder<unknown>, seconds: number): RawBuilder<unknown> {
    const micros = Math.round(seconds * 1_000_000)
    if (this.dialect === 'postgres') return sql`CASE WHEN ${column} < clock_timestamp() - make_interval(secs => ${micros / 1_000_000}) THEN 1 ELSE 0 END`
    return sql`CASE WHEN ${column} < NOW(6) - INTERVAL ${sql.lit(micros)} MICROSECOND THEN 1 ELSE 0 END`
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    await this.db.destroy()
    // kysely ends the pool only when it used it; the column probe may have opened it alone.
    const pgPool = this.#pg
    if (pgPool && !pgPool.ended) await pgPool.end().catch(() => undefined)
    const mysqlPool = this.#mysql
    if (mysqlPool) await new Promise<void>((resolve) => mysqlPool.end(() => resolve())).catch(() => undefined)
  }
}

async function run(connection: { executeQuery(q: CompiledQuery): Promise<unknown> }, statements: readonly string[]): Promise<void> {
  for (const statement of statements) await connection.executeQuery({ sql: statement, parameters: [], query: { kind: 'RawNode' } } as unknown as CompiledQuery)
}
