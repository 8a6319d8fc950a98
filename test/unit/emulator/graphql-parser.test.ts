import { describe, expect, it } from 'vitest'
import { decodeNodeId, encodeUserNodeId } from '../../../src/emulator/graphql-node-id.ts'
import { parseDocument } from '../../../src/emulator/graphql-parser.ts'
import { goDateTime } from '../../../src/emulator/graphql-types.ts'

describe('GraphQL parser', () => {
  it('parses operations with variables, aliases, fragments and literals', () => {
    const doc = parseDocument(`
      # comment
      query Find($v: String! = "x", $ids: [ID!]!) {
        a: getUserByLoginID(loginIDKey: "email", loginIDValue: $v) { ...U ... on User { id } }
      }
      fragment U on User { id, createdAt }`)
    const op = doc.operations[0]!
    expect(op.name).toBe('Find')
    expect(op.variables.map((v) => v.type)).toEqual(['String!', '[ID!]!'])
    const field = op.selections[0]!
    expect(field).toMatchObject({ kind: 'field', alias: 'a', name: 'getUserByLoginID' })
    expect(doc.fragments.get('U')?.typeCondition).toBe('User')
  })

  it('reports syntax errors with a position', () => {
    expect(() => parseDocument('{ a(')).toThrow(/Syntax Error GraphQL \(1:5\)/)
  })
})

describe('global node IDs', () => {
  it('are unpadded base64url of User:<uuid>', () => {
    const id = encodeUserNodeId('0b6f9c1e-0000-4000-8000-000000000001')
    expect(id).not.toContain('=')
    expect(decodeNodeId(id)).toEqual({ type: 'User', id: '0b6f9c1e-0000-4000-8000-000000000001' })
    expect(decodeNodeId('VXNlcjp4==')).toBeUndefined()
  })
})

describe('DateTime values', () => {
  it('are written as graphql-go writes a time: UTC, trailing zeros of the fraction trimmed, none when zero', () => {
    expect(goDateTime('2026-01-01T00:00:00.000Z')).toBe('2026-01-01T00:00:00Z')
    expect(goDateTime('2026-01-01T00:00:00.500Z')).toBe('2026-01-01T00:00:00.5Z')
    expect(goDateTime('2026-01-01T00:00:00.123456789Z')).toBe('2026-01-01T00:00:00.123456789Z')
    expect(goDateTime('2026-01-01T08:00:00+08:00')).toBe('2026-01-01T00:00:00Z')
    // The offset is applied to the digits: nanoseconds survive it.
    expect(goDateTime('2030-01-01T00:00:00.123456789+08:00')).toBe('2029-12-31T16:00:00.123456789Z')
    expect(goDateTime('2030-01-01T00:30:00-05:30')).toBe('2030-01-01T06:00:00Z')
    // Before 1970 the fraction stays that of its own second; Go keeps nine digits of a longer one.
    expect(goDateTime('1969-12-31T23:59:59.25Z')).toBe('1969-12-31T23:59:59.25Z')
    expect(goDateTime('2026-01-01T00:00:00.1234567891Z')).toBe('2026-01-01T00:00:00.123456789Z')
  })
})
