import { describe, expect, it } from 'vitest'
import { describeClock } from '../../../../connectors/authgear/auth-diagnosis.ts'

describe('describeClock', () => {
  const now = Date.UTC(2026, 0, 2, 3, 4, 5)
  it('clears the clock when it agrees with the server within a few seconds', () => {
    expect(describeClock(new Date(now - 2000).toUTCString(), now)).toContain('not the cause')
  })
  it('says how far and which way the local clock is off, and blames it only when the token cannot allow it', () => {
    expect(describeClock(new Date(now - 600_000).toUTCString(), now)).toMatch(/600 s ahead of .*synchronise/)
    expect(describeClock(new Date(now + 200_000).toUTCString(), now)).toMatch(/200 s behind .*synchronise/)
    // iat is back-dated 30 s and exp is minutes ahead: even a server allowing no skew takes these.
    expect(describeClock(new Date(now - 12_000).toUTCString(), now)).toMatch(/12 s ahead of .*not the cause/)
    expect(describeClock(new Date(now + 45_000).toUTCString(), now)).toMatch(/45 s behind .*not the cause/)
  })
  it('says when there is no Date header to compare with', () => {
    expect(describeClock(undefined, now)).toContain('could not be compared')
  })
})
