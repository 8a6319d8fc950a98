import { QuotaExceededError } from '../../src/core/errors.ts'
import type { ApiErrorBody } from './import-job.ts'

/**
 * Builds the error for 429 `UsageLimitExceeded`. Authgear's usage counters reset at 00:00 UTC
 * (period `day`) and on the 1st of the month at 00:00 UTC (period `month`); the message says
 * when, so an operator knows when a resumed run can continue.
 */
export function quotaExceededError(body: ApiErrorBody, nowMs: number): QuotaExceededError {
  const rawPeriod = body.info?.['period']
  const period = typeof rawPeriod === 'string' ? rawPeriod : 'unknown'
  const usage = typeof body.info?.['usage_name'] === 'string' ? body.info['usage_name'] : 'user_import'
  const resetsAt = quotaResetTime(period, nowMs)
  const when =
    resetsAt === undefined
      ? 'the reset time is unknown'
      : `it resets at ${resetsAt.toISOString()} (${period === 'day' ? '00:00 UTC next day' : '00:00 UTC on the 1st of next month'})`
  const consequence =
    usage === 'user_export'
      ? 'No export task was started by the rejected request; run the command again after the reset or ask for a higher quota'
      : 'Nothing from the rejected request was imported; resume the run after the reset or ask for a higher quota'
  const message = `Authgear's ${usage} usage quota for this ${period === 'unknown' ? 'period' : period} is exhausted (429 UsageLimitExceeded); ${when}. ${consequence}`
  return new QuotaExceededError(period, message)
}

/** The next reset instant of a usage period, or undefined for a period Authgear does not define. */
export function quotaResetTime(period: string, nowMs: number): Date | undefined {
  const now = new Date(nowMs)
  if (period === 'day') return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1))
  if (period === 'month') return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1))
  return undefined
}
