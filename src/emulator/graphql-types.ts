import { formatRfc3339Nano } from './clock.ts'
import type { GraphqlContext } from './graphql-context.ts'

/** A type reference as written in GraphQL: `String`, `ID!`, `[ID!]!`. */
export type TypeRef = { readonly kind: 'named'; readonly name: string } | { readonly kind: 'list' | 'nonNull'; readonly of: TypeRef }

export function parseTypeRef(text: string): TypeRef {
  if (text.endsWith('!')) return { kind: 'nonNull', of: parseTypeRef(text.slice(0, -1)) }
  if (text.startsWith('[') && text.endsWith(']')) return { kind: 'list', of: parseTypeRef(text.slice(1, -1)) }
  return { kind: 'named', name: text }
}

export function typeText(ref: TypeRef): string {
  return ref.kind === 'named' ? ref.name : ref.kind === 'list' ? `[${typeText(ref.of)}]` : `${typeText(ref.of)}!`
}

export function namedType(ref: TypeRef): string {
  return ref.kind === 'named' ? ref.name : namedType(ref.of)
}

/** An output field: its type, its arguments (name → input type text) and how to get its value. */
export interface FieldDef {
  readonly type: string
  readonly args?: Readonly<Record<string, string>>
  resolve(source: any, args: Record<string, any>, ctx: GraphqlContext): unknown
}

export interface ObjectType {
  readonly kind: 'object'
  readonly name: string
  readonly interfaces?: readonly string[]
  readonly fields: Readonly<Record<string, FieldDef>>
}

/** An interface; `resolveType` names the object type of a value. */
export interface InterfaceType {
  readonly kind: 'interface'
  readonly name: string
  readonly fields: Readonly<Record<string, FieldDef>>
  resolveType(value: unknown): string
}

export interface InputObjectType {
  readonly kind: 'input'
  readonly name: string
  readonly fields: Readonly<Record<string, string>>
}

/** A scalar: `parse` returns undefined for an unacceptable input value. */
export interface ScalarType {
  readonly kind: 'scalar'
  readonly name: string
  parse(value: unknown): { value: unknown } | undefined
  /** The value as the reply carries it; the value itself when absent. */
  serialize?(value: unknown): unknown
}

export interface EnumType {
  readonly kind: 'enum'
  readonly name: string
  readonly values: readonly string[]
}

export type NamedType = ObjectType | InterfaceType | InputObjectType | ScalarType | EnumType

/** An enum value written in a document (as opposed to a string), so `String` inputs can refuse it. */
export class EnumLiteral {
  readonly value: string
  constructor(value: string) {
    this.value = value
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)
const isInt32 = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= -(2 ** 31) && v < 2 ** 31
const rfc3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i

/**
 * A stored time as graphql-go's `DateTime` writes it (`time.Time.MarshalText`, RFC 3339 with
 * nanoseconds): UTC, the fraction's trailing zeros trimmed, none when it is zero. The offset is
 * applied to the digits, so a fraction finer than milliseconds is kept.
 */
export function goDateTime(text: string): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|([+-])(\d{2}):(\d{2}))$/i.exec(text)
  if (m === null) return text
  const [, y, mo, d, h, mi, s, fraction = '', zone, sign, oh, om] = m
  const offsetMinutes = zone!.toUpperCase() === 'Z' ? 0 : (sign === '-' ? -1 : 1) * (Number(oh) * 60 + Number(om))
  const utcMs = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi) - offsetMinutes, Number(s))
  // Go keeps nine digits of a longer fraction (time.Parse cuts the rest).
  return formatRfc3339Nano(BigInt(utcMs) * 1_000_000n + BigInt(fraction.padEnd(9, '0').slice(0, 9)))
}

export const scalars: readonly ScalarType[] = [
  { kind: 'scalar', name: 'String', parse: (v) => (typeof v === 'string' ? { value: v } : undefined) },
  { kind: 'scalar', name: 'Boolean', parse: (v) => (typeof v === 'boolean' ? { value: v } : undefined) },
  { kind: 'scalar', name: 'Int', parse: (v) => (isInt32(v) ? { value: v } : undefined) },
  { kind: 'scalar', name: 'Float', parse: (v) => (typeof v === 'number' ? { value: v } : undefined) },
  { kind: 'scalar', name: 'ID', parse: (v) => (typeof v === 'string' ? { value: v } : isInt32(v) ? { value: String(v) } : undefined) },
  {
    kind: 'scalar',
    name: 'DateTime',
    parse: (v) => (typeof v === 'string' && rfc3339.test(v) && !Number.isNaN(Date.parse(v)) ? { value: new Date(v).toISOString() } : undefined),
    serialize: (v) => (typeof v === 'string' ? goDateTime(v) : v),
  },
  ...['UserStandardAttributes', 'UserCustomAttributes', 'IdentityClaims', 'AuthenticatorClaims'].map(
    (name): ScalarType => ({ kind: 'scalar', name, parse: (v) => (isObject(v) ? { value: v } : undefined) }),
  ),
]

/**
 * Coerces an input value (from variables, or a literal already turned into JS) to `ref`.
 * Throws a message describing the first problem; `undefined` means "not given".
 */
export function coerceInput(ref: TypeRef, value: unknown, types: ReadonlyMap<string, NamedType>, where = ''): unknown {
  if (ref.kind === 'nonNull') {
    if (value === undefined || value === null) throw new Error(`${where}Expected "${typeText(ref)}", found null.`)
    return coerceInput(ref.of, value, types, where)
  }
  if (value === undefined || value === null) return null
  if (ref.kind === 'list') {
    const items = Array.isArray(value) ? value : [value]
    return items.map((item, i) => coerceInput(ref.of, item, types, `${where}In element #${i}: `))
  }
  const name = namedType(ref)
  const type = types.get(name)
  switch (type?.kind) {
    case 'scalar': {
      const parsed = value instanceof EnumLiteral ? undefined : type.parse(value)
      if (parsed === undefined) throw new Error(`${where}Expected type "${name}", found ${show(value)}.`)
      return parsed.value
    }
    case 'enum': {
      const given = value instanceof EnumLiteral ? value.value : value
      if (typeof given !== 'string' || !type.values.includes(given)) throw new Error(`${where}Expected type "${name}", found ${show(value)}.`)
      return given
    }
    case 'input': {
      if (!isObject(value)) throw new Error(`${where}Expected "${name}", found not an object.`)
      for (const key of Object.keys(value)) {
        if (!Object.hasOwn(type.fields, key)) throw new Error(`${where}In field "${key}": Unknown field.`)
      }
      const out: Record<string, unknown> = {}
      for (const [key, fieldType] of Object.entries(type.fields)) {
        const coerced = coerceInput(parseTypeRef(fieldType), value[key], types, `${where}In field "${key}": `)
        if (value[key] !== undefined) out[key] = coerced
      }
      return out
    }
    default:
      throw new Error(`${where}Unknown input type "${name}".`)
  }
}

function show(value: unknown): string {
  if (value instanceof EnumLiteral) return value.value
  return JSON.stringify(value) ?? String(value)
}
