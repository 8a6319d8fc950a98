import { describe, expect, it } from 'vitest'
import { rowToRecord } from '../../../../connectors/sql/row-record.ts'
import { isRetryableSqlError, translateSqlError } from '../../../../connectors/sql/sql-errors.ts'
import { missingColumnIssues } from '../../../../connectors/sql/required-columns.ts'
import { sqlSourceConfigSchema } from '../../../../connectors/sql/config.ts'

describe('rowToRecord', () => {
  it('keys the record by the key column, names the table and key in the origin, and normalizes values', () => {
    const record = rowToRecord(
      { id: 42n, email: 'a@example.com', created: new Date('2024-05-01T10:00:00Z'), hash: Buffer.from('$2b$10$abc'), padded: Buffer.concat([Buffer.from(`$2y$10$${'d'.repeat(53)}`), Buffer.alloc(4)]), salt: Buffer.from([0x1f, 0x2e, 0x3d, 0x00]), raw: Buffer.from([0xff, 0x00]), __gb_cursor: 'x', __gb_stable: 1 },
      'id',
      'public.users',
    )
    expect(record).toEqual({
      kind: 'data',
      key: '42',
      origin: 'public.users id=42',
      // A BINARY(n) column's zero padding is not part of the hash it holds; other bytes are kept whole.
      data: { id: '42', email: 'a@example.com', created: '2024-05-01T10:00:00.000Z', hash: '$2b$10$abc', padded: `$2y$10$${'d'.repeat(53)}`, salt: '\u001f.=\u0000', raw: 'ff00' },
    })
  })
})

describe('sql errors', () => {
  it.each([
    [{ code: 'ECONNRESET' }, true],
    [{ code: 'PROTOCOL_CONNECTION_LOST' }, true],
    [{ code: '57P01', message: 'terminating connection due to administrator command' }, true],
    [{ code: '08006' }, true],
    [{ message: 'Connection terminated unexpectedly' }, true],
    [{ code: '42703', message: 'column "x" does not exist' }, false],
    [{ code: 'ER_BAD_FIELD_ERROR' }, false],
  ])('%j retryable: %s', (error, retryable) => {
    expect(isRetryableSqlError(error)).toBe(retryable)
    expect(translateSqlError(error, 'reading users').retryable).toBe(retryable)
  })
})

describe('missingColumnIssues', () => {
  it('names the config path and a near match for each missing column', () => {
    const config = sqlSourceConfigSchema.parse({
      type: 'sql', dialect: 'mysql', host: 'db', table: 'users', key: 'id', updated_at: 'updated_at',
      columns: { email: 'Email', username: 'login' }, soft_delete: { column: 'deleted_at' },
    })
    expect(missingColumnIssues(config, ['id', 'email', 'updated_at', 'deleted_at'])).toEqual([
      'source.columns.email: column "Email" does not exist in users (did you mean "email"?)',
      'source.columns.username: column "login" does not exist in users',
    ])
    // updated_at is required whenever configured: a snapshot backfill's position is read by it next.
    expect(missingColumnIssues(config, ['id', 'Email', 'login', 'deleted_at'])).toEqual(['source.updated_at: column "updated_at" does not exist in users'])
    expect(missingColumnIssues(config, ['id', 'Email', 'login', 'deleted_at', 'updated_at'])).toEqual([])
  })
})
