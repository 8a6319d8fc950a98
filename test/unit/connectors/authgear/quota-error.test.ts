import { describe, expect, it } from 'vitest'
import { quotaExceededError } from '../../../../connectors/authgear/quota-error.ts'

const body = (usage: string, period: string) => ({ name: 'TooManyRequest', reason: 'UsageLimitExceeded', message: 'usage limit exceeded', code: 429, info: { usage_name: usage, period } })

describe('quotaExceededError', () => {
  it('names the usage, the period and when it resets, in words for imports and for exports', () => {
    const now = Date.parse('2026-11-23T07:00:00Z')
    const imports = quotaExceededError(body('user_import', 'day'), now)
    expect(imports.period).toBe('day')
    expect(imports.message).toBe("Authgear's user_import usage quota for this day is exhausted (429 UsageLimitExceeded); it resets at 2026-11-24T00:00:00.000Z (00:00 UTC next day). Nothing from the rejected request was imported; resume the run after the reset or ask for a higher quota")
    const exports = quotaExceededError(body('user_export', 'month'), now)
    expect(exports.message).toBe("Authgear's user_export usage quota for this month is exhausted (429 UsageLimitExceeded); it resets at 2026-12-01T00:00:00.000Z (00:00 UTC on the 1st of next month). No export task was started by the rejected request; run the command again after the reset or ask for a higher quota")
  })
})
