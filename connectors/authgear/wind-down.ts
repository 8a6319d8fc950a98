import { AbortedError } from '../../src/core/errors.ts'
import { sleep } from './backoff.ts'

/** A call given up because a graceful stop's window for retries was over (an `AbortedError`: the run's stop is a resumable one). */
export class RetriesGivenUpError extends AbortedError {}

/**
 * A graceful stop's bound on retries: once it begins, a failed call is retried only within
 * `windowMs` of it, and a wait for a retry under way ends when the window does. Without it a
 * stalled or failing Authgear holds the stop for every attempt `max_attempts` allows, each up to
 * the request timeout plus a backoff (or a `Retry-After` of minutes): past any orchestrator's grace
 * period. The records of calls given up have no outcome, so the next run reads them again.
 */
export class WindDown {
  readonly #now: () => number
  readonly #ended = new AbortController()
  #since: number | undefined
  #windowMs = 0

  constructor(now: () => number = Date.now) {
    this.#now = now
  }

  /** The stop has begun (later calls change nothing). */
  begin(windowMs: number): void {
    if (this.#since !== undefined) return
    this.#since = this.#now()
    this.#windowMs = windowMs
    setTimeout(() => this.#ended.abort(), windowMs).unref()
  }

  /**
   * Waits `delayMs` before a retry of `what`, unless the stop's window is over by then: then, or
   * when the window ends during the wait, rejects with an `AbortedError` saying so. `signal` (the
   * hard stop) still ends the wait at once.
   */
  async beforeRetry(delayMs: number, what: string, signal: AbortSignal | undefined): Promise<void> {
    if (this.#since !== undefined && this.#now() + delayMs - this.#since > this.#windowMs) throw this.#givenUp(what)
    try {
      await sleep(delayMs, signal === undefined ? this.#ended.signal : AbortSignal.any([signal, this.#ended.signal]))
    } catch (error) {
      if (signal?.aborted !== true && this.#ended.signal.aborted) throw this.#givenUp(what)
      throw error
    }
  }

  #givenUp(what: string): RetriesGivenUpError {
    return new RetriesGivenUpError(`stopping: ${what} is not retried ${Math.round(this.#windowMs / 1000)} s after the stop was asked for`)
  }
}
