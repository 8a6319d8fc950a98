import type { ReadableRecord, SourceRecord } from './source-record.ts'
import type { RunContext } from './run-context.ts'

/** Records in source order plus the position to resume after the last of them. */
export interface SourceBatch<P> {
  /** May be empty: a heartbeat that only moves the position. */
  readonly records: readonly SourceRecord[]
  /** Persisted only once this batch and every earlier one have terminal outcomes. */
  readonly position: P
  /** Bytes of input consumed so far, when known, for progress and ETA. */
  readonly bytesRead?: number
}

/**
 * A pull-based reader. `read` fetches the next chunk only when the consumer asks for it and
 * releases files, cursors and connections in `finally`, so a `break` or an abort cleans up.
 */
export interface Source<P> {
  /** Cheap probe used by `gearbridge check`: the input exists and is readable. */
  check?(ctx: RunContext): Promise<string>
  /** Batches strictly after `from` (undefined = from the beginning). Ends promptly on `ctx.signal`. */
  read(from: P | undefined, ctx: RunContext): AsyncIterable<SourceBatch<P>>
  /** Total input size in bytes when known up front (files), for progress and ETA. */
  totalBytes?(): Promise<number | undefined>
  /** Upstream commit of the highest contiguous position whose records all have outcomes, after the local checkpoint is durable. */
  ack?(position: P, ctx: RunContext): Promise<void>
  /**
   * Called once per batch when every record of that batch has a terminal outcome, in whatever
   * order batches finish. Sources whose batches belong to independent lanes (Kafka partitions)
   * use it to commit each lane as soon as it is contiguous, and to commit revoked lanes on a
   * rebalance. Must not throw.
   */
  onBatchSettled?(position: P): void
  /**
   * Commits upstream (Kafka offsets), after the outcomes are durable, up to records that change
   * their user's login ID: before they are sent, up to the first of them (`including` false: every
   * record read before them has its outcome), and once they have their outcomes, past the last of
   * them (`including` true), before anything read after them is sent. A source that replays from
   * its last commit after a crash would otherwise send again, once a change is applied, versions
   * matched by a login ID the change or a later update gave up. Failures and a commit not
   * confirmed in time are logged, not thrown: the records are sent all the same. Resolves true
   * when it handed offsets to commit. Commits only over records with outcomes: a change sent
   * ahead of earlier changes it hands a login ID to (see `ImportScheduler`) commits nothing past them.
   * `past`: the keys of source deletes read before them whose login IDs they take up
   * (`afterDeletes`), committed past too, in their own partitions: read again once such a record
   * is imported, a delete would find its user.
   */
  commitSettled?(records: readonly SourceRecord[], including: boolean, past?: readonly string[]): Promise<boolean>
  /** Whether the record with this key is never read again, a crash included (Kafka: its offset is confirmed committed past). */
  isDurable?(key: string): boolean
  /**
   * Where a source that keeps its own position resumes (Kafka: its consumer group's committed
   * offsets), for the start-up log line: the checkpoint's position is not where it reads from.
   */
  readonly resumesFrom?: string
  /** For `/readyz`: false while the source cannot take work (a Kafka replica outside its consumer group). */
  isReady?(): boolean
  /** How many times a sync's source has read its input to the end (it then reads what changes). */
  readsToEnd?(): number
  /**
   * The record under `key` as the source holds it now (a table's row read again by its key), null
   * when it has none; undefined when `ctx.signal` aborted meanwhile. For a row whose login IDs
   * decide a held row's fate, when this read may have passed its change (see `HandoverRetry`).
   */
  reread?(key: string, ctx: RunContext): Promise<ReadableRecord | null | undefined>
  /**
   * What the operator should know about the input after a read, in plain sentences (a hash
   * export that matches few users). `validate` prints them; a run logs them as warnings.
   */
  warnings?(): readonly string[]
  /**
   * What the records' origins refer to (files by name, size and first bytes), for a resumed run to
   * tell whether a stop's list of records settled ahead still names the same records.
   */
  contentDigest?(): Promise<string>
  /** Whether a digest `contentDigest` gave earlier (perhaps in an older form) still holds. */
  contentMatches?(saved: string): Promise<boolean>
  /**
   * The position a stop saves, made checkable against the input as it is then: a resume that
   * finds the input changed before it refuses, rather than skip or repeat records (file sources
   * add a digest of the whole file). Only a stop's last checkpoint is sealed: it costs a full read.
   */
  sealPosition?(position: P): Promise<P>
  close(): Promise<void>
}
