import type { RunContext } from '../../src/core/run-context.ts'
import type { ReadableRecord } from '../../src/core/source-record.ts'
import { SqlClient } from './client.ts'
import type { SqlSourceConfig } from './config.ts'
import { connectionSettings } from './connection-options.ts'
import { sql } from 'kysely'
import { PageQueries, type CursorStart } from './page-query.ts'
import type { SqlKey } from './position.ts'
import { retryingQuery } from './retrying-query.ts'
import { verifyRelation } from './verify-relation.ts'
import { CURSOR_COLUMN, rowToRecord } from './row-record.ts'

/**
 * Every row a SQL source holds now, for `gearbridge sweep`: unlike a backfill's read it keeps
 * soft-deleted rows (they are in the table), and it can ask whether a key is there.
 */
export class SqlTableReader {
  readonly #config: SqlSourceConfig
  readonly #client: SqlClient
  readonly #queries: PageQueries
  readonly #relation: string

  constructor(config: SqlSourceConfig, baseDir: string) {
    this.#config = config
    this.#client = new SqlClient(config.dialect, connectionSettings(config, baseDir), { readOnly: config.read_only })
    this.#queries = new PageQueries(this.#client, config)
    this.#relation = config.table ?? 'query'
  }

  /** Proves the table or query readable, as a run does before its first read (see `verifyRelation`). */
  async verify(ctx: RunContext): Promise<void> {
    await verifyRelation(this.#client, this.#queries, this.#config, ctx)
  }

  /**
   * The rows, a keyset page (`page_size`) at a time, as records (the keys as a read gives them).
   * Ends early, without an error, when `ctx.signal` aborts: the caller must then not take what it
   * saw for the whole table.
   */
  async *scan(ctx: RunContext): AsyncGenerator<ReadableRecord[]> {
    let last: SqlKey | undefined
    for (;;) {
      if (ctx.signal.aborted) return
      const rows = await retryingQuery(this.#client, this.#queries.snapshot(last), this.#config.retry, ctx, `reading ${this.#relation}`)
      if (rows === undefined) return
      if (rows.length > 0) {
        last = rows[rows.length - 1]?.[this.#config.key] as SqlKey
        yield rows.map((row) => rowToRecord(row, this.#config.key, this.#relation))
      }
      if (rows.length < this.#config.page_size) return
    }
  }

  /** The server's clock minus `lagSeconds`, as `changes` takes it: rows changed from then on are read again. */
  async clock(lagSeconds: number, ctx: RunContext): Promise<CursorStart | undefined> {
    const now = await retryingQuery(this.#client, sql`SELECT ${this.#client.clockMinus(lagSeconds)} AS t`, this.#config.retry, ctx, 'reading the server clock')
    return now === undefined ? undefined : { since: String(now[0]?.['t']) }
  }

  /**
   * The rows changed (or inserted) at or after `from` by `updated_at`, to the current end, and
   * where the next call goes on from. Undefined when `ctx.signal` aborted meanwhile.
   */
  async changes(from: CursorStart, ctx: RunContext): Promise<{ records: ReadableRecord[]; next: CursorStart } | undefined> {
    const records: ReadableRecord[] = []
    let start = from
    for (;;) {
      const rows = await retryingQuery(this.#client, this.#queries.cursor(start, 0), this.#config.retry, ctx, `reading ${this.#relation}`)
      if (rows === undefined) return undefined
      const last = rows[rows.length - 1]
      if (last !== undefined) start = { after: { updatedAt: String(last[CURSOR_COLUMN]), key: last[this.#config.key] as SqlKey } }
      for (const row of rows) records.push(rowToRecord(row, this.#config.key, this.#relation))
      if (rows.length < this.#config.page_size) return { records, next: start }
    }
  }

  /**
   * Whether a row with this key is in the table now, asked by the key's text (the database casts
   * it to the column's type). Undefined when `ctx.signal` aborted meanwhile.
   */
  async has(key: string, ctx: RunContext): Promise<boolean | undefined> {
    const rows = await retryingQuery(this.#client, this.#queries.keyEquals(key), this.#config.retry, ctx, `reading ${this.#relation}`)
    if (rows === undefined) return undefined
    // Compared as a read would name it: a case-insensitive collation finds `Bob` for `bob`, another row.
    return rows.some((row) => rowToRecord(row, this.#config.key, this.#relation).key === key)
  }

  async close(): Promise<void> {
    await this.#client.close()
  }
}
