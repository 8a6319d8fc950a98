import type { UsageLimit } from './config.ts'

/** Usage names Authgear reserves at request time, with the `info.name` its 429 reports. */
export const UsageNames = { user_import: 'UserImport', user_export: 'UserExport' } as const
export type UsageName = keyof typeof UsageNames

function periodKey(period: UsageLimit['period'], now: Date): string {
  const iso = now.toISOString()
  return period === 'day' ? iso.slice(0, 10) : iso.slice(0, 7)
}

/**
 * Blocking usage limits (`usage.limits.<name>`): a reservation of `n` is refused when any limit's
 * current period (UTC day or month) would go over its quota; nothing is counted then. Counters
 * reset at 00:00 UTC and on the 1st of the month.
 */
export class UsageQuota {
  readonly #limits: Partial<Record<UsageName, readonly UsageLimit[]>>
  readonly #used = new Map<string, number>()

  constructor(limits: Partial<Record<UsageName, readonly UsageLimit[]>>) {
    this.#limits = { ...limits }
  }

  /** Replaces the limits of one usage, as a plan change would; usage so far is kept. */
  setLimits(name: UsageName, limits: readonly UsageLimit[]): void {
    this.#limits[name] = limits
  }

  /** Reserves `n`; returns the period of the first limit that refused, or undefined when reserved. */
  reserve(name: UsageName, n: number, now = new Date()): UsageLimit['period'] | undefined {
    const limits = this.#limits[name] ?? []
    const keys = limits.map((limit) => `${name}:${limit.period}:${periodKey(limit.period, now)}`)
    for (const [i, limit] of limits.entries()) {
      if ((this.#used.get(keys[i]!) ?? 0) + n > limit.quota) return limit.period
    }
    for (const key of new Set(keys)) this.#used.set(key, (this.#used.get(key) ?? 0) + n)
    return undefined
  }

  /** Reserved so far in the current period. */
  used(name: UsageName, period: UsageLimit['period'], now = new Date()): number {
    return this.#used.get(`${name}:${period}:${periodKey(period, now)}`) ?? 0
  }
}
