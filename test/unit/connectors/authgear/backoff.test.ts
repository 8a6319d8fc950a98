import { describe, expect, it } from 'vitest'
import { AbortedError } from '../../../../src/core/errors.ts'
import { MAX_RETRY_AFTER_MS, backoffDelay, parseRetryAfter, sleep } from '../../../../connectors/authgear/backoff.ts'

const retry = { maxAttempts: 8, baseMs: 250, maxMs: 30_000 }

describe('backoffDelay', () => {
  it('grows exponentially under full jitter and stops at max_ms', () => {
    expect(backoffDelay(1, retry, () => 0.999)).toBe(249)
    expect(backoffDelay(3, retry, () => 0.999)).toBe(999)
    expect(backoffDelay(20, retry, () => 0.999)).toBe(29_970)
    expect(backoffDelay(5, retry, () => 0)).toBe(0)
  })
})

describe('parseRetryAfter', () => {
  const now = Date.UTC(2026, 0, 2, 3, 4, 5)
  it('reads delta-seconds and HTTP dates', () => {
    expect(parseRetryAfter('3', now)).toBe(3000)
    expect(parseRetryAfter(new Date(now + 7000).toUTCString(), now)).toBe(7000)
    expect(parseRetryAfter(new Date(now - 7000).toUTCString(), now)).toBe(0)
  })
  it('ignores absent or garbled values and caps absurd waits', () => {
    expect(parseRetryAfter(undefined, now)).toBeUndefined()
    expect(parseRetryAfter('soon', now)).toBeUndefined()
    expect(parseRetryAfter('-1', now)).toBeUndefined()
    expect(parseRetryAfter('86400', now)).toBe(MAX_RETRY_AFTER_MS)
  })
})

describe('sleep', () => {
  it('rejects with AbortedError as soon as the signal aborts', async () => {
    const controller = new AbortController()
    const started = performance.now()
    const waiting = sleep(10_000, controller.signal)
    setTimeout(() => controller.abort(), 20)
    await expect(waiting).rejects.toBeInstanceOf(AbortedError)
    expect(performance.now() - started).toBeLessThan(1000)
  })
  it('rejects at once when already aborted', async () => {
    await expect(sleep(10_000, AbortSignal.abort())).rejects.toBeInstanceOf(AbortedError)
  })
})
