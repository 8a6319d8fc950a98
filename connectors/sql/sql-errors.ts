import { ConnectorError, ErrorCodes, SourceReadError } from '../../src/core/errors.ts'
import { redactText } from '../../src/runtime/redact.ts'

/** Node socket errors: the connection is gone or never came up; a retry may succeed. */
const networkCodes = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNABORTED'])

/** mysql2 codes for a lost or refused connection, and MySQL/MariaDB server errors worth retrying. */
const mysqlRetryable = new Set([
  'PROTOCOL_CONNECTION_LOST', 'PROTOCOL_SEQUENCE_TIMEOUT', 'ER_CON_COUNT_ERROR', 'ER_SERVER_SHUTDOWN', 'ER_LOCK_DEADLOCK',
  'ER_LOCK_WAIT_TIMEOUT', 'ER_QUERY_INTERRUPTED', 'ER_CONNECTION_KILLED', 'ER_SERVER_GONE_ERROR', 'ER_SERVER_LOST', 'CR_SERVER_GONE_ERROR', 'CR_SERVER_LOST',
])

/** PostgreSQL SQLSTATE classes and codes worth retrying: connection exceptions, shutdown, serialization, too many clients. */
function postgresRetryable(sqlState: string): boolean {
  return sqlState.startsWith('08') || sqlState.startsWith('57P') || sqlState === '40001' || sqlState === '40P01' || sqlState === '53300' || sqlState === '55P03'
}

/** Whether a driver error is transient (lost connection, server restart, deadlock). */
export function isRetryableSqlError(error: unknown): boolean {
  if (error instanceof ConnectorError) return error.retryable
  const e = error as { code?: unknown; message?: unknown }
  const code = typeof e?.code === 'string' ? e.code : ''
  if (networkCodes.has(code) || mysqlRetryable.has(code)) return true
  if (/^[0-9A-Z]{5}$/.test(code) && postgresRetryable(code)) return true
  const message = typeof e?.message === 'string' ? e.message : ''
  // pg reports a dropped socket without a code.
  return /Connection terminated|connection timeout|Client has encountered a connection error|Connection lost|socket hang up|the database system is (starting up|shutting down)/i.test(message)
}

/**
 * Turns a driver error into a SourceReadError with the driver's code and message. The message
 * names columns and SQL, but a data error quotes the row value it failed on (PostgreSQL's
 * `invalid input syntax for type integer: "$2b$10$…"`, MySQL's `Incorrect integer value: '…'`),
 * which may be a password hash: quoted values are left out, and hashes or tokens redacted.
 */
export function translateSqlError(error: unknown, what: string): ConnectorError {
  if (error instanceof ConnectorError) return error
  const e = error as { code?: unknown; message?: unknown }
  const code = typeof e?.code === 'string' && e.code.length > 0 ? ` [${e.code}]` : ''
  const message = withoutQuotedValues(typeof e?.message === 'string' ? e.message : String(error), typeof e?.code === 'string' ? e.code : '')
  const retryable = isRetryableSqlError(error)
  if (retryable && networkCodes.has(String(e?.code))) return new ConnectorError(ErrorCodes.connect, 'receiving', `${what}: cannot reach the database${code}: ${message}`, { retryable, cause: error })
  return new SourceReadError(`${what}${code}: ${message}`, { retryable, cause: error })
}

/**
 * A driver message without the row values it quotes. PostgreSQL's data exceptions (SQLSTATE class
 * 22) quote values only (`value "…" is out of range`, `invalid value "…" for "YYYY"`): every quoted
 * span goes. Other classes quote identifiers (`column "emial" does not exist`), which say what to
 * fix, and are kept, but for a value after `: ` (`invalid input syntax for type integer: "…"`).
 * MySQL quotes a value after `value: ` in single quotes.
 */
function withoutQuotedValues(message: string, code: string): string {
  // PostgreSQL does not escape a quote inside a value: quoted spans are cut at the widest.
  const values = /^22[0-9A-Z]{3}$/.test(code) ? message.replace(/"[\s\S]*"/, '"…"') : message.replace(/: "[\s\S]*"/, ': "…"')
  return redactText(values.replace(/(value|string|date|datetime|time): '[\s\S]*?'(?= for |$)/gi, "$1: '…'"))
}
