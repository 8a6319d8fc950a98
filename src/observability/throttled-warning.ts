import type { Logger } from '../core/run-context.ts'

/**
 * A warning that repeats while a condition lasts (a broker down, retried every second) logged at
 * most once per `intervalMs`: the first at once, then one line saying how many were held back and
 * the latest message. Enough to see an outage begin and last without flooding the log.
 */
export function throttledWarning(logger: Logger, text: string, intervalMs = 30_000, now: () => number = Date.now): (message: string) => void {
  let lastAt = -Infinity
  let held = 0
  return (message) => {
    const at = now()
    if (at - lastAt < intervalMs) {
      held++
      return
    }
    logger.warn({ err: { message }, ...(held > 0 ? { repeated: held } : {}) }, text)
    lastAt = at
    held = 0
  }
}
