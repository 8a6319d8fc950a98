import { createReadStream } from 'node:fs'
import { readLineBlocks } from '../../connectors/auth0/line-reader.ts'
import { DigestTable, digest52 } from './digest-table.ts'

/** Outcomes that leave a record in the dead letter. */
const deadOutcomes = new Set(['failed', 'rejected'])

type Place = { readonly file: string; readonly line: number; readonly element: number | undefined }

/**
 * Where a record is in an export file: `file:line`, or `file:line (element n)` for a JSON array
 * (whose elements are numbered through the file, several on a line when it is on one line);
 * undefined for other origins (a table row).
 */
function placeOf(origin: string): Place | undefined {
  const match = /^(.*):(\d+)(?: \(element (\d+)\))?$/.exec(origin)
  return match === null ? undefined : { file: match[1] as string, line: Number(match[2]), element: match[3] === undefined ? undefined : Number(match[3]) }
}

/**
 * An origin as places are compared: an element of a JSON array by its file and element number
 * alone. Fixing an element in place (closing a bracket, splitting a line) moves the lines of the
 * elements after it, not their numbers: their dead letters must still name them.
 */
export function placeKey(origin: string): string {
  const match = /^(.*):\d+ \(element (\d+)\)$/.exec(origin)
  return match === null ? origin : `${match[1] as string}:0 (element ${match[2] as string})`
}

