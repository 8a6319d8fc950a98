import { describe, expect, it } from 'vitest'
import { sqlSourceConfigSchema } from '../../../../connectors/sql/config.ts'
import { sqlPositionSchema } from '../../../../connectors/sql/position.ts'
import { rootConfigSchema } from '../../../../src/config/schema.ts'

const base = { type: 'sql', dialect: 'postgres', url: 'postgres://u:p@localhost/db', table: 'users', key: 'id' }

describe('sql source config', () => {
  it('applies defaults to a minimal block', () => {
    const config = sqlSourceConfigSchema.parse(base)
    expect(config).toMatchObject({ page_size: 1000, poll_interval_ms: 5000, safety_lag_seconds: 30, read_only: true, tls: { enabled: false, reject_unauthorized: true }, columns: {} })
  })

  it('is part of the root config union', () => {
    const parsed = rootConfigSchema.safeParse({ source: { ...base, columns: { email: 'email' } }, sink: { endpoint: 'embedded', project_id: 'myapp' } })
    expect(parsed.success).toBe(true)
  })

  it.each([
    ['neither table nor query', { ...base, table: undefined }, 'set exactly one of table or query'],
    ['both table and query', { ...base, query: 'SELECT * FROM users' }, 'set exactly one of table or query'],
    ['no connection', { ...base, url: undefined }, 'set url, or host'],
    ['password and password_file', { ...base, password: 'x', password_file: 'pw' }, 'not both'],
    ['a query ending with a semicolon', { ...base, table: undefined, query: 'SELECT * FROM users;' }, 'semicolon'],
    ['an unknown key', { ...base, tabel: 'users' }, 'Unrecognized key'],
    ['an unknown column field', { ...base, columns: { mail: 'email' } }, 'Unrecognized key'],
    ['a quoted column name', { ...base, key: 'id"; DROP TABLE users' }, 'column name'],
    ['an unknown soft-delete mode', { ...base, soft_delete: { column: 'deleted_at', mode: 'purge' } }, 'disable'],
  ])('rejects %s', (_what, input, message) => {
    const parsed = sqlSourceConfigSchema.safeParse(input)
    expect(parsed.success).toBe(false)
    expect(JSON.stringify(parsed.error?.issues)).toContain(message)
  })
})

describe('sql position', () => {
  it.each([{ mode: 'start' }, { mode: 'snapshot', key: 42 }, { mode: 'snapshot', key: 'a1b2' }, { mode: 'cursor', updated_at: '2024-05-01 10:00:00.123456', key: '9007199254740993' }])(
    'round-trips %j through JSON',
    (position) => {
      expect(sqlPositionSchema.parse(JSON.parse(JSON.stringify(position)))).toEqual(position)
    },
  )

  it.each([{ mode: 'snapshot' }, { mode: 'cursor', key: 1 }, { mode: 'offset', offset: 5 }, { mode: 'snapshot', key: 1, extra: true }])('refuses %j', (position) => {
    expect(sqlPositionSchema.safeParse(position).success).toBe(false)
  })
})
