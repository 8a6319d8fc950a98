import { createReadStream } from 'node:fs'
import { createInterface } from 'node:readline'

/** Outcomes that leave a record in the dead letter. */
const deadOutcomes = new Set(['failed', 'rejected'])

/**
 * The records whose last outcome in a report is a dead letter: what `backfill --retry-failed`
 * sends again. A record is named by its source key; a line that could not be read has no key but
 * its place (`file:line`), so it is also named by origin, and a fixed line found there again is
 * retried whatever key it now reads as.
 */
export class FailedRecords {
  /** source key → origin of its last dead-lettered line */
  readonly #failing = new Map<string, string>()
  /** origins of dead-lettered lines that had no key of their own (unreadable: key = origin); made at the first `has` */
  #origins: Set<string> | undefined
  /** failing keys a `has` matched */
  readonly #found = new Set<string>()

  /** Takes one report line's outcome; later lines win over earlier ones for the same key. */
  take(sourceKey: string, origin: string, outcome: string): void {
    this.#origins = undefined
    if (deadOutcomes.has(outcome)) {
      this.#failing.set(sourceKey, origin)
      return
    }
    this.#failing.delete(sourceKey)
    // A line that could not be read, read now as a record that got an outcome, is settled.
    if (sourceKey !== origin && this.#failing.get(origin) === origin) this.#failing.delete(origin)
  }

  /** Source keys whose last outcome is a dead letter. */
  get size(): number {
    return this.#failing.size
  }

  /** Whether a record read from the source is one to send again. */
  has(sourceKey: string, origin: string): boolean {
    if (this.#failing.has(sourceKey)) {
      this.#found.add(sourceKey)
      return true
    }
    this.#origins ??= this.#unreadOrigins()
    if (!this.#origins.has(origin)) return false
    this.#found.add(origin)
    return true
  }

  /** Failing keys no record read so far matched: after a whole read, those the source no longer has. */
  get notFound(): number {
    return this.#failing.size - this.#found.size
  }

  #unreadOrigins(): Set<string> {
    const origins = new Set<string>()
    for (const [key, origin] of this.#failing) if (key === origin) origins.add(origin)
    return origins
  }
}

/**
 * Reads a report file (`<name>.report.ndjson`) line by line, keeping only the keys still failing,
 * so memory follows the dead letters, not the report. A line that is not a whole JSON report
 * line (cut short by a crash) is passed over. A missing file gives an empty set.
 */
export async function readFailedRecords(reportPath: string): Promise<FailedRecords> {
  const failed = new FailedRecords()
  const stream = createReadStream(reportPath, { encoding: 'utf8' })
  const lines = createInterface({ input: stream, crlfDelay: Infinity })
  try {
    for await (const line of lines) {
      if (line.length === 0) continue
      let entry: unknown
      try {
        entry = JSON.parse(line)
      } catch {
        continue
      }
      if (entry === null || typeof entry !== 'object') continue
      const { source_key: key, origin, outcome } = entry as Record<string, unknown>
      if (typeof key !== 'string' || typeof origin !== 'string' || typeof outcome !== 'string') continue
      failed.take(key, origin, outcome)
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return failed
    throw error
  } finally {
    lines.close()
    stream.destroy()
  }
  return failed
}
