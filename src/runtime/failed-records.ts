import { createReadStream } from 'node:fs'

/** Outcomes that leave a record in the dead letter. */
const deadOutcomes = new Set(['failed', 'rejected'])

/**
 * Where a record is in an export file: `file:line`, or `file:line (element n)` for a JSON array
 * (whose elements are numbered through the file, several on a line when it is on one line);
 * undefined for other origins (a table row).
 */
function placeOf(origin: string): { readonly file: string; readonly line: number; readonly element: number | undefined } | undefined {
  const match = /^(.*):(\d+)(?: \(element (\d+)\))?$/.exec(origin)
  return match === null ? undefined : { file: match[1] as string, line: Number(match[2]), element: match[3] === undefined ? undefined : Number(match[3]) }
}

/** -1, 0 or 1 as place `a` comes before, at or after `b` in the same file. */
function compareInFile(a: NonNullable<ReturnType<typeof placeOf>>, b: NonNullable<ReturnType<typeof placeOf>>): number {
  if (a.element !== undefined && b.element !== undefined) return Math.sign(a.element - b.element)
  return Math.sign(a.line - b.line)
}

/** Whether origin `a` comes after `b` in the source: files in name order, then lines (elements). */
function readAfter(a: string, b: string): boolean {
  const pa = placeOf(a)
  const pb = placeOf(b)
  if (pa === undefined || pb === undefined) return false
  return pa.file === pb.file ? compareInFile(pa, pb) > 0 : pa.file > pb.file
}

/** One key's outcomes in the latest run that read it: origin → dead-lettered, and which origin the source gives last. */
interface KeyState {
  epoch: number
  readonly origins: Map<string, boolean>
  last: string
}

/** A place where damage ended the read of a file (`rest_skipped`), and the run that met it. */
interface Damage {
  /** The dead letter's key: its place as `file:line`. */
  readonly key: string
  readonly file: string
  readonly place: NonNullable<ReturnType<typeof placeOf>>
}

/** A place's number within its file: the element of a JSON array (several may share a line), else the line. */
const placeNumber = (place: NonNullable<ReturnType<typeof placeOf>>): number => place.element ?? place.line

/**
 * The records whose last outcome in a report is a dead letter: what `backfill --retry-failed`
 * sends again.
 *
 * - A key's state is its outcomes in the latest run that read it (a retry reads the whole source
 *   as it is now, so its lines replace the earlier runs' for the keys it sent).
 * - Within a run, the version the source gives last decides: a user whose newer version was
 *   refused still fails when its older version was imported, whatever order the outcomes came in.
 * - A line that could not be read is named by its place (`file:line`): an outcome of a record read
 *   at that place since settles it, and until then a record read there is retried whatever key it
 *   reads as.
 * - Damage that ended the read of its file (`rest_skipped`: a cut gzip, a bad CSV header) has
 *   every record after it in that file retried whose place has no outcome since, which the
 *   backfill never read (judged by place: a retry stopped or killed partway leaves the rest), and
 *   with it the later versions of its user, so the last version still lands last. The damage
 *   itself is settled only by a retry that read the file to its end without meeting it again
 *   (`repaired`, kept in the checkpoint): a fixed file may yield no record at its place.
 */
export class FailedRecords {
  readonly #keys = new Map<string, KeyState>()
  readonly #damage: Damage[] = []
  /** file → numbers of the places after its damage that have an outcome since */
  readonly #settledAfterDamage = new Map<string, Set<number>>()
  /** damage key → the run from which on it is repaired */
  readonly #repaired: ReadonlyMap<string, number>
  /** keys whose later versions are sent because an earlier one after damage is */
  readonly #forced = new Set<string>()
  /** failing keys a `has` matched */
  readonly #found = new Set<string>()
  /** files `has` saw a record of */
  readonly filesRead = new Set<string>()
  #failing: Set<string> | undefined
  #unreadOrigins: Set<string> | undefined

  constructor(repaired: ReadonlyMap<string, number> = new Map()) {
    this.#repaired = repaired
  }

