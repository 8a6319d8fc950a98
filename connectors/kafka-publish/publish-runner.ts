import type { MappedRecord } from '../../src/core/mapped-record.ts'
import type { JobRunner } from '../../src/runtime/import-scheduler.ts'
import type { OutcomeRecorder } from '../../src/runtime/outcome-recorder.ts'
import type { DeliveryProducer } from '../kafka/delivery-producer.ts'
import { toPublishedRecord } from '../kafka/mapped-message.ts'

/** The message key of a published record: `<identifier>:<normalized value>`. */
export function publishKey(mapped: MappedRecord): string {
  return `${mapped.identifier}:${mapped.identifierValue}`
}

/**
 * The scheduler's job runner for `publish:`: produces each record of a job (value = the `mapped`
 * message format) and records `published` for each one the broker acknowledged. Resolves when
 * every record of the job has an outcome. A delivery the producer gave up on leaves its record
 * without an outcome and rejects, which stops the run with the checkpoint before that record: a
 * rerun publishes it again (a duplicate is harmless; the importer matches by identifier).
 */
export function createPublishRunner(producer: DeliveryProducer, topic: string, recorder: OutcomeRecorder): JobRunner {
  return async (_identifier, items) => {
    const results = await Promise.allSettled(
      items.map((item) => producer.send(topic, { key: publishKey(item.mapped), value: Buffer.from(JSON.stringify(toPublishedRecord(item.mapped, item.source))) })),
    )
    let failure: unknown
    results.forEach((result, i) => {
      const item = items[i]!
      if (result.status === 'rejected') {
        failure ??= result.reason
        return
      }
      item.attempts++
      recorder.complete(item, { kind: 'published', attempts: item.attempts, ...(item.mapped.warnings.length > 0 ? { warnings: item.mapped.warnings } : {}) })
    })
    if (failure !== undefined) throw failure
  }
}