/** -1, 0 or 1 as place `a` comes before, at or after `b` in the same file. */
function compareInFile(a: Place, b: Place): number {
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

/** A place's number within its file: the element of a JSON array (several may share a line), else the line. */
const placeNumber = (place: Place): number => place.element ?? place.line

/** One origin's latest outcome: dead-lettered or not, and in which run. */
interface OriginOutcome {
  readonly dead: boolean
  readonly epoch: number
}

/**
 * A key's outcomes by origin: the origin the source gives last inline, the others (a user with
 * several versions) in a map made only then, as most keys have one origin.
 */
interface KeyState {
  /** The run that gave it its latest outcome. */
  epoch: number
  last: string
  lastDead: boolean
  lastEpoch: number
  others?: Map<string, OriginOutcome>
}

const hasOrigin = (state: KeyState, origin: string): boolean => state.last === origin || state.others?.has(origin) === true

/** Records `origin`'s outcome in a key's state, moving `last` when the source gives it later. */
function setOutcome(state: KeyState, origin: string, dead: boolean, epoch: number): void {
  if (origin === state.last) {
    state.lastDead = dead
    state.lastEpoch = epoch
    return
  }
  // Later in the source, or a row of a table (no place: the latest line wins).
  if (readAfter(origin, state.last) || placeOf(state.last) === undefined) {
    ;(state.others ??= new Map()).set(state.last, { dead: state.lastDead, epoch: state.lastEpoch })
    state.others.delete(origin)
    state.last = origin
    state.lastDead = dead
    state.lastEpoch = epoch
    return
  }
  ;(state.others ??= new Map()).set(origin, { dead, epoch })
}

/** A place where damage ended the read of a file (`rest_skipped`), and the run that met it. */
interface Damage {
  /** The dead letter's key: its place as `file:line`. */
  readonly key: string
  readonly place: Place
  epoch: number
}

/** Which part of a report counts: from where the import began, in runs split at these byte offsets. */
export interface ReportSpan {
  /** Byte offset where the import began (its first or `--from-start` backfill): earlier lines are another import's. */
  readonly from?: number
  readonly retries?: RetryBookkeeping
}

/** What the backfill's checkpoint keeps of the retries of its import (see `CheckpointState.retries`). */
export interface RetryBookkeeping {
  /** The report's size in bytes when each `--retry-failed` began, ascending: run n (1 for the first retry) starts at `starts[n - 1]`. */
  readonly starts: readonly number[]
  /** The runs that read the source to their end: their outcomes are a key's whole story. */
  readonly complete?: readonly number[]
  /** Damage (`rest_skipped` dead letters) a run read past to its file's end: key → from which run on it is repaired. */
  readonly repaired?: Readonly<Record<string, number>>
}

/**
 * The records whose last outcome in a report is a dead letter: what `backfill --retry-failed`
 * sends again. Built from two reads of the report: the first finds the keys that matter (ever
 * dead-lettered, or read after damage), the second keeps their outcomes, so memory follows those
 * keys and not the report.
 *
 * - A key fails when the version the source gives last is dead-lettered, or is older than an
 *   earlier version's outcome (a retry stopped after sending the earlier one: the later one must
 *   land last again). Outcomes of versions are kept by origin across runs; a retry that read the
 *   whole source (`retries.complete`) starts a key's story afresh, a stopped one adds to it.
 * - A line that could not be read is named by its place (`file:line`): an outcome of a record read
 *   at that place since settles it, and until then a record read there is retried whatever key it
 *   reads as.
 * - A key the report never names in this import is a user the backfill never read (split off a
 *   line that could not be read, or added since): sent, with its later versions.
 * - Damage that ended the read of its file (`rest_skipped`: a cut gzip, a bad CSV header) has
 *   every record after it in that file retried whose place has no outcome since (the backfill
 *   never read them), and with each the later versions of its user. The damage itself is settled
 *   only by a retry that read the file to its end without meeting damage in it (`repaired`).
 */
export class FailedRecords {
  readonly #keys = new Map<string, KeyState>()
  readonly #damage = new Map<string, Damage>()
  /** file → its damage places */
  readonly #damageByFile = new Map<string, Damage[]>()
  /** every key with a report line in this import: a record of another key was never imported */
  readonly #seen = new DigestTable()
  /** places of lines that could not be read (their key is their place) */
  readonly #unreadPlaces = new Set<string>()
  /** file → numbers of the places after its damage that have an outcome since */
  readonly #settledAfterDamage = new Map<string, Set<number>>()
  readonly #repaired: ReadonlyMap<string, number>
  readonly #completeRetries: ReadonlySet<number>
  /** keys whose later versions are sent because an earlier one after damage is */
  readonly #forced = new Set<string>()
  /** failing keys a `has` matched */
  readonly #found = new Set<string>()
  /** files `has` saw a record of */
  readonly filesRead = new Set<string>()
  #failing: Set<string> | undefined
  #unreadOrigins: Set<string> | undefined

  constructor(span: ReportSpan = {}) {
    this.#repaired = new Map(Object.entries(span.retries?.repaired ?? {}).map(([key, run]) => [placeKey(key), run]))
    this.#completeRetries = new Set(span.retries?.complete ?? [])
  }

  /** First read: a damage line (kept), and whether a line's key is one to keep outcomes of. */
  notice(rawKey: string, rawOrigin: string, outcome: string, epoch: number, restSkipped: boolean): boolean {
    const sourceKey = placeKey(rawKey)
    const origin = placeKey(rawOrigin)
    const dead = deadOutcomes.has(outcome)
    this.#seen.set(digest52(sourceKey), 1)
    if (dead && sourceKey === origin) this.#unreadPlaces.add(origin)
    if (restSkipped && dead && sourceKey === origin) {
      const place = placeOf(origin)
      if (place !== undefined) {
        const known = this.#damage.get(origin)
        if (known !== undefined) known.epoch = epoch
        else {
          const damage = { key: origin, place, epoch }
          this.#damage.set(origin, damage)
          const inFile = this.#damageByFile.get(place.file)
          if (inFile === undefined) this.#damageByFile.set(place.file, [damage])
          else inFile.push(damage)
        }
      }
    }
    // A record read at a place that could not be read before: an older version of its user may
    // have been sent after its newer one.
    return dead || (sourceKey !== origin && this.#unreadPlaces.has(origin)) || this.#afterDamage(origin) !== undefined
  }

  /** The damage of `origin`'s file that `origin` is at or after. */
  #afterDamage(origin: string): Damage | undefined {
    if (this.#damage.size === 0) return undefined
    const place = placeOf(origin)
    const inFile = place === undefined ? undefined : this.#damageByFile.get(place.file)
    if (inFile === undefined) return undefined
    for (const damage of inFile) if (compareInFile(place!, damage.place) >= 0) return damage
    return undefined
  }

  /** Second read: one report line; `tracked` when its key is one `notice` kept. */
  take(rawKey: string, rawOrigin: string, outcome: string, epoch: number, tracked: boolean): void {
    const sourceKey = placeKey(rawKey)
    const origin = placeKey(rawOrigin)
    this.#failing = undefined
    if (sourceKey !== origin) {
      // The place of a line that could not be read, read now as a record: that record speaks for it
      // (not damage that ended its file: that waits for a retry to read the file to its end).
      const unread = this.#keys.get(origin)
      if (unread !== undefined && hasOrigin(unread, origin) && !this.#damage.has(origin)) this.#keys.delete(origin)
      const place = this.#damage.size > 0 ? placeOf(origin) : undefined
      if (place !== undefined && this.#afterDamage(origin) !== undefined) {
        let settled = this.#settledAfterDamage.get(place.file)
        if (settled === undefined) this.#settledAfterDamage.set(place.file, (settled = new Set()))
        settled.add(placeNumber(place))
      }
    }
    if (!tracked) return
    const dead = deadOutcomes.has(outcome)
    let state = this.#keys.get(sourceKey)
    if (state === undefined || (epoch > state.epoch && this.#completeRetries.has(epoch))) {
      state = { epoch, last: origin, lastDead: dead, lastEpoch: epoch }
      this.#keys.set(sourceKey, state)
    }
    state.epoch = Math.max(state.epoch, epoch)
    setOutcome(state, origin, dead, epoch)
  }

  #fails(key: string, state: KeyState): boolean {
    const repairedFrom = this.#repaired.get(key)
    if (repairedFrom !== undefined && state.lastEpoch < repairedFrom) return false
    if (state.lastDead) return true
    for (const [origin, outcome] of state.others ?? []) if (outcome.epoch > state.lastEpoch && readAfter(state.last, origin)) return true
    return false
  }

  /** Keys whose last outcome is a dead letter. */
  #failingKeys(): Set<string> {
    if (this.#failing !== undefined) return this.#failing
    const failing = new Set<string>()
    for (const [key, state] of this.#keys) if (this.#fails(key, state)) failing.add(key)
    this.#failing = failing
    this.#unreadOrigins = new Set([...failing].filter((key) => placeOf(key) !== undefined && hasOrigin(this.#keys.get(key)!, key) && !this.#damage.has(key)))
    return failing
  }

  /** Source keys whose last outcome is a dead letter. */
  get size(): number {
    return this.#failingKeys().size
  }

  /** Damage still failing: its key, file, and the latest run it was met in. */
  failingDamage(): { key: string; file: string; epoch: number }[] {
    const failing = this.#failingKeys()
    return [...this.#damage.values()].filter((damage) => failing.has(damage.key)).map((damage) => ({ key: damage.key, file: damage.place.file, epoch: damage.epoch }))
  }

  /**
   * Whether a record read from the source is one to send again. A line that cannot be read is
   * always taken (it costs no quota), so damage a retry meets is recorded where it is now.
   */
  has(rawKey: string, rawOrigin: string, unreadable = false): boolean {
    const sourceKey = placeKey(rawKey)
    const origin = placeKey(rawOrigin)
    const failing = this.#failingKeys()
    // Places matter only for damage (which files a retry read, which records come after it).
    const place = this.#damage.size > 0 ? placeOf(origin) : undefined
    if (place !== undefined) this.filesRead.add(place.file)
    const failed = failing.has(sourceKey)
    if (failed) this.#found.add(sourceKey)
    const unread = this.#unreadOrigins!.has(origin)
    if (unread) {
      this.#found.add(origin)
      // Read where a line could not be read before: this user's versions read after it go too.
      this.#forced.add(sourceKey)
    }
    if (unreadable || failed || unread || this.#forced.has(sourceKey)) return true
    // A key this import never gave an outcome: a user the backfill never read (split off a line
    // that could not be read, or added to the source since).
    if (!this.#seen.has(digest52(sourceKey))) {
      this.#forced.add(sourceKey)
      return true
    }
    if (place === undefined) return false
    const damage = this.#afterDamage(origin)
    if (damage === undefined || !failing.has(damage.key) || this.#settledAfterDamage.get(place.file)?.has(placeNumber(place))) return false
    // Never read before: sent, and so are this user's versions read after it.
    this.#forced.add(sourceKey)
    return true
  }

  /** Failing keys no record read so far matched: after a whole read, those the source no longer has (a damaged file gone with them). */
  get notFound(): number {
    let unmatched = 0
    for (const key of this.#failingKeys()) {
      const damage = this.#damage.get(key)
      if (damage === undefined ? !this.#found.has(key) : !this.filesRead.has(damage.place.file)) unmatched++
    }
    return unmatched
  }
}

/** Calls `take` with each report line from `from`, and the run it belongs to; false when the report does not exist. */
async function eachLine(reportPath: string, span: ReportSpan, take: (entry: { key: string; origin: string; outcome: string; restSkipped: boolean }, epoch: number) => void): Promise<boolean> {
  const starts = span.retries?.starts ?? []
  let epoch = 0
  /** Where the line being read starts: the run it belongs to is the last retry begun at or before it. */
  let at = span.from ?? 0
  try {
    for await (const block of readLineBlocks(createReadStream(reportPath, { start: at }), at, 0)) {
      for (const { bytes, end } of block) {
        while (epoch < starts.length && (starts[epoch] as number) <= at) epoch++
        at = end
        const entry = reportLine(bytes)
        if (entry !== undefined) take(entry, epoch)
      }
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false
    throw error
  }
  return true
}

/** A report line's fields a retry reads; undefined for a line that is not one (cut short by a crash). */
function reportLine(bytes: Buffer): { key: string; origin: string; outcome: string; restSkipped: boolean } | undefined {
  if (bytes.length === 0) return undefined
  let entry: unknown
  try {
    entry = JSON.parse(bytes.toString('utf8'))
  } catch {
    return undefined
  }
  if (entry === null || typeof entry !== 'object') return undefined
  const { source_key: key, origin, outcome, rest_skipped: restSkipped } = entry as Record<string, unknown>
  if (typeof key !== 'string' || typeof origin !== 'string' || typeof outcome !== 'string') return undefined
  return { key, origin, outcome, restSkipped: restSkipped === true }
}

/**
 * Reads a report file (`<name>.report.ndjson`) from `span.from`, twice (see `FailedRecords`). A
 * line that is not a whole JSON report line (cut short by a crash) is passed over. Undefined when
 * the file does not exist.
 */
export async function readFailedRecords(reportPath: string, span: ReportSpan = {}): Promise<FailedRecords | undefined> {
  const failed = new FailedRecords(span)
  const tracked = new Set<string>()
  const found = await eachLine(reportPath, span, (line, epoch) => {
    if (failed.notice(line.key, line.origin, line.outcome, epoch, line.restSkipped)) tracked.add(placeKey(line.key))
  })
  if (!found) return undefined
  await eachLine(reportPath, span, (line, epoch) => failed.take(line.key, line.origin, line.outcome, epoch, tracked.has(placeKey(line.key))))
  return failed
}
