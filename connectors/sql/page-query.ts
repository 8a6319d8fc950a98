import { sql, type RawBuilder } from 'kysely'
import type { SqlClient } from './client.ts'
import type { SqlSourceConfig } from './config.ts'
import type { SqlKey } from './position.ts'
import { CURSOR_COLUMN, STABLE_COLUMN } from './row-record.ts'

/** An (updated_at, key) point; `updated_at` is the server's text form of the column value. */
export interface CursorPoint {
  readonly updatedAt: string
  readonly key: SqlKey
}

/** Where a cursor page starts: strictly after a point, at or after a time (`--since`), or at the beginning. */
export type CursorStart = { readonly after: CursorPoint } | { readonly since: string } | { readonly beginning: true }

const alias = 'gb_src'

/**
 * Builds the page queries of one source: the configured table or custom query wrapped as a
 * subquery, with keyset predicates on top. Never OFFSET: each page seeks on the index.
 */
export class PageQueries {
  readonly relation: RawBuilder<unknown>
  readonly #client: SqlClient
  readonly #config: SqlSourceConfig

  constructor(client: SqlClient, config: SqlSourceConfig) {
    this.#client = client
    this.#config = config
    this.relation = config.query !== undefined ? sql`(${sql.raw(config.query)}) AS ${sql.id(alias)}` : sql`${sql.table(config.table as string)} AS ${sql.id(alias)}`
  }

  #col(name: string): RawBuilder<unknown> {
    return sql.ref(`${alias}.${name}`)
  }

  /**
   * Rows with a key greater than `after` (all rows when undefined), in key order. Rows with a
   * NULL key cannot be paged (no `>` finds them, and the databases sort them at opposite ends);
   * they are left to `nullKeyRows`.
   */
  snapshot(after: SqlKey | undefined): RawBuilder<unknown> {
    const key = this.#col(this.#config.key)
    const where = after === undefined ? sql`WHERE ${key} IS NOT NULL` : sql`WHERE ${key} > ${after}`
    return sql`SELECT ${sql.raw(alias)}.* FROM ${this.relation} ${where} ORDER BY ${key} LIMIT ${sql.lit(this.#config.page_size)}`
  }

  /** The whole rows whose key equals `key` (given as text: the database casts it to the column's type). */
  rowsWithKey(key: string): RawBuilder<unknown> {
    const column = this.#col(this.#config.key)
    return sql`SELECT ${sql.raw(alias)}.* FROM ${this.relation} WHERE ${column} = ${key}`
  }

  /** The key column of the rows whose key equals `key` (given as text: the database casts it to the column's type). */
  keyEquals(key: string): RawBuilder<unknown> {
    const column = this.#col(this.#config.key)
    return sql`SELECT ${column} AS ${sql.id(this.#config.key)} FROM ${this.relation} WHERE ${column} = ${key}`
  }

  /**
   * Up to `limit` key values that several rows share, and how many rows share them, as the
   * database compares keys (its collation: `Bob@x` and `bob@x` are one key under a
   * case-insensitive one). `key > last` would skip the rest of such a key's rows at a page end.
   */
  sharedKeys(limit: number): RawBuilder<unknown> {
    const key = this.#col(this.#config.key)
    return sql`SELECT ${key} AS k, COUNT(*) AS n FROM ${this.relation} WHERE ${key} IS NOT NULL GROUP BY ${key} HAVING COUNT(*) > 1 LIMIT ${sql.lit(limit)}`
  }

  /** How many rows have a NULL key: told when there are more than are dead-lettered one by one. */
  nullKeyCount(): RawBuilder<unknown> {
    return sql`SELECT COUNT(*) AS n FROM ${this.relation} WHERE ${this.#col(this.#config.key)} IS NULL`
  }

  /** Rows whose key is NULL (at most `limit`), to report them rather than lose them. */
  nullKeyRows(limit: number): RawBuilder<unknown> {
    return sql`SELECT ${sql.raw(alias)}.* FROM ${this.relation} WHERE ${this.#col(this.#config.key)} IS NULL LIMIT ${sql.lit(limit)}`
  }

  /**
   * Rows after `start` in (updated_at, key) order, with the updated_at text (`__gb_cursor`) and
   * whether the row is older than the safety lag by the server's clock (`__gb_stable`).
   * Ties on updated_at are broken by key, so rows sharing a timestamp are neither skipped nor repeated.
   */
  cursor(start: CursorStart, lagSeconds: number): RawBuilder<unknown> {
    const u = this.#col(this.#config.updated_at as string)
    const k = this.#col(this.#config.key)
    let where: RawBuilder<unknown>
    if ('after' in start) where = sql`(${u} > ${start.after.updatedAt} OR (${u} = ${start.after.updatedAt} AND ${k} > ${start.after.key}))`
    else if ('since' in start) where = sql`${u} >= ${start.since}`
    else where = sql`${u} IS NOT NULL`
    // A NULL key cannot be a cursor point either; the snapshot reports such rows.
    where = sql`${where} AND ${k} IS NOT NULL`
    return sql`SELECT ${sql.raw(alias)}.*, ${this.#client.asText(u)} AS ${sql.id(CURSOR_COLUMN)}, ${this.#client.olderThan(u, lagSeconds)} AS ${sql.id(STABLE_COLUMN)} FROM ${this.relation} WHERE ${where} ORDER BY ${u}, ${k} LIMIT ${sql.lit(this.#config.page_size)}`
  }
}

/** `--since` as the server compares it: `YYYY-MM-DD HH:MM:SS.ffffff` in UTC (the session zone). */
export function sinceText(since: Date): string {
  return since.toISOString().replace('T', ' ').replace('Z', '')
}
