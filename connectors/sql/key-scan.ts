import type { RunContext } from '../../src/core/run-context.ts'
import { SqlClient } from './client.ts'
import type { SqlSourceConfig } from './config.ts'
import { connectionSettings } from './connection-options.ts'
import { PageQueries } from './page-query.ts'
import type { SqlKey } from './position.ts'
import { retryingQuery } from './retrying-query.ts'
import { rowToRecord } from './row-record.ts'

/**
 * Every key the table (or query) holds now, as record keys (the same text a read gives them), in
 * pages of `pageSize`, by keyset on the key column. Ends early, without an error, when
 * `ctx.signal` aborts: the caller must then not take what it saw for the whole table.
 */
export async function* scanSqlKeys(config: SqlSourceConfig, baseDir: string, ctx: RunContext, pageSize = 10_000): AsyncGenerator<string[]> {
  const client = new SqlClient(config.dialect, connectionSettings(config, baseDir), { readOnly: config.read_only })
  const relationName = config.table ?? 'query'
  try {
    const queries = new PageQueries(client, config)
    let last: SqlKey | undefined
    for (;;) {
      if (ctx.signal.aborted) return
      const rows = await retryingQuery(client, queries.keys(last, pageSize), config.retry, ctx, `reading the keys of ${relationName}`)
      if (rows === undefined) return
      if (rows.length > 0) {
        last = rows[rows.length - 1]?.[config.key] as SqlKey
        yield rows.map((row) => rowToRecord(row, config.key, relationName).key)
      }
      if (rows.length < pageSize) return
    }
  } finally {
    await client.close()
  }
}
