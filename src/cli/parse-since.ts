import { InvalidArgumentError } from 'commander'

/** Parses `--since` as an ISO 8601 date-time (or date); a clear usage error otherwise. */
export function parseSince(value: string): Date {
  const date = new Date(value)
  if (Number.isNaN(date.getTime()) || !/^\d{4}-\d{2}-\d{2}/.test(value)) {
    throw new InvalidArgumentError(`expected an ISO 8601 time such as 2026-01-31T00:00:00Z, got "${value}"`)
  }
  return date
}
