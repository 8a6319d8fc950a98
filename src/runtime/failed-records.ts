import { createReadStream } from 'node:fs'

/** Outcomes that leave a record in the dead letter. */
const deadOutcomes = new Set(['failed', 'rejected'])

/** Where a record is in an export file: `file:line` or `file:line (element n)`; undefined for other origins (a table row). */
function placeOf(origin: string): { readonly file: string; readonly line: number } | undefined {
  const match = /^(.*):(\d+)(?: \(element \d+\))?$/.exec(origin)
  return match === null ? undefined : { file: match[1] as string, line: Number(match[2]) }
}

/** Whether origin `a` comes after `b` in the source: files in name order, then lines. */
function readAfter(a: string, b: string): boolean {
  const pa = placeOf(a)
  const pb = placeOf(b)
  if (pa === undefined || pb === undefined) return false
  return pa.file === pb.file ? pa.line > pb.line : pa.file > pb.file
}

/** One key's outcomes in the latest run that read it: origin → dead-lettered, and which origin the source gives last. */
interface KeyState {
  epoch: number
  readonly origins: Map<string, boolean>
  last: string
}

/**
 * The records whose last outcome in a report is a dead letter: what `backfill --retry-failed`
 * sends again.
 *
 * - A key's state is its outcomes in the latest run that read it (a retry reads the whole source
 *   as it is now, so its lines replace the earlier runs' for the keys it sent).
 * - Within a run, the version the source gives last decides: a user whose newer version was
 *   refused still fails when its older version was imported, whatever order the outcomes came in.
 * - A line that could not be read is named by its place (`file:line`): any outcome of a record
 *   read at that place later settles it, and until then a record read there is retried whatever
 *   key it reads as. One that ended the read of its file (`rest_skipped`) has every record after
 *   it in that file retried too, which the backfill never read.
 */
export class FailedRecords {
  readonly #keys = new Map<string, KeyState>()
  /** file → first line of the part of it that was never read */
  readonly #unreadFrom = new Map<string, number>()
  readonly #restSkipped = new Set<string>()
  /** failing keys a `has` matched */
  readonly #found = new Set<string>()
  #failing: Set<string> | undefined
  #unreadOrigins: Set<string> | undefined

  /** Takes one report line; `epoch` counts the runs before it (lines of one run share it). */
  take(sourceKey: string, origin: string, outcome: string, epoch: number, restSkipped = false): void {
    this.#failing = undefined
    this.#unreadOrigins = undefined
    const dead = deadOutcomes.has(outcome)
    if (sourceKey !== origin && this.#keys.has(origin) && this.#keys.get(origin)!.origins.has(origin) && placeOf(origin) !== undefined) {
      // The place of a line that could not be read, read now as a record: that record speaks for it.
      this.#keys.delete(origin)
      this.#restSkipped.delete(origin)
    }
    if (sourceKey === origin) {
      if (restSkipped && dead) this.#restSkipped.add(origin)
      else this.#restSkipped.delete(origin)
    }
    let state = this.#keys.get(sourceKey)
    if (state === undefined || epoch > state.epoch) {
      state = { epoch, origins: new Map(), last: origin }
      this.#keys.set(sourceKey, state)
    }
    state.origins.set(origin, dead)
    if (origin === state.last || readAfter(origin, state.last) || placeOf(state.last) === undefined) state.last = origin
  }

  /** Keys whose last outcome is a dead letter. */
  #failingKeys(): Set<string> {
    if (this.#failing !== undefined) return this.#failing
    const failing = new Set<string>()
    for (const [key, state] of this.#keys) if (state.origins.get(state.last) === true) failing.add(key)
    this.#failing = failing
    this.#unreadOrigins = new Set([...failing].filter((key) => placeOf(key) !== undefined && this.#keys.get(key)!.origins.has(key)))
    this.#unreadFrom.clear()
    for (const origin of this.#restSkipped) {
      if (!failing.has(origin)) continue
      const place = placeOf(origin)!
      const from = this.#unreadFrom.get(place.file)
      if (from === undefined || place.line < from) this.#unreadFrom.set(place.file, place.line)
    }
    return failing
  }

  /** Source keys whose last outcome is a dead letter. */
  get size(): number {
    return this.#failingKeys().size
  }

  /** Whether a record read from the source is one to send again. */
  has(sourceKey: string, origin: string): boolean {
    const failing = this.#failingKeys()
    if (failing.has(sourceKey)) {
      this.#found.add(sourceKey)
      return true
    }
    if (this.#unreadOrigins!.has(origin)) {
      this.#found.add(origin)
      return true
    }
    if (this.#unreadFrom.size === 0) return false
    const place = placeOf(origin)
    const from = place === undefined ? undefined : this.#unreadFrom.get(place.file)
    if (from === undefined || place!.line < from) return false
    // A record the backfill never read, after the damage that ended its file.
    for (const skipped of this.#restSkipped) if (placeOf(skipped)?.file === place!.file) this.#found.add(skipped)
    return true
  }

  /** Failing keys no record read so far matched: after a whole read, those the source no longer has. */
  get notFound(): number {
    return Math.max(0, this.#failingKeys().size - this.#found.size)
  }
}

/** Which part of a report counts: from where the import began, in runs split at these byte offsets. */
export interface ReportSpan {
  /** Byte offset where the import began (its first or `--from-start` backfill): earlier lines are another import's. */
  readonly from?: number
  /** Byte offsets where each `--retry-failed` began, ascending. */
  readonly retryStarts?: readonly number[]
}

/**
 * Reads a report file (`<name>.report.ndjson`) line by line, from `span.from`. A line that is not a
 * whole JSON report line (cut short by a crash) is passed over. Undefined when the file does not exist.
 */
export async function readFailedRecords(reportPath: string, span: ReportSpan = {}): Promise<FailedRecords | undefined> {
  const failed = new FailedRecords()
  const starts = span.retryStarts ?? []
  const stream = createReadStream(reportPath, { start: span.from ?? 0 })
  let offset = span.from ?? 0
  let epoch = 0
  let rest = Buffer.alloc(0)
  const takeLine = (bytes: Buffer, at: number): void => {
    while (epoch < starts.length && (starts[epoch] as number) <= at) epoch++
    if (bytes.length === 0) return
    let entry: unknown
    try {
      entry = JSON.parse(bytes.toString('utf8'))
    } catch {
      return
    }
    if (entry === null || typeof entry !== 'object') return
    const { source_key: key, origin, outcome, rest_skipped: restSkipped } = entry as Record<string, unknown>
    if (typeof key !== 'string' || typeof origin !== 'string' || typeof outcome !== 'string') return
    failed.take(key, origin, outcome, epoch, restSkipped === true)
  }
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      let data = rest.length > 0 ? Buffer.concat([rest, chunk]) : chunk
      let start = 0
      for (let newline = data.indexOf(0x0a); newline !== -1; newline = data.indexOf(0x0a, start)) {
        takeLine(data.subarray(start, newline), offset + start)
        start = newline + 1
      }
      offset += start
      rest = Buffer.from(data.subarray(start))
      data = rest
    }
    takeLine(rest, offset)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw error
  } finally {
    stream.destroy()
  }
  return failed
}
