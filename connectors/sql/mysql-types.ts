import type { TypeCast } from 'mysql2'

/**
 * mysql2 value conversion: TINYINT(1) (MySQL's BOOLEAN) and BIT(1) become booleans; DATETIME and TIMESTAMP
 * become ISO strings (the session runs in UTC); zero dates become NULL; the rest as mysql2 reads them.
 */
export const mysqlTypeCast: TypeCast = (field, next) => {
  if (field.type === 'TINY' && field.length === 1) {
    const text = field.string()
    return text === null ? null : text !== '0'
  }
  // BIT(1) is the other boolean of MySQL schemas (Hibernate's default, Keycloak's ENABLED):
  // mysql2 gives a one-byte Buffer, which would read as the text "\u0000" or "\u0001".
  if (field.type === 'BIT' && field.length === 1) {
    const bits = field.buffer()
    return bits === null ? null : bits.some((byte) => byte !== 0)
  }
  if (field.type === 'DATETIME' || field.type === 'TIMESTAMP') {
    const text = field.string()
    if (text === null || isZeroDate(text)) return null
    // `YYYY-MM-DD HH:MM:SS[.ffffff]` in the UTC session: rewritten as RFC 3339 without a Date round trip.
    if (text.length >= 19 && text.charCodeAt(10) === 32 && text.charCodeAt(4) === 45 && !text.startsWith('0000')) return `${text.slice(0, 10)}T${text.slice(11)}Z`
    const date = new Date(`${text.replace(' ', 'T')}Z`)
    return Number.isNaN(date.getTime()) ? text : date.toISOString()
  }
  if (field.type === 'DATE' || field.type === 'NEWDATE') {
    const text = field.string()
    return text === null || isZeroDate(text) ? null : text
  }
  return next()
}

/**
 * `0000-00-00`: MySQL's "no date", the default of a NOT NULL date column in legacy schemas (a
 * `deleted_at` or `confirmed_at` never set). Read as text it counts as set: every user soft-deleted
 * or locked. It is read as NULL, as the schema means it.
 */
function isZeroDate(text: string): boolean {
  return text.startsWith('0000-00-00')
}
