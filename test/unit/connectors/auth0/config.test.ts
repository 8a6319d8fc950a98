import { describe, expect, it } from 'vitest'
import { auth0SourceConfigSchema } from '../../../../connectors/auth0/config.ts'
import { auth0PositionSchema } from '../../../../connectors/auth0/position.ts'

describe('auth0 source config', () => {
  it('fills defaults and normalizes a single path to a list', () => {
    const config = auth0SourceConfigSchema.parse({ type: 'auth0', files: 'export/*.ndjson.gz' })
    expect(config).toEqual({ type: 'auth0', files: ['export/*.ndjson.gz'], format: 'auto', csv: { delimiter: 'auto' }, batch_records: 500 })
  })

  it('defaults the hash join to auto', () => {
    const config = auth0SourceConfigSchema.parse({ type: 'auth0', files: ['a.ndjson', 'b.ndjson'], password_hashes: { files: 'hashes.ndjson.gz' } })
    expect(config.password_hashes).toEqual({ files: ['hashes.ndjson.gz'], join: 'auto' })
  })

  it('rejects unknown keys, unknown formats and join modes', () => {
    expect(auth0SourceConfigSchema.safeParse({ type: 'auth0', files: 'a', extra: 1 }).success).toBe(false)
    expect(auth0SourceConfigSchema.safeParse({ type: 'auth0', files: 'a', format: 'xml' }).success).toBe(false)
    expect(auth0SourceConfigSchema.safeParse({ type: 'auth0', files: 'a', password_hashes: { files: 'h', join: 'name' } }).success).toBe(false)
    expect(auth0SourceConfigSchema.safeParse({ type: 'auth0', files: [] }).success).toBe(false)
    expect(auth0SourceConfigSchema.safeParse({ type: 'auth0', files: 'a', batch_records: 0 }).success).toBe(false)
  })

  it('accepts a single ASCII CSV delimiter, and no quote, line end or other character', () => {
    for (const delimiter of ['\t', ';', '|', ',']) expect(auth0SourceConfigSchema.parse({ type: 'auth0', files: 'a.csv', csv: { delimiter } }).csv.delimiter).toBe(delimiter)
    for (const delimiter of [';;', '"', '\n', '\r', '§', '']) expect(auth0SourceConfigSchema.safeParse({ type: 'auth0', files: 'a.csv', csv: { delimiter } }).success, JSON.stringify(delimiter)).toBe(false)
  })

  it('describes every field for the generated docs', () => {
    const shape = auth0SourceConfigSchema.shape
    for (const [name, field] of Object.entries(shape)) expect(field.description, name).toBeTruthy()
  })

  it('validates persisted positions', () => {
    expect(auth0PositionSchema.parse({ file: 'users.ndjson', line: 10, offset: 512 })).toEqual({ file: 'users.ndjson', line: 10, offset: 512 })
    expect(auth0PositionSchema.safeParse({ file: 'users.ndjson', line: -1 }).success).toBe(false)
  })
})
