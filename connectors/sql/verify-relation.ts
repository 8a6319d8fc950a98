import { ConfigError } from '../../src/core/errors.ts'
import type { RunContext } from '../../src/core/run-context.ts'
import type { SqlClient } from './client.ts'
import type { SqlSourceConfig } from './config.ts'
import type { PageQueries } from './page-query.ts'
import { missingColumnIssues } from './required-columns.ts'
import { pause } from './retrying-query.ts'
import { isRetryableSqlError, translateSqlError } from './sql-errors.ts'

/**
 * Proves the configured table or query readable before anything is read from it: every column the
 * config names exists, and the login is accepted. A refusal is a `ConfigError` (exit 78) naming the
 * setting; an unreachable server is retried as `source.retry` says. Returns the relation's columns,
 * or `[]` when `ctx.signal` aborted meanwhile.
 */
export async function verifyRelation(db: SqlClient, queries: PageQueries, config: SqlSourceConfig, ctx: RunContext): Promise<string[]> {
  const relationName = config.table ?? 'query'
  for (let attempt = 1; ; attempt++) {
    try {
      const present = await db.columnNames(queries.relation)
      const issues = missingColumnIssues(config, present)
      if (issues.length > 0) throw new ConfigError(`${issues.length === 1 ? issues[0] : `${issues.length} configured columns do not exist`}; ${relationName} has: ${present.join(', ')}`, issues)
      return present
    } catch (error) {
      if (error instanceof ConfigError) throw error
      if (!isRetryableSqlError(error)) {
        const e = translateSqlError(error, loginRefused(error) ? 'cannot log in to the database (check the user and password of source.url, or source.user and source.password)' : config.query !== undefined ? 'source.query does not run' : `cannot read table ${relationName}`)
        throw new ConfigError(e.message, [e.message])
      }
      if (attempt >= config.retry.max_attempts) throw translateSqlError(error, 'cannot connect to the database')
      ctx.logger.warn({ attempt, code: (error as { code?: string }).code }, 'Cannot reach the database yet; retrying.')
      if (!(await pause(Math.min(config.retry.max_ms, config.retry.base_ms * 2 ** (attempt - 1)), ctx.signal))) return []
    }
  }
}

/**
 * A login the database refused (a wrong password, an unknown user): MySQL's
 * ER_ACCESS_DENIED_ERROR, PostgreSQL's invalid_authorization_specification (28000) and
 * invalid_password (28P01). Said as such rather than as a query or table that does not work.
 */
function loginRefused(error: unknown): boolean {
  const code = (error as { code?: unknown }).code
  return code === 'ER_ACCESS_DENIED_ERROR' || code === 'ER_DBACCESS_DENIED_ERROR' || code === '28000' || code === '28P01'
}
