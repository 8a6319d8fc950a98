import { InvalidArgumentError } from 'commander'

const isoTime = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/i

/**
 * Parses `--since` as an ISO 8601 date-time (or date); a clear usage error otherwise. The whole
 * text must be one, with each field in range: `new Date` alone turns 2024-02-30 into March 1st and
 * reads a month name out of trailing words ("2024-01-01 junk" is June).
 */
export function parseSince(value: string): Date {
  const match = isoTime.exec(value.trim())
  const date = match === null ? new Date(Number.NaN) : new Date(value.trim())
  if (match === null || Number.isNaN(date.getTime()) || !fieldsInRange(match)) {
    throw new InvalidArgumentError(`expected an ISO 8601 time such as 2026-01-31T00:00:00Z, got "${value}"`)
  }
  return date
}

function fieldsInRange(match: RegExpExecArray): boolean {
  const [year, month, day, hour = 0, minute = 0, second = 0] = match.slice(1, 7).map((field) => (field === undefined ? undefined : Number(field))) as number[]
  const calendar = new Date(Date.UTC(year!, month! - 1, day!))
  return calendar.getUTCMonth() === month! - 1 && calendar.getUTCDate() === day && hour <= 23 && minute <= 59 && second <= 59
}
