import { CheckpointError, ConfigError } from '../core/errors.ts'
import type { CheckpointStore, PipelineKey } from '../runtime/checkpoint-store.ts'
import { readFailedRecords, type FailedRecords } from '../runtime/failed-records.ts'

/** Refuses `--retry-failed` where it cannot read the records again or does not import them itself. */
export function refuseRetryOf(sourceType: string, publishing: boolean): void {
  if (sourceType === 'kafka') {
    throw new ConfigError('--retry-failed reads a file or table source again; a kafka topic is not read again', [
      'with source.dead_letter_topic, replay that topic into the source topic once the cause is fixed',
    ])
  }
  if (publishing) throw new ConfigError('--retry-failed imports into Authgear; a backfill with publish: hands records to Kafka (retry on the replicas that import the topic)')
}

/**
 * What `backfill --retry-failed` sends again: the records whose last outcome in the report is a
 * dead letter, once the backfill has read its source to the end (records it has not read yet are
 * the backfill's to send, not a retry's).
 */
export async function planRetry<P>(options: { store: CheckpointStore<P>; key: PipelineKey; reportPath: string; configFile: string }): Promise<FailedRecords> {
  const saved = await options.store.load(options.key)
  if (saved === undefined || !saved.complete) {
    throw new CheckpointError(`--retry-failed sends again the dead letters of a finished backfill, and ${saved === undefined ? `no backfill of this config has saved a checkpoint (${options.store.path})` : `the backfill of this config has not read its source to the end (${options.store.path})`}: run \`gearbridge backfill -c ${options.configFile}\` to its end first`)
  }
  return readFailedRecords(options.reportPath)
}

/**
 * After a retry: counts the records still dead-lettered from the report (this run's lines
 * included) and saves that count in the backfill's checkpoint, so a rerun of the backfill ends
 * with exit 3 only while some remain.
 */
export async function settleRetry<P>(store: CheckpointStore<P>, key: PipelineKey, reportPath: string): Promise<number> {
  const remaining = (await readFailedRecords(reportPath)).size
  const saved = await store.load(key)
  // Another run may have replaced it meanwhile (a --from-start backfill): its count is its own.
  if (saved?.complete && saved.deadLettered !== remaining) await store.save({ ...saved, deadLettered: remaining })
  return remaining
}
