import { sleep } from './backoff.ts'

export interface DeleteLimitsOptions {
  /** Most mutations per second, over all concurrent jobs. */
  readonly maxPerSecond: number
  /** Most deletes admitted within `windowMs`; one more trips the limit for the rest of the run. */
  readonly safetyLimit: number
  readonly windowMs: number
  readonly now?: () => number
}

/**
 * The rate cap and the safety limit of source deletes, shared by every job of a run.
 *
 * The safety limit counts deletes as they arrive in a sliding window. When more than
 * `safetyLimit` arrive within `windowMs` it trips and stays tripped: a burst of deletes usually
 * means a mistake upstream (a truncated or re-created table), and deleting users cannot be undone.
 */
export class DeleteLimits {
  readonly #intervalMs: number
  readonly #limit: number
  readonly #windowMs: number
  readonly #now: () => number
  readonly #arrivals: number[] = []
  #head = 0
  #nextSlot = 0
  #tripped = false

  constructor(options: DeleteLimitsOptions) {
    this.#intervalMs = 1000 / options.maxPerSecond
    this.#limit = options.safetyLimit
    this.#windowMs = options.windowMs
    this.#now = options.now ?? Date.now
  }

  get tripped(): boolean {
    return this.#tripped
  }

  /**
   * Counts one arriving delete. Returns `admitted`, `tripped` (this delete tripped the limit) or
   * `paused` (the limit had already tripped).
   */
  admit(): 'admitted' | 'tripped' | 'paused' {
    if (this.#tripped) return 'paused'
    const now = this.#now()
    while (this.#head < this.#arrivals.length && this.#arrivals[this.#head]! <= now - this.#windowMs) this.#head++
    if (this.#head > 1024) {
      this.#arrivals.splice(0, this.#head)
      this.#head = 0
    }
    if (this.#arrivals.length - this.#head >= this.#limit) {
      this.#tripped = true
      return 'tripped'
    }
    this.#arrivals.push(now)
    return 'admitted'
  }

  /** Waits for the next mutation slot under the rate cap. */
  async slot(signal?: AbortSignal): Promise<void> {
    const now = this.#now()
    const at = Math.max(now, this.#nextSlot)
    this.#nextSlot = at + this.#intervalMs
    if (at > now) await sleep(at - now, signal)
  }
}
