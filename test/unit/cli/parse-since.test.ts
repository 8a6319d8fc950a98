import { describe, expect, it } from 'vitest'
import { parseSince } from '../../../src/cli/parse-since.ts'

describe('parseSince', () => {
  it('reads ISO 8601 dates and date-times, with or without a zone', () => {
    expect(parseSince('2024-02-29').toISOString()).toBe('2024-02-29T00:00:00.000Z')
    expect(parseSince('2024-01-31T12:30:00Z').toISOString()).toBe('2024-01-31T12:30:00.000Z')
    expect(parseSince('2024-01-31T12:30:00.250+02:00').toISOString()).toBe('2024-01-31T10:30:00.250Z')
    expect(parseSince('2024-01-31 12:30Z').toISOString()).toBe('2024-01-31T12:30:00.000Z')
  })

  it('refuses days a month has not, fields out of range and trailing text, which new Date would turn into another time', () => {
    for (const text of ['2024-02-30', '2023-02-29', '2024-13-01', '2024-01-01T24:00:00Z', '2024-01-01T10:60Z', '2024-01-01 junk', '2024-01-01T00:00:00Z tomorrow', 'yesterday', '']) {
      expect(() => parseSince(text), text).toThrow(/expected an ISO 8601 time/)
    }
  })
})
