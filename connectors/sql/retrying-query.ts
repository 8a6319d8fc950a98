import { setTimeout as sleep } from 'node:timers/promises'
import type { RawBuilder } from 'kysely'
import { backoffDelay } from '../authgear/backoff.ts'
import type { RunContext } from '../../src/core/run-context.ts'
import type { SqlClient } from './client.ts'
import type { SqlSourceConfig } from './config.ts'
import { isRetryableSqlError, translateSqlError } from './sql-errors.ts'

/** Waits `ms`, or less when `signal` aborts; resolves false on abort. */
export async function pause(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return false
  try {
    await sleep(ms, undefined, { signal })
    return true
  } catch {
    return false
  }
}

/**
 * Runs one page query, retrying transient failures (lost connection, server restart, deadlock)
 * with jittered exponential backoff. The caller re-runs the same page, so the read resumes from
 * the last position. Resolves `undefined` when `ctx.signal` aborts during a wait; rejects with a
 * translated error when the error is not transient or the attempts are used up.
 */
export async function retryingQuery(client: SqlClient, query: RawBuilder<unknown>, retry: SqlSourceConfig['retry'], ctx: RunContext, what: string): Promise<Record<string, unknown>[] | undefined> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await client.rows(query)
    } catch (error) {
      if (!isRetryableSqlError(error) || attempt >= retry.max_attempts) throw translateSqlError(error, what)
      const delay = backoffDelay(attempt, { maxAttempts: retry.max_attempts, baseMs: retry.base_ms, maxMs: retry.max_ms })
      ctx.logger.warn({ attempt, delay_ms: delay, code: (error as { code?: string }).code }, 'Database query failed with a transient error; retrying from the last position.')
      if (!(await pause(delay, ctx.signal))) return undefined
    }
  }
}
