import type { z } from 'zod'

/** A yes/no answer to "would this schema accept the value?", with no issue objects built. */
export type Predicate = (value: unknown) => boolean

/**
 * Compiles a zod schema into a plain predicate that never accepts what the schema refuses (it may
 * refuse an unusual value the schema takes, such as a record object with its own prototype).
 *
 * zod's `safeParse` builds a result and an issue list per field, nested wrappers and all: on a
 * record with thirty optional fields that costs more than the mapping itself. The schema stays
 * the one definition; this walks its definition once and returns closures for the constructs the
 * record schema uses. A construct it does not know makes the whole predicate answer `false`, so the
 * caller falls back to `safeParse`, which is also what produces the messages for a failing value.
 */
export function compileCheck(schema: z.ZodType): Predicate {
  try {
    return compile(schema)
  } catch {
    return () => false
  }
}

interface Def {
  readonly type: string
  readonly [key: string]: unknown
}

function defOf(schema: unknown): Def {
  return (schema as { _zod: { def: Def } })._zod.def
}

function compile(schema: unknown): Predicate {
  const def = defOf(schema)
  switch (def.type) {
    case 'optional': {
      const inner = compile(def['innerType'])
      return (v) => v === undefined || inner(v)
    }
    case 'nullable': {
      const inner = compile(def['innerType'])
      return (v) => v === null || inner(v)
    }
    case 'string':
      return withChecks(def, (v) => typeof v === 'string')
    case 'boolean':
      return withChecks(def, (v) => typeof v === 'boolean')
    case 'unknown':
      return withChecks(def, () => true)
    case 'literal': {
      const values = def['values'] as readonly unknown[]
      return withChecks(def, (v) => values.includes(v))
    }
    case 'array': {
      const element = compile(def['element'])
      return withChecks(def, (v) => {
        if (!Array.isArray(v)) return false
        // Indexed, as zod reads it: a hole in a sparse array is `undefined`, which `every` would skip.
        for (let i = 0; i < v.length; i++) if (!element(v[i])) return false
        return true
      })
    }
    case 'record': {
      if (defOf(def['keyType']).type !== 'string' || (defOf(def['keyType'])['checks'] as unknown[] | undefined)?.length) throw new Error('record keys other than plain strings')
      const value = compile(def['valueType'])
      return withChecks(def, (v) => {
        if (!isPlainObject(v)) return false
        // Every own key, as zod visits them: a symbol key fails a string key schema.
        for (const key of Reflect.ownKeys(v)) {
          if (typeof key === 'symbol' || !value(v[key])) return false
        }
        return true
      })
    }
    case 'object':
      return withChecks(def, compileObject(def))
    default:
      throw new Error(`unsupported zod type ${def.type}`)
  }
}

function compileObject(def: Def): Predicate {
  const shape = def['shape'] as Record<string, unknown>
  const keys = Object.keys(shape)
  const checks = keys.map((key) => compile(shape[key]))
  const optional = checks.map((check) => check(undefined))
  const known = new Set(keys)
  const catchall = def['catchall'] === undefined ? 'strip' : defOf(def['catchall']).type
  if (catchall !== 'never' && catchall !== 'unknown' && catchall !== 'strip') throw new Error(`unsupported catchall ${catchall}`)
  return (v) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return false
    const record = v as Record<string, unknown>
    // Every field of the schema is read, as zod reads it (an inherited getter or a non-enumerable
    // property counts too); an absent optional field costs one property read.
    for (let i = 0; i < keys.length; i++) {
      const value = record[keys[i] as string]
      if (value === undefined ? !optional[i] : !(checks[i] as Predicate)(value)) return false
    }
    if (catchall === 'never') for (const key in record) if (!known.has(key)) return false
    return true
  }
}

/** Adds the schema's own checks (length bounds, formats, refinements) after its type test. */
function withChecks(def: Def, base: Predicate): Predicate {
  const checks = ((def['checks'] as unknown[] | undefined) ?? []).map(compileRefinement)
  // A string format schema (`z.iso.datetime()`) carries its pattern on its own definition.
  if (def['check'] === 'string_format') checks.unshift(compileRefinement({ _zod: { def } }))
  if (checks.length === 0) return base
  return (v) => {
    if (!base(v)) return false
    for (const check of checks) if (!check(v)) return false
    return true
  }
}

function compileRefinement(check: unknown): Predicate {
  const def = defOf(check)
  switch (def['check']) {
    case 'min_length': {
      const minimum = def['minimum'] as number
      return (v) => (v as { length: number }).length >= minimum
    }
    case 'max_length': {
      const maximum = def['maximum'] as number
      return (v) => (v as { length: number }).length <= maximum
    }
    case 'string_format': {
      const pattern = def['pattern']
      if (!(pattern instanceof RegExp)) throw new Error(`format ${String(def['format'])} without a pattern`)
      return (v) => {
        pattern.lastIndex = 0
        return pattern.test(v as string)
      }
    }
    case 'custom': {
      const fn = def['fn'] as (value: unknown) => unknown
      return (v) => {
        const result = fn(v)
        return !(result instanceof Promise) && Boolean(result)
      }
    }
    default:
      throw new Error(`unsupported zod check ${String(def['check'])}`)
  }
}

/** A plain object by zod's own test (an own `constructor` function must look like a class's), and of plain prototype. */
function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false
  const proto = Object.getPrototypeOf(v) as unknown
  if (proto !== Object.prototype && proto !== null) return false
  const ctor = (v as { constructor?: unknown }).constructor
  if (typeof ctor !== 'function') return true
  const prototype = (ctor as { prototype?: unknown }).prototype
  return typeof prototype === 'object' && prototype !== null && Object.prototype.hasOwnProperty.call(prototype, 'isPrototypeOf')
}
