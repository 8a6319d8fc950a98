import { apiError, validationFailed, type ApiErrorBody } from './api-error.ts'
import { CauseList, isPlainObject, pointer } from './schema-check.ts'

/** Export formats (`format` enum of `makeRequestSchema`). */
export const ExportFormats = ['ndjson', 'csv'] as const
export type ExportFormat = (typeof ExportFormats)[number]

/** One CSV column: a JSON pointer into the exported record, and its header name when given. */
export interface ExportField {
  readonly pointer: string
  readonly field_name?: string
}

/** A parsed export request, echoed back as `request` (field order as Authgear writes it). */
export interface ExportRequest {
  readonly format: ExportFormat
  readonly csv?: { readonly fields?: readonly ExportField[] }
}

/** RFC 6901: empty, or `/`-separated tokens in which `~` is only followed by `0` or `1`. */
export function isJsonPointer(value: string): boolean {
  return value === '' || (value.startsWith('/') && !/~(?![01])/.test(value))
}

/** The reference tokens of a pointer, unescaped (`/a~1b/c` → `['a/b', 'c']`). */
export function pointerTokens(value: string): string[] {
  if (value === '') return []
  return value.slice(1).split('/').map((t) => t.replaceAll('~1', '/').replaceAll('~0', '~'))
}

/** The header of a field: `field_name`, else the pointer's tokens joined with `.`. */
export function fieldName(field: ExportField): string {
  return field.field_name ?? pointerTokens(field.pointer).join('.')
}

/**
 * Checks an export request body like `ParseExportRequest`: the JSON schema (root closed,
 * `format` required; `csv` open; `csv.fields` non-empty, each with a `json-pointer` `pointer`
 * and an optional non-empty `field_name`), then unique field names. `csv` is checked whatever
 * the format.
 */
export function checkExportRequest(body: unknown): { ok: true; request: ExportRequest } | { ok: false; error: ApiErrorBody } {
  const list = new CauseList()
  if (!list.type('', body, ['object']) || !isPlainObject(body)) return invalid(list)
  list.required('', body, ['format'])
  list.noExtra('', body, new Set(['format', 'csv']))
  if (body.format !== undefined && list.type('/format', body.format, ['string'])) list.enum('/format', body.format, ExportFormats)
  let fields: ExportField[] | undefined
  if (body.csv !== undefined && list.type('/csv', body.csv, ['object']) && isPlainObject(body.csv)) {
    const raw = body.csv.fields
    if (raw !== undefined && list.type('/csv/fields', raw, ['array']) && Array.isArray(raw)) {
      if (raw.length < 1) list.add('/csv/fields', 'minItems', { actual: raw.length, expected: 1 })
      fields = raw.map((item, index) => checkField(list, pointer('/csv/fields', index), item))
    }
  }
  if (!list.empty) return invalid(list)
  if (fields !== undefined) {
    const names = fields.map(fieldName)
    if (new Set(names).size !== names.length) {
      return { ok: false, error: apiError('Invalid', 'UserExportNonUniqueFieldNames', 'field names are not unique', { field_names: names }) }
    }
  }
  const request: ExportRequest = fields === undefined
    ? isPlainObject(body.csv) ? { format: body.format as ExportFormat, csv: {} } : { format: body.format as ExportFormat }
    : { format: body.format as ExportFormat, csv: { fields } }
  return { ok: true, request }
}

function checkField(list: CauseList, at: string, item: unknown): ExportField {
  if (!list.type(at, item, ['object']) || !isPlainObject(item)) return { pointer: '' }
  list.required(at, item, ['pointer'])
  const { pointer: ptr, field_name: name } = item
  if (ptr !== undefined && list.type(`${at}/pointer`, ptr, ['string']) && !isJsonPointer(ptr as string)) {
    list.format(`${at}/pointer`, 'json-pointer')
  }
  if (name !== undefined && list.type(`${at}/field_name`, name, ['string'])) list.minLength(`${at}/field_name`, name as string, 1)
  return typeof name === 'string' ? { pointer: ptr as string, field_name: name } : { pointer: ptr as string }
}

function invalid(list: CauseList): { ok: false; error: ApiErrorBody } {
  return { ok: false, error: validationFailed('invalid request body', list.causes) }
}
