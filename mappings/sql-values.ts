/**
 * Reading SQL column values the way legacy schemas use them: flags stored as booleans, 0/1,
 * 't'/'f', 'Y'/'N', or as "set when non-NULL" timestamps (`deleted_at`, `confirmed_at`).
 */

const trueWords = new Set(['true', 't', 'yes', 'y', '1', 'on'])
const falseWords = new Set(['false', 'f', 'no', 'n', '0', 'off', ''])

/** `true` or `false` for a boolean word (`t`, `yes`, `1`, `off`, …), `undefined` for any other text (an empty string too). */
export function booleanWord(text: string): boolean | undefined {
  const word = text.trim().toLowerCase()
  if (word === '') return undefined
  return trueWords.has(word) ? true : falseWords.has(word) ? false : undefined
}

/**
 * Whether a marker column is set: `true`, a non-zero number, a truthy word, or any other non-empty
 * value such as a timestamp. NULL, `false`, `0`, falsy words and empty strings are not set.
 */
export function isMarkerSet(value: unknown): boolean {
  if (value === null || value === undefined) return false
  if (typeof value === 'boolean') return value
  if (typeof value === 'number' || typeof value === 'bigint') return Number(value) !== 0
  if (typeof value === 'string') {
    const text = value.trim().toLowerCase()
    if (falseWords.has(text)) return false
    return true
  }
  return true
}

/**
 * A flag from a boolean-ish or timestamp column, or `undefined` when the value is a string that
 * is neither a known word nor a date (so the mapping can warn instead of guessing).
 */
export function readFlag(value: unknown): boolean | undefined {
  if (value === null || value === undefined) return false
  if (typeof value === 'boolean') return value
  if (typeof value === 'number' || typeof value === 'bigint') return Number(value) !== 0
  if (typeof value === 'string') {
    // An empty string reads as false here, as it marks no date.
    if (value.trim() === '') return false
    return booleanWord(value) ?? (Number.isNaN(Date.parse(value)) ? undefined : true)
  }
  return value instanceof Date ? true : undefined
}

/** Whether a lockout-end timestamp (ASP.NET `LockoutEnd`) lies after `now`. */
export function isUntilInFuture(value: unknown, now: number): boolean {
  if (value === null || value === undefined || value === '') return false
  const time = value instanceof Date ? value.getTime() : Date.parse(String(value))
  return !Number.isNaN(time) && time > now
}

/** A timestamp value as RFC 3339 (`2024-05-01T10:00:00.000Z`), or `undefined` when it is not one. */
export function toTimestamp(value: unknown): string | undefined {
  if (value === null || value === undefined || value === '') return undefined
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? undefined : value.toISOString()
  if (typeof value !== 'string') return undefined
  const time = Date.parse(/^\d{4}-\d\d-\d\d \d/.test(value) && !/[zZ]|[+-]\d\d:?\d\d$/.test(value) ? `${value.replace(' ', 'T')}Z` : value)
  return Number.isNaN(time) ? undefined : new Date(time).toISOString()
}
