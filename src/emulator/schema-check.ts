import type { ValidationCause } from './api-error.ts'

/**
 * Small helpers that emit JSON-schema causes shaped like Authgear's validator
 * (`iawaknahc/jsonschema`): `kind` is the keyword, `details` its payload. `additionalProperties:
 * false` is a false schema applied to the extra member, so it reports kind `""` at the member.
 */

/** JSON-schema type names of a decoded value, as the validator reports them in `actual`. */
export function jsonTypes(value: unknown): string[] {
  if (value === null) return ['null']
  if (Array.isArray(value)) return ['array']
  switch (typeof value) {
    case 'boolean':
      return ['boolean']
    case 'string':
      return ['string']
    case 'number':
      return Number.isInteger(value) ? ['integer', 'number'] : ['number']
    default:
      return ['object']
  }
}

/** Appends `key` to a JSON pointer, escaping `~` and `/`. */
export function pointer(base: string, key: string | number): string {
  return `${base}/${String(key).replaceAll('~', '~0').replaceAll('/', '~1')}`
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** Collects causes for one document. */
export class CauseList {
  readonly causes: ValidationCause[] = []

  get empty(): boolean {
    return this.causes.length === 0
  }

  add(location: string, kind: string, details?: Record<string, unknown>): void {
    this.causes.push(details === undefined ? { location, kind } : { location, kind, details })
  }

  /** Checks the value's JSON type against `expected`; false (and a cause) when it does not match. */
  type(location: string, value: unknown, expected: readonly string[]): boolean {
    const actual = jsonTypes(value)
    if (actual.some((t) => expected.includes(t))) return true
    this.add(location, 'type', { actual, expected: [...expected] })
    return false
  }

  /** Reports missing required members of `object` at `location`. */
  required(location: string, object: Record<string, unknown>, required: readonly string[]): void {
    const missing = required.filter((key) => !Object.hasOwn(object, key))
    if (missing.length > 0) {
      this.add(location, 'required', { actual: Object.keys(object).sort(), expected: [...required], missing })
    }
  }

  /** Reports every member of `object` not in `allowed` (additionalProperties: false). */
  noExtra(location: string, object: Record<string, unknown>, allowed: ReadonlySet<string>): void {
    for (const key of Object.keys(object)) if (!allowed.has(key)) this.add(pointer(location, key), '')
  }

  minLength(location: string, value: string, min: number): void {
    const length = [...value].length
    if (length < min) this.add(location, 'minLength', { actual: length, expected: min })
  }

  enum(location: string, value: unknown, expected: readonly unknown[]): void {
    if (!expected.includes(value)) this.add(location, 'enum', { actual: value, expected: [...expected] })
  }

  format(location: string, format: string, error?: string): void {
    this.add(location, 'format', error === undefined ? { format } : { error, format })
  }
}
