import type { MappingResult } from '../core/mapped-record.ts'
import type { ReadableRecord } from '../core/source-record.ts'
import { thrownText } from '../core/thrown-text.ts'

/**
 * Maps one record; whatever the mapping throws becomes that record's `mapping_error`, so one
 * record never stops a backfill, a worker or `validate`. The thrown value may not be an `Error`
 * and may not even turn into text (`Object.create(null)`, a throwing `toString`).
 */
export function mapGuarded(map: (record: ReadableRecord) => MappingResult, record: ReadableRecord): MappingResult {
  try {
    return map(record)
  } catch (error) {
    return { ok: false, rejection: { code: 'mapping_error', message: `mapping failed on ${record.origin}: ${thrownText(error)}` } }
  }
}
