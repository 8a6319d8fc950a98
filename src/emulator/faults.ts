import type { IncomingMessage } from 'node:http'
import { setTimeout as sleep } from 'node:timers/promises'
import { Errors, type ApiErrorBody } from './api-error.ts'
import type { FaultSettings } from './config.ts'

/** What happened to one request because of fault injection; counted for tests. */
export interface FaultCounts {
  errors: number
  stalls: number
  resets: number
}

/**
 * Request-level fault injection driven by the live (mutable) settings. Errors strike before any
 * work; stalls and resets after it, so a reset POST may have created its job all the same.
 */
export class FaultInjector {
  readonly settings: FaultSettings
  readonly counts: FaultCounts = { errors: 0, stalls: 0, resets: 0 }
  readonly #random: () => number

  constructor(settings: FaultSettings, random: () => number = Math.random) {
    this.settings = settings
    this.#random = random
  }

  /** A 500 or 503 JSON error to answer instead of handling the request, if one is due. */
  injectedError(): ApiErrorBody | undefined {
    if (this.settings.error_rate <= 0 || this.#random() >= this.settings.error_rate) return undefined
    this.counts.errors++
    return this.#random() < 0.5 ? Errors.unexpected() : Errors.serviceUnavailable()
  }

  /**
   * Runs just before the reply is written: waits `latency_ms`, maybe destroys the socket (true
   * = do not answer), maybe holds the reply for `stall_ms`.
   */
  async beforeReply(req: IncomingMessage): Promise<boolean> {
    const { latency_ms, reset_rate, stall_rate, stall_ms } = this.settings
    if (latency_ms > 0) await sleep(latency_ms)
    if (reset_rate > 0 && this.#random() < reset_rate) {
      this.counts.resets++
      req.socket.resetAndDestroy()
      return true
    }
    if (stall_rate > 0 && this.#random() < stall_rate) {
      this.counts.stalls++
      await sleep(stall_ms)
    }
    return false
  }
}
