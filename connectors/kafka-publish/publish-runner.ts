import { AbortedError } from '../../src/core/errors.ts'
import type { MappedRecord } from '../../src/core/mapped-record.ts'
import type { JobRunner } from '../../src/runtime/import-scheduler.ts'
import type { OutcomeRecorder } from '../../src/runtime/outcome-recorder.ts'
import type { DeliveryProducer } from '../kafka/delivery-producer.ts'
import { toPublishedRecord } from '../kafka/mapped-message.ts'
import { isMessageTooLarge } from '../kafka/message-too-large.ts'

/** The message key of a published record: `<identifier>:<normalized value>`. */
export function publishKey(mapped: MappedRecord): string {
  return `${mapped.identifier}:${mapped.identifierValue}`
}

/**
 * The scheduler's job runner for `publish:`: produces each record of a job (value = the `mapped`
 * message format) and records `published` for each one the broker acknowledged. Resolves when
 * every record of the job has an outcome. A delivery the producer gave up on leaves its record
 * without an outcome and rejects, which stops the run with the checkpoint before that record: a
 * rerun publishes it again (a duplicate is harmless; the importer matches by identifier). A
 * message the broker refuses as too large would be refused on every rerun too: it is that
 * record's dead letter instead, and the others are published. `hardStop` (a second signal)
 * stops waiting for deliveries at once, which leaves their records for the next run.
 */
export function createPublishRunner(producer: DeliveryProducer, topic: string, recorder: OutcomeRecorder, hardStop?: AbortSignal): JobRunner {
  return async (_identifier, items) => {
    const values = items.map((item) => Buffer.from(JSON.stringify(toPublishedRecord(item.mapped, item.source))))
    const sends = Promise.allSettled(items.map((item, i) => producer.send(topic, { key: publishKey(item.mapped), value: values[i] as Buffer })))
    const results = hardStop === undefined ? await sends : await Promise.race([sends, stopped(hardStop)])
    if (results === undefined) throw new AbortedError('publishing abandoned by a second signal')
    let failure: unknown
    results.forEach((result, i) => {
      const item = items[i]!
      if (result.status === 'rejected') {
        if (isMessageTooLarge(result.reason)) {
          item.attempts++
          recorder.complete(item, { kind: 'failed', code: 'message_too_large', message: `${item.source.origin}: Kafka refused the message for ${topic} as too large (${(values[i] as Buffer).length} bytes; see the topic's max.message.bytes)`, attempts: item.attempts })
          return
        }
        failure ??= result.reason
        return
      }
      item.attempts++
      recorder.complete(item, { kind: 'published', attempts: item.attempts, ...(item.mapped.warnings.length > 0 ? { warnings: item.mapped.warnings } : {}) })
    })
    if (failure !== undefined) throw failure
  }
}

/** Resolves (to undefined) when `signal` aborts. */
function stopped(signal: AbortSignal): Promise<undefined> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve(undefined)
    else signal.addEventListener('abort', () => resolve(undefined), { once: true })
  })
}
