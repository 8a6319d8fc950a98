import { describe, expect, it } from 'vitest'
import { WarningTally } from '../../../src/cli/warning-tally.ts'

describe('WarningTally', () => {
  it('counts records by warning, numbers and times blanked but names of standards kept, most frequent first', () => {
    const tally = new WarningTally()
    tally.add(['identities has 2 linked accounts; link them again', 'locale left out: not a BCP 47 tag'], 'users.ndjson:1')
    tally.add(['identities has 3 linked accounts; link them again'], 'users.ndjson:2')
    tally.add(['mfa_factors[1] left out: only one TOTP factor is imported', 'mfa_factors[2] left out: only one TOTP factor is imported'], 'users.ndjson:3')
    tally.add(['lockout_end left out: a lockout that ends by itself on 2026-11-23T08:00:00.000Z is not imported'], 'users id=4')
    expect(tally.lines()).toEqual([
      '        2  identities has N linked accounts; link them again (e.g. users.ndjson:1)',
      '        1  locale left out: not a BCP 47 tag (e.g. users.ndjson:1)',
      // One record counted once, however many of its factors the warning names.
      '        1  mfa_factors[N] left out: only one TOTP factor is imported (e.g. users.ndjson:3)',
      '        1  lockout_end left out: a lockout that ends by itself on <time> is not imported (e.g. users id=4)',
    ])
  })

  it('lists no one\'s login ID: a login-ID change is counted by its kind, and emails and phone numbers are blanked', () => {
    const tally = new WarningTally()
    for (let i = 0; i < 30; i++) tally.add([`identifier_changed: email changed from old${i}@example.com to new${i}@example.com; matched by preferred_username instead`], `users/0/${i}`)
    tally.add(['mfa phone +14155552671 left out: a@example.com has one already'], 'users.ndjson:1')
    const text = tally.lines().join('\n')
    expect(text).toContain('     30  identifier_changed: a login ID changed; the user was matched by another one, which updates it (e.g. users/0/0)')
    expect(text).toContain('mfa phone <phone> left out: <email> has one already')
    expect(text).not.toMatch(/old\d+@|new\d+@|a@example|4155552671/)
  })

  it('counts the kinds past the first hundred together', () => {
    const tally = new WarningTally()
    for (let i = 0; i < 105; i++) tally.add([`custom attribute a${String.fromCharCode(97 + (i % 26))}${String.fromCharCode(97 + Math.floor(i / 26))} left out`], `f:${i}`)
    const lines = tally.lines(100)
    expect(lines).toHaveLength(101)
    expect(lines.at(-1)).toBe('        5  other warnings')
    expect(new WarningTally().lines()).toEqual([])
  })
})
