import type { MappingResult } from '../core/mapped-record.ts'
import type { RunContext } from '../core/run-context.ts'
import type { Source } from '../core/source.ts'
import type { ReadableRecord } from '../core/source-record.ts'
import { QuotaExceededError } from '../core/errors.ts'
import type { Metrics } from '../observability/metrics.ts'
import { envelopeBytes } from './batcher.ts'
import { Checkpointer } from './checkpointer.ts'
import type { CheckpointStore } from './checkpoint-store.ts'
import type { ImportScheduler } from './import-scheduler.ts'
import type { NdjsonWriter } from './ndjson-writer.ts'
import type { OutcomeRecorder } from './outcome-recorder.ts'
import { bump, type RunSummary } from './run-summary.ts'
import { createWorkItem } from './work-item.ts'

export interface PipelineOptions<P> {
  readonly source: Source<P>
  readonly sourceName: string
  readonly map: (record: ReadableRecord) => MappingResult
  readonly scheduler: ImportScheduler
  readonly recorder: OutcomeRecorder
  readonly writers: readonly NdjsonWriter[]
  readonly store: CheckpointStore<P>
  /** Fingerprint of source + target; a checkpoint from another pipeline is refused. */
  readonly pipelineId: string
  readonly fromStart: boolean
  readonly summary: RunSummary
  readonly metrics: Metrics
  readonly checkpointIntervalMs: number
  /** The request size cap; a record whose request alone would exceed it is rejected up front. */
  readonly maxRequestBytes: number
  readonly upsert: boolean
  readonly onProgress?: (bytesRead: number | undefined) => void
}

export type PipelineStatus = 'complete' | 'stopped' | 'quota' | 'failed'

export interface PipelineResult {
  readonly status: PipelineStatus
  readonly error?: unknown
  readonly alreadyComplete: boolean
}

/**
 * Reads the source, maps each record, feeds the scheduler, and commits the checkpoint as outcomes
 * arrive. A position is committed only after every record at or before it has an outcome and the
 * report and dead-letter lines for those records are fsynced.
 */
export async function runPipeline<P>(options: PipelineOptions<P>, ctx: RunContext): Promise<PipelineResult> {
  const { source, scheduler, recorder, summary, metrics, store } = options
  const saved = options.fromStart ? undefined : await store.load(options.pipelineId)
  if (saved) ctx.logger.info({ position: saved.position, recordsCommitted: saved.recordsCommitted, complete: saved.complete }, 'Resuming from the last committed checkpoint.')
  const checkpointer = new Checkpointer<P>(saved?.position)
  let committedRecords = saved?.recordsCommitted ?? 0
  let settledAtCommit = 0
  let exhausted = false

  const commit = async (complete: boolean): Promise<void> => {
    if (!checkpointer.takeDirty() && !complete) return
    const position = checkpointer.committed
    if (position === undefined) return
    const settled = summary.settled
    await Promise.all(options.writers.map((w) => w.flush()))
    committedRecords += settled - settledAtCommit
    settledAtCommit = settled
    await store.save({ version: 1, pipeline: options.pipelineId, position, committedAt: new Date().toISOString(), recordsCommitted: committedRecords, complete })
    metrics.checkpointCommits.inc()
    metrics.checkpointTimestamp.set(Date.now() / 1000)
    // Upstream commits (Kafka offsets) follow the durable local checkpoint, never lead it.
    await source.ack?.(position, ctx)
  }
  let committing: Promise<void> = Promise.resolve()
  const timer = setInterval(() => {
    metrics.pendingRecords.set(checkpointer.pending)
    committing = committing.then(() => commit(false)).catch((error: unknown) => ctx.logger.error({ err: error }, 'Checkpoint commit failed.'))
  }, options.checkpointIntervalMs)

  const envelope = Math.max(envelopeBytes('preferred_username', options.upsert), envelopeBytes('phone_number', options.upsert))
  let failure: unknown
  try {
    for await (const batch of source.read(saved?.position, ctx)) {
      const position = batch.position
      const ticket = checkpointer.track(position, batch.records.length, source.onBatchSettled && (() => source.onBatchSettled!(position)))
      summary.read += batch.records.length
      metrics.sourceRecords.inc({ source: options.sourceName }, batch.records.length)
      if (batch.bytesRead !== undefined) metrics.sourceReadBytes.set({ source: options.sourceName }, batch.bytesRead)
      for (const record of batch.records) {
        if (record.kind === 'unreadable') {
          recorder.complete({ source: record, ticket }, { kind: 'rejected', code: record.code, message: record.message }, 'receiving')
          continue
        }
        let result: MappingResult
        try {
          result = options.map(record)
        } catch (error) {
          result = { ok: false, rejection: { code: 'mapping_error', message: `mapping failed on ${record.origin}: ${(error as Error).message}` } }
        }
        if (!result.ok) {
          if (result.passwordAlgorithm) metrics.passwords.inc({ algorithm: result.passwordAlgorithm, lane: 'rejected' })
          const { code, field, message } = result.rejection
          const named = field && !message.startsWith(`${field}:`) ? `${field}: ${message}` : message
          recorder.complete({ source: record, ticket }, { kind: 'rejected', code, message: `${record.origin}: ${named}` }, 'processing')
          continue
        }
        const mapped = result.value
        metrics.passwords.inc({ algorithm: mapped.passwordAlgorithm, lane: mapped.passwordLane })
        bump(summary.byIdentifier, mapped.identifier)
        bump(summary.byPassword, `${mapped.passwordAlgorithm}:${mapped.passwordLane}`)
        const item = createWorkItem(record, mapped, ticket)
        if (item.bytes + envelope > options.maxRequestBytes) {
          recorder.complete({ source: record, mapped, ticket }, { kind: 'rejected', code: 'record_too_large', message: `${record.origin}: the record serializes to ${item.bytes} bytes, over the ${options.maxRequestBytes}-byte request limit` }, 'processing')
          continue
        }
        await scheduler.add(item)
      }
      options.onProgress?.(batch.bytesRead)
      if (ctx.signal.aborted || scheduler.fatal !== undefined) break
    }
    exhausted = !ctx.signal.aborted && scheduler.fatal === undefined
    if (exhausted) await scheduler.flush()
    else await scheduler.drain()
  } catch (error) {
    failure = error
    await scheduler.drain()
  } finally {
    clearInterval(timer)
    await committing
  }
  failure ??= scheduler.fatal
  const complete = exhausted && failure === undefined && checkpointer.pending === 0
  await commit(complete)
  metrics.pendingRecords.set(checkpointer.pending)
  if (failure instanceof QuotaExceededError) return { status: 'quota', error: failure, alreadyComplete: false }
  if (failure !== undefined) return { status: 'failed', error: failure, alreadyComplete: false }
  if (!complete) return { status: 'stopped', alreadyComplete: false }
  return { status: 'complete', alreadyComplete: saved?.complete === true && summary.read === 0 }
}
