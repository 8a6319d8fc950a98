import type { MappedRecord, MappingResult } from '../../src/core/mapped-record.ts'
import type { ReadableRecord } from '../../src/core/source-record.ts'
import { checkImportRecord, IdentifierTypes, type IdentifierType } from '../../mappings/record.ts'
import { PasswordLanes, type PasswordLane } from '../../src/core/mapped-record.ts'

/** The JSON value of one message published by a backfill with `publish:` (key = `<identifier>:<identifierValue>`). */
export interface PublishedRecord {
  readonly identifier: IdentifierType
  readonly identifierValue: string
  readonly record: unknown
  readonly passwordAlgorithm: string
  readonly passwordLane: PasswordLane
  readonly warnings: readonly string[]
  /** Where the backfill read the record: its source key and origin. */
  readonly source: { readonly key: string; readonly origin: string }
}

export function toPublishedRecord(mapped: MappedRecord, source: { key: string; origin: string }): PublishedRecord {
  return {
    identifier: mapped.identifier,
    identifierValue: mapped.identifierValue,
    record: mapped.record,
    passwordAlgorithm: mapped.passwordAlgorithm,
    passwordLane: mapped.passwordLane,
    warnings: mapped.warnings,
    source: { key: source.key, origin: source.origin },
  }
}

/**
 * The mapping of `format: mapped`: the record was mapped by the backfill that published it, so it
 * is only checked again against Authgear's record schema (the publisher may run another version).
 */
export function mapPublishedRecord(input: ReadableRecord): MappingResult {
  const data = input.data as Partial<PublishedRecord>
  const identifier = data.identifier
  if (typeof identifier !== 'string' || !(IdentifierTypes as readonly string[]).includes(identifier) || typeof data.identifierValue !== 'string') {
    return { ok: false, rejection: { code: 'not_a_mapped_record', message: 'the message is not a record published by gearbridge backfill (no identifier)' } }
  }
  const check = checkImportRecord(identifier, data.record)
  if (!check.ok) {
    return { ok: false, rejection: { code: 'schema', message: `record fails Authgear's import schema: ${check.causes.map((c) => `${c.location} ${c.message}`).join('; ')}` } }
  }
  const lane = (Object.values(PasswordLanes) as string[]).includes(data.passwordLane ?? '') ? (data.passwordLane as PasswordLane) : PasswordLanes.none
  const mapped: MappedRecord = {
    identifier,
    identifierValue: data.identifierValue,
    record: data.record as MappedRecord['record'],
    passwordAlgorithm: typeof data.passwordAlgorithm === 'string' ? data.passwordAlgorithm : 'none',
    passwordLane: lane,
    warnings: Array.isArray(data.warnings) ? data.warnings.filter((w): w is string => typeof w === 'string') : [],
  }
  return { ok: true, value: mapped }
}
