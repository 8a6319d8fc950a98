import type { TypeCast } from 'mysql2'

/**
 * mysql2 value conversion: TINYINT(1) (MySQL's BOOLEAN) becomes a boolean; DATETIME and TIMESTAMP
 * become ISO strings (the session runs in UTC); the rest as mysql2 reads them.
 */
export const mysqlTypeCast: TypeCast = (field, next) => {
  if (field.type === 'TINY' && field.length === 1) {
    const text = field.string()
    return text === null ? null : text !== '0'
  }
  if (field.type === 'DATETIME' || field.type === 'TIMESTAMP') {
    const text = field.string()
    if (text === null) return null
    // `YYYY-MM-DD HH:MM:SS[.ffffff]` in the UTC session: rewritten as RFC 3339 without a Date round trip.
    if (text.length >= 19 && text.charCodeAt(10) === 32 && text.charCodeAt(4) === 45 && !text.startsWith('0000')) return `${text.slice(0, 10)}T${text.slice(11)}Z`
    const date = new Date(`${text.replace(' ', 'T')}Z`)
    return Number.isNaN(date.getTime()) ? text : date.toISOString()
  }
  return next()
}