  /** Takes one report line; `epoch` counts the runs before it (lines of one run share it). */
  take(sourceKey: string, origin: string, outcome: string, epoch: number, restSkipped = false): void {
    this.#failing = undefined
    const dead = deadOutcomes.has(outcome)
    const place = placeOf(origin)
    if (sourceKey !== origin && place !== undefined) {
      // The place of a line that could not be read, read now as a record: that record speaks for it.
      // Not damage that ended its file: that waits for a retry to read the file to its end.
      if (this.#keys.get(origin)?.origins.has(origin) && !this.#damage.some((damage) => damage.key === origin)) this.#keys.delete(origin)
      for (const damage of this.#damage) {
        if (damage.file === place.file && compareInFile(place, damage.place) >= 0) {
          let settled = this.#settledAfterDamage.get(damage.file)
          if (settled === undefined) this.#settledAfterDamage.set(damage.file, (settled = new Set()))
          settled.add(placeNumber(place))
        }
      }
    }
    if (restSkipped && dead && sourceKey === origin && place !== undefined && !this.#damage.some((damage) => damage.key === origin)) this.#damage.push({ key: origin, file: place.file, place })
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
    for (const [key, state] of this.#keys) {
      if (state.origins.get(state.last) !== true) continue
      const repairedFrom = this.#repaired.get(key)
      if (repairedFrom !== undefined && state.epoch < repairedFrom) continue
      failing.add(key)
    }
    this.#failing = failing
    // Damage is judged by place (see `has`), these by the line alone.
    this.#unreadOrigins = new Set([...failing].filter((key) => placeOf(key) !== undefined && this.#keys.get(key)!.origins.has(key) && !this.#damage.some((damage) => damage.key === key)))
    return failing
  }

  /** Source keys whose last outcome is a dead letter. */
  get size(): number {
    return this.#failingKeys().size
  }

  /** Damage keys still failing, with the latest run each was met in. */
  failingDamage(): { key: string; file: string; epoch: number }[] {
    const failing = this.#failingKeys()
    return this.#damage.filter((damage) => failing.has(damage.key)).map((damage) => ({ key: damage.key, file: damage.file, epoch: this.#keys.get(damage.key)!.epoch }))
  }

  /** Whether a record read from the source is one to send again. */
  has(sourceKey: string, origin: string): boolean {
    const failing = this.#failingKeys()
    const place = placeOf(origin)
    if (place !== undefined) this.filesRead.add(place.file)
    if (this.#forced.has(sourceKey)) return true
    if (failing.has(sourceKey)) {
      this.#found.add(sourceKey)
      return true
    }
    if (this.#unreadOrigins!.has(origin)) {
      this.#found.add(origin)
      return true
    }
    if (this.#damage.length === 0 || place === undefined) return false
    const after = this.#damage.some((damage) => damage.file === place.file && failing.has(damage.key) && compareInFile(place, damage.place) >= 0)
    if (!after || this.#settledAfterDamage.get(place.file)?.has(placeNumber(place))) return false
    // Never read before: sent, and so are this user's versions read after it.
    this.#forced.add(sourceKey)
    return true
  }

  /** Failing keys no record read so far matched: after a whole read, those the source no longer has. */
  get notFound(): number {
    // Damage is settled by reading its file, never found under a key of its own.
    const damaged = new Set(this.#damage.map((damage) => damage.key))
    let unmatched = 0
    for (const key of this.#failingKeys()) if (!this.#found.has(key) && !damaged.has(key)) unmatched++
    return unmatched
  }
}

/** Which part of a report counts: from where the import began, in runs split at these byte offsets. */
export interface ReportSpan {
  /** Byte offset where the import began (its first or `--from-start` backfill): earlier lines are another import's. */
  readonly from?: number
  /** Byte offsets where each `--retry-failed` began, ascending. */
  readonly retryStarts?: readonly number[]
  /** Damage keys a retry repaired, and the run (its index in `retryStarts`, plus one) from which on. */
  readonly repaired?: Readonly<Record<string, number>>
}

/**
 * Reads a report file (`<name>.report.ndjson`) line by line, from `span.from`. A line that is not a
 * whole JSON report line (cut short by a crash) is passed over. Undefined when the file does not exist.
 */
export async function readFailedRecords(reportPath: string, span: ReportSpan = {}): Promise<FailedRecords | undefined> {
  const failed = new FailedRecords(new Map(Object.entries(span.repaired ?? {})))
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
