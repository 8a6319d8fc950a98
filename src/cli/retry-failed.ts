import { stat } from 'node:fs/promises'
import { CheckpointError, ConfigError } from '../core/errors.ts'
import type { CheckpointState, CheckpointStore, PipelineKey } from '../runtime/checkpoint-store.ts'
import { readFailedRecords, type FailedRecords, type ReportSpan } from '../runtime/failed-records.ts'

/** Refuses `--retry-failed` where it cannot read the records again or does not import them itself. */
export function refuseRetryOf(sourceType: string, publishing: boolean): void {
  if (sourceType === 'kafka') {
    throw new ConfigError('--retry-failed reads a file or table source again; a kafka topic is not read again', [
      'the dead letters name each message (topic/partition/offset, in the dead-letter topic\'s key and headers): once the cause is fixed, produce those messages again to the source topic from where they came from (the dead letters themselves are redacted, not the messages: replayed, they would not import)',
    ])
  }
  if (publishing) throw new ConfigError('--retry-failed imports into Authgear; a backfill with publish: hands records to Kafka (retry on the replicas that import the topic)')
}

/**
 * What `backfill --retry-failed` sends again: the records whose last outcome in the report is a
 * dead letter, once the backfill has read its source to the end (records it has not read yet are
 * the backfill's to send, not a retry's). Read from where this import's lines begin.
 */
export async function planRetry<P>(options: { store: CheckpointStore<P>; key: PipelineKey; reportPath: string; configFile: string }): Promise<FailedRecords> {
  const saved = await options.store.load(options.key)
  if (saved === undefined || !(saved.finished ?? saved.complete)) {
    throw new CheckpointError(`--retry-failed sends again the dead letters of a finished backfill, and ${saved === undefined ? `no backfill of this config has saved a checkpoint (${options.store.path})` : `the backfill of this config has not read its source to the end (${options.store.path})`}: run \`gearbridge backfill -c ${options.configFile}\` to its end first`)
  }
  const size = await sizeOf(options.reportPath)
  const begun = Math.max(saved.reportFrom ?? 0, ...(saved.retries?.starts ?? []))
  // A report deleted or rotated since: its dead letters cannot be told, and none must be forgotten.
  if (size === undefined || size < begun) {
    throw new CheckpointError(`--retry-failed reads which records failed from the report ${options.reportPath}, which ${size === undefined ? 'is missing' : `is shorter (${size} bytes) than when this import began (${begun} bytes): it was rotated or replaced`}; put it back, or run \`gearbridge backfill -c ${options.configFile} --from-start\` to import again`)
  }
  return (await readFailedRecords(options.reportPath, spanOf(saved))) as FailedRecords
}

function spanOf(saved: CheckpointState<unknown>): ReportSpan {
  return { ...(saved.reportFrom !== undefined ? { from: saved.reportFrom } : {}), ...(saved.retries ? { retries: saved.retries } : {}) }
}

/**
 * Marks where this retry's lines begin in the report, before it sends anything: a retry killed
 * partway has its lines told from the earlier runs' all the same.
 */
export async function beginRetry<P>(store: CheckpointStore<P>, key: PipelineKey, reportStart: number): Promise<void> {
  const saved = await store.load(key)
  if (saved === undefined) return
  await store.save({ ...saved, retries: { ...saved.retries, starts: [...(saved.retries?.starts ?? []), reportStart] } })
}

/**
 * After a retry: counts the records still dead-lettered from the report (this run's lines
 * included) and saves that count in the backfill's checkpoint, so a rerun of the backfill ends
 * with exit 3 only while some remain. A retry that read its source to the end settles the damage
 * of each file it read without meeting that damage again.
 *
 * Such a retry of files also moves the backfill's position to where its own read ended (`endedAt`;
 * the caller gives none for a table, whose position may be a sync's cursor by now): it read the source
 * as it is now and sent every record of it the import had not settled (a user it had never seen
 * included), so a plain rerun has nothing left to read. Left where it was, a rerun would refuse a
 * file fixed in place since, or read again a file the retry already read. Not under `upsert`: a
 * later version of a user already imported, which a retry does not send, is an update a plain
 * run reading on from the old position still owes.
 */
export async function settleRetry<P>(store: CheckpointStore<P>, key: PipelineKey, reportPath: string, retry: { readonly filesRead: ReadonlySet<string>; readonly complete: boolean; readonly endedAt?: P | undefined; readonly upsert?: boolean }): Promise<number | undefined> {
  const saved = await store.load(key)
  // Another run may have replaced it meanwhile (a --from-start backfill): its count is its own.
  if (!(saved?.finished ?? saved?.complete) || saved === undefined) return undefined
  const thisRun = saved.retries?.starts.length ?? 0
  // A retry that read the whole source starts the story of each key it sent afresh.
  const complete = retry.complete ? [...(saved.retries?.complete ?? []), thisRun] : saved.retries?.complete
  const retries = { starts: saved.retries?.starts ?? [], ...(complete ? { complete } : {}), ...(saved.retries?.repaired ? { repaired: saved.retries.repaired } : {}) }
  const failed = await readFailedRecords(reportPath, spanOf({ ...saved, retries }))
  if (failed === undefined) return undefined
  const repaired = { ...saved.retries?.repaired }
  let remaining = failed.size
  if (retry.complete) {
    const damaged = failed.failingDamage()
    for (const damage of damaged) {
      // Read to its end this time: no damage met in the file in this run.
      if (damage.epoch >= thisRun || !retry.filesRead.has(damage.file) || damaged.some((other) => other.file === damage.file && other.epoch === thisRun)) continue
      repaired[damage.key] = thisRun
      remaining--
    }
  }
  const settled = { ...saved, deadLettered: remaining, retries: { ...retries, ...(Object.keys(repaired).length > 0 ? { repaired } : {}) } }
  if (retry.complete && retry.endedAt !== undefined && retry.upsert !== true) {
    // The whole source is read and settled at that position: a stop's list of records settled past an older one no longer applies.
    const { settledAhead: _passed, ...rest } = settled
    await store.save({ ...rest, position: retry.endedAt, complete: true, committedAt: new Date().toISOString() })
  } else await store.save(settled)
  return remaining
}

async function sizeOf(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).size
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw error
  }
}
