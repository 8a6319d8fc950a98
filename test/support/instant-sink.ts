import type { IdentifierType } from '../../src/core/mapped-record.ts'
import type { Outcome } from '../../src/core/outcome.ts'
import { Metrics } from '../../src/observability/metrics.ts'
import type { BatchPolicy } from '../../src/runtime/batcher.ts'
import { ImportScheduler } from '../../src/runtime/import-scheduler.ts'
import type { NdjsonWriter } from '../../src/runtime/ndjson-writer.ts'
import { OutcomeRecorder } from '../../src/runtime/outcome-recorder.ts'
import { RunSummary } from '../../src/runtime/run-summary.ts'
import type { WorkItem } from '../../src/runtime/work-item.ts'

export interface InstantSinkOptions {
  readonly policy: BatchPolicy
  readonly maxInFlight: number
  readonly upsert?: boolean
  readonly report?: NdjsonWriter
  readonly deadLetter?: NdjsonWriter
  /** Sees each job before its records settle (its request body, say). */
  readonly onJob?: (identifier: IdentifierType, items: readonly WorkItem[]) => void
  /** Each record's outcome; `inserted` as `u` when absent. A throw fails the job, which then never settles. */
  readonly settle?: (item: WorkItem) => Outcome | Promise<Outcome>
}

/**
 * What a pipeline run needs besides its source and mapping, for tests that run the real pipeline
 * without Authgear: a summary, metrics, an outcome recorder, and a scheduler whose jobs settle
 * at once, record by record, as `settle` says.
 */
export function instantSink(options: InstantSinkOptions): { summary: RunSummary; metrics: Metrics; recorder: OutcomeRecorder; scheduler: ImportScheduler } {
  const summary = new RunSummary()
  const metrics = new Metrics({ defaultMetrics: false })
  const recorder = new OutcomeRecorder({
    metrics,
    summary,
    ...(options.report ? { report: options.report } : {}),
    ...(options.deadLetter ? { deadLetter: options.deadLetter } : {}),
  })
  const scheduler = new ImportScheduler({
    policy: options.policy,
    upsert: options.upsert ?? false,
    maxInFlight: options.maxInFlight,
    onSuperseded: (item) => recorder.complete(item, { kind: 'superseded' }),
    run: async (identifier, items) => {
      options.onJob?.(identifier, items)
      for (const item of items) recorder.complete(item, await (options.settle?.(item) ?? { kind: 'inserted', userId: 'u' }))
    },
  })
  return { summary, metrics, recorder, scheduler }
}
