import pg from 'pg'

const { types } = pg

/**
 * `timestamp without time zone` text read as UTC (the session runs in UTC), as RFC 3339. The
 * common `YYYY-MM-DD HH:MM:SS[.ffffff]` shape is rewritten as a string (a Date round trip costs
 * more than reading the row and drops the microseconds); other shapes (BC, infinity) go through Date.
 */
function timestampUtc(text: string): string {
  if (text.length >= 19 && text.length <= 26 && text.charCodeAt(10) === 32 && text.charCodeAt(4) === 45) return `${text.slice(0, 10)}T${text.slice(11)}Z`
  const date = new Date(`${text.replace(' ', 'T')}Z`)
  return Number.isNaN(date.getTime()) ? text : date.toISOString()
}

/** `timestamp with time zone` in a UTC session prints `…+00`; rewritten as `…Z`. */
function timestampTz(text: string): string {
  if (text.endsWith('+00') && text.charCodeAt(10) === 32 && text.length <= 29) return `${text.slice(0, 10)}T${text.slice(11, -3)}Z`
  const date = new Date(text.replace(' ', 'T').replace(/([+-]\d\d)$/, '$1:00'))
  return Number.isNaN(date.getTime()) ? text : date.toISOString()
}

const overrides = new Map<number, (text: string) => unknown>([
  [types.builtins.DATE, (text) => text],
  [types.builtins.TIMESTAMP, timestampUtc],
  [types.builtins.TIMESTAMPTZ, timestampTz],
  // bigint as text: JSON-safe beyond 2^53 and round-trips as a keyset parameter.
  [types.builtins.INT8, (text) => text],
])

/**
 * Type parsers for the source's pool: dates stay `YYYY-MM-DD`, timestamps become ISO strings
 * (never a JS Date in the process's local zone), the rest as pg parses them (JSON parsed,
 * booleans, arrays).
 */
export const postgresTypes = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    const custom = overrides.get(oid)
    if (custom !== undefined && format !== 'binary') return custom
    return types.getTypeParser(oid, format as 'text')
  },
} as pg.CustomTypesConfig
