import { describe, expect, it } from 'vitest'
import { describeClock } from '../../../../connectors/authgear/auth-diagnosis.ts'

describe('describeClock', () => {
  const now = Date.UTC(2026, 0, 2, 3, 4, 5)
  it('clears the clock when it agrees with the server within a few seconds', () => {
    expect(describeClock(new Date(now - 2000).toUTCString(), now)).toContain('not the cause')
  })
  it('says how far and which way the local clock is off', () => {
    expect(describeClock(new Date(now + 45_000).toUTCString(), now)).toContain('45 s behind')
    expect(describeClock(new Date(now - 600_000).toUTCString(), now)).toContain('600 s ahead of')
  })
  it('says when there is no Date header to compare with', () => {
    expect(describeClock(undefined, now)).toContain('could not be compared')
  })
})
