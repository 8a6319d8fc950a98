import { setTimeout as sleep } from 'node:timers/promises'
import type { Logger } from '../core/run-context.ts'

/**
 * Waits `seconds` (`observability.linger_seconds`) before the metrics server of a finished run is
 * closed, so a Prometheus scrape still finds the final counts. A run that ends between two scrapes
 * would otherwise lose every increment since the last one. Ends at once when `signal` aborts.
 */
export async function lingerForScrape(seconds: number, signal: AbortSignal, logger: Logger): Promise<void> {
  if (seconds <= 0 || signal.aborted) return
  logger.info({ seconds }, 'Run ended; /metrics stays up for a final scrape (observability.linger_seconds).')
  await sleep(seconds * 1000, undefined, { signal }).catch(() => undefined)
}
