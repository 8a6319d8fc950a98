import { describe, expect, it } from 'vitest'
import { checkExportRequest, fieldName, isJsonPointer } from '../../../src/emulator/export-request.ts'

describe('export request checks (ParseExportRequest)', () => {
  it('accepts ndjson and csv, echoing the request as parsed', () => {
    expect(checkExportRequest({ format: 'ndjson' })).toEqual({ ok: true, request: { format: 'ndjson' } })
    expect(checkExportRequest({ format: 'csv', csv: { fields: [{ pointer: '/sub', field_name: 'user_id' }, { pointer: '/email' }] } })).toEqual({
      ok: true,
      request: { format: 'csv', csv: { fields: [{ pointer: '/sub', field_name: 'user_id' }, { pointer: '/email' }] } },
    })
  })

  it('reports schema causes sorted by location', () => {
    const result = checkExportRequest({ format: 'xml', extra: 1, csv: { fields: [{ field_name: '' }, { pointer: 'nope' }] } })
    expect(result.ok).toBe(false)
    if (result.ok) return
    expect(result.error).toMatchObject({ name: 'Invalid', reason: 'ValidationFailed', message: 'invalid request body', code: 400 })
    const causes = (result.error.info!.causes as { location: string; kind: string }[]).map((c) => `${c.location} ${c.kind}`)
    expect(causes).toEqual(['/csv/fields/0 required', '/csv/fields/0/field_name minLength', '/csv/fields/1/pointer format', '/extra ', '/format enum'])
  })

  it('requires format and a non-empty fields list', () => {
    const missing = checkExportRequest({})
    expect(missing.ok || missing.error.info).toMatchObject({ causes: [{ location: '', kind: 'required' }] })
    const empty = checkExportRequest({ format: 'csv', csv: { fields: [] } })
    expect(empty.ok || empty.error.info).toMatchObject({ causes: [{ location: '/csv/fields', kind: 'minItems' }] })
  })

  it('refuses non-unique field names, listing all names in order', () => {
    const result = checkExportRequest({ format: 'csv', csv: { fields: [{ pointer: '/address/formatted' }, { pointer: '/email', field_name: 'address.formatted' }] } })
    expect(result).toEqual({
      ok: false,
      error: { name: 'Invalid', reason: 'UserExportNonUniqueFieldNames', message: 'field names are not unique', code: 400, info: { field_names: ['address.formatted', 'address.formatted'] } },
    })
  })

  it('derives field names from pointer tokens and validates pointers per RFC 6901', () => {
    expect(fieldName({ pointer: '/roles/0' })).toBe('roles.0')
    expect(fieldName({ pointer: '/a~1b/c~0d' })).toBe('a/b.c~d')
    expect(isJsonPointer('')).toBe(true)
    expect(isJsonPointer('/x~2')).toBe(false)
    expect(isJsonPointer('x')).toBe(false)
  })
})
