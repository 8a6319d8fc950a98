import type { CustomAttributeConfig } from './config.ts'
import { goStringify } from './go-json.ts'
import { fieldName, pointerTokens, type ExportField } from './export-request.ts'

const defaultPointers = [
  '/sub', '/preferred_username', '/email', '/phone_number', '/email_verified', '/phone_number_verified', '/name', '/given_name',
  '/middle_name', '/nickname', '/profile', '/picture', '/website', '/gender', '/birthdate', '/zoneinfo', '/locale',
  '/address/formatted', '/address/street_address', '/address/locality', '/address/region', '/address/postal_code', '/address/country',
  '/roles', '/groups', '/disabled', '/created_at', '/delete_at', '/last_login_at', '/is_anonymized', '/anonymize_at',
  '/temporarily_disabled_from', '/temporarily_disabled_until', '/account_valid_from', '/account_valid_until', '/identities',
  '/mfa/emails', '/mfa/phone_numbers', '/mfa/totps', '/biometric_count', '/passkey_count',
] as const

/**
 * `defaultCSVExportFields`: the list used when `csv.fields` is absent. It has no `/family_name`
 * (Authgear leaves it out too) and ends with one column per configured custom attribute, in
 * config order.
 */
export function defaultCsvFields(customAttributes: readonly Pick<CustomAttributeConfig, 'name'>[]): ExportField[] {
  return [
    ...defaultPointers.map((pointer) => ({ pointer })),
    ...customAttributes.map((a) => ({ pointer: `/custom_attributes/${a.name.replaceAll('~', '~0').replaceAll('/', '~1')}` })),
  ]
}

/** The value at `pointer` in a decoded JSON document, or undefined when the path does not exist. */
export function resolvePointer(document: unknown, pointer: string): unknown {
  let at: unknown = document
  for (const token of pointerTokens(pointer)) {
    if (Array.isArray(at)) {
      if (!/^(0|[1-9]\d*)$/.test(token)) return undefined
      at = at[Number(token)]
    } else if (typeof at === 'object' && at !== null && Object.hasOwn(at, token)) {
      at = (at as Record<string, unknown>)[token]
    } else return undefined
  }
  return at
}

/** One cell (`TraverseRecordValue`): strings as is, scalars as JSON, null/missing empty, arrays and objects compact JSON. */
export function csvCell(value: unknown): string {
  if (value === undefined || value === null) return ''
  if (typeof value === 'string') return value
  return goStringify(value)
}

/** Go `encoding/csv` quoting: only when the field has a comma, quote, CR or LF, starts with white space, or is `\.`. */
export function csvQuote(field: string): string {
  if (field === '' || !(/[",\r\n]/.test(field) || /^\s/u.test(field) || field === '\\.')) return field
  return `"${field.replaceAll('"', '""')}"`
}

/** One CSV line with its LF. */
export function csvLine(cells: readonly string[]): string {
  return `${cells.map(csvQuote).join(',')}\n`
}

/** The header line for `fields`. */
export function csvHeader(fields: readonly ExportField[]): string {
  return csvLine(fields.map(fieldName))
}

/** The row of one record. The record goes through a JSON round-trip first, as Authgear's does. */
export function csvRow(record: unknown, fields: readonly ExportField[]): string {
  const document = JSON.parse(JSON.stringify(record)) as unknown
  return csvLine(fields.map((f) => csvCell(resolvePointer(document, f.pointer))))
}
