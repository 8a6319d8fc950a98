import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { compileCheck } from '../../../mappings/compile-check.ts'
import { IdentifierTypes, importRecordSchema } from '../../../mappings/record.ts'
import { bcrypt, fullRecord } from './full-record.ts'

const full: Record<string, unknown> = fullRecord

/** Values every field is tried with: wrong types, empty and malformed strings, nesting. */
const probes: unknown[] = [
  undefined, null, '', ' ', 'x', 0, 1, true, false, [], [''], ['a', ''], ['a'], {}, { x: 1 }, { formatted: '' }, { totp: { secret: 'abc' } },
  { type: 'bcrypt', password_hash: 'md5' }, { type: 'plain', password_hash: bcrypt }, { type: 'bcrypt', password_hash: bcrypt, extra: 1 },
  '2030-01-01', '2030-02-30T00:00:00Z', '2024-02-29T23:59:59.5+08:00', 'en_US', 'en-US', 'Asia/Hong_Kong', 'asia/hong_kong',
  'https://x.io', 'ftp://x.io', 'not a uri', '+14155552671', '+1415', '4155552671', 'A@B.io', 'a@b.io', 'a@', '<a@b.io>', '1999', '--13-01',
  bcrypt, Object.create(null) as unknown, new Date(0), ['staff', 3],
]

describe('compileCheck', () => {
  it('accepts exactly what the record schema accepts, field by field, under each identifier', () => {
    let compared = 0
    let accepted = 0
    for (const identifier of IdentifierTypes) {
      const schema = importRecordSchema(identifier)
      const check = compileCheck(schema)
      const records: unknown[] = [full, {}, null, [], 'record', { ...full, unknown_field: 1 }]
      for (const field of Object.keys(full)) {
        for (const probe of probes) records.push({ ...full, [field]: probe })
        const { [field]: _dropped, ...without } = full
        records.push(without)
      }
      for (const record of records) {
        const expected = schema.safeParse(record).success
        expect({ identifier, record, accepted: check(record) }).toEqual({ identifier, record, accepted: expected })
        compared++
        if (expected) accepted++
      }
    }
    // The probes must exercise both answers, or the comparison proves nothing.
    expect(compared).toBeGreaterThan(3000)
    expect(accepted).toBeGreaterThan(300)
    expect(compared - accepted).toBeGreaterThan(1000)
  })

  it('reads values as zod does: sparse arrays, non-enumerable and inherited fields, symbol keys, odd constructors', () => {
    const schema = importRecordSchema('email')
    const check = compileCheck(schema)
    class WithGetter {
      email = 'jane@example.com'
      get disabled(): unknown {
        return 'yes'
      }
    }
    const hidden = Object.defineProperty({}, 'email', { value: 'not an email', enumerable: false })
    const odd: unknown[] = [
      { ...full, roles: new Array(2) },
      // eslint-disable-next-line no-sparse-arrays
      { ...full, roles: [, 'x'] },
      hidden,
      new WithGetter(),
      { ...full, custom_attributes: { [Symbol('s')]: 1 } },
      { ...full, custom_attributes: { constructor: class {} } },
    ]
    for (const record of odd) {
      expect(schema.safeParse(record).success).toBe(false)
      expect(check(record)).toBe(false)
    }
  })

  it('answers false for a schema it cannot compile, so the caller asks zod', () => {
    const check = compileCheck(z.object({ n: z.number() }))
    expect(check({ n: 1 })).toBe(false)
    expect(z.object({ n: z.number() }).safeParse({ n: 1 }).success).toBe(true)
  })

  it('runs refinements and the loose object for nested values', () => {
    const schema = z.strictObject({ tags: z.array(z.string().refine((v) => v.startsWith('t'))).optional(), more: z.looseObject({ a: z.string().min(2).optional() }) })
    const check = compileCheck(schema)
    for (const value of [{ more: {} }, { more: { b: 1 } }, { more: { a: 'x' } }, { tags: ['ta', 'b'], more: {} }, { tags: ['ta'], more: { a: 'xy' } }, { more: {}, extra: 1 }]) {
      expect(check(value)).toBe(schema.safeParse(value).success)
    }
  })
})
