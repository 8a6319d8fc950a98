import { AbortedError } from '../../src/core/errors.ts'

/** Retry settings of the Admin API client (the YAML `sink.retry` block). */
export interface RetryOptions {
  /** Total attempts, the first one included. */
  readonly maxAttempts: number
  readonly baseMs: number
  /** Cap of the exponential delay before jitter. */
  readonly maxMs: number
}

/**
 * Upper bound on a server-requested `Retry-After` wait, so that a hostile or broken header cannot
 * park the pipeline for hours; the wait is otherwise honoured even when it exceeds `maxMs`.
 */
export const MAX_RETRY_AFTER_MS = 15 * 60_000

/**
 * Exponential backoff with full jitter: a uniform delay in [0, min(maxMs, baseMs·2^(n-1))) after
 * the n-th failed attempt. Full jitter spreads replicas that failed together.
 */
export function backoffDelay(failedAttempt: number, retry: RetryOptions, random: () => number = Math.random): number {
  const ceiling = Math.min(retry.maxMs, retry.baseMs * 2 ** Math.max(0, failedAttempt - 1))
  return Math.floor(random() * ceiling)
}

/**
 * Parses a `Retry-After` header: delta-seconds or an HTTP date. Returns milliseconds to wait
 * (0 for a date in the past), or undefined when absent or unparseable.
 */
export function parseRetryAfter(value: string | undefined, nowMs: number): number | undefined {
  if (value === undefined) return undefined
  const trimmed = value.trim()
  if (trimmed === '') return undefined
  let ms: number
  if (/^\d+$/.test(trimmed)) {
    ms = Number(trimmed) * 1000
  } else {
    // HTTP dates always name the month; without the check Date.parse reads "-1" as a year.
    const at = /[a-z]{3}/i.test(trimmed) ? Date.parse(trimmed) : Number.NaN
    if (Number.isNaN(at)) return undefined
    ms = Math.max(0, at - nowMs)
  }
  return Math.min(ms, MAX_RETRY_AFTER_MS)
}

/** Resolves after `ms`, or rejects with `AbortedError` as soon as `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new AbortedError('Admin API request aborted'))
      return
    }
    const onAbort = (): void => {
      clearTimeout(timer)
      reject(new AbortedError('Admin API request aborted while waiting to retry'))
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}
