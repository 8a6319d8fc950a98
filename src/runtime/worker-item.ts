import type { IdentifierType, MappingRejection, MappingResult, PasswordLane } from '../core/mapped-record.ts'
import type { SourceRecord } from '../core/source-record.ts'
import { mapGuarded } from './guarded-map.ts'
import { otherLogins, type OtherLogin } from './other-logins.ts'

/**
 * One record's result as it comes back from a mapping worker: what the main thread needs to
 * batch, report and dead-letter it, and no more (a mapped record's source data stays behind).
 */
export type WorkerItem =
  | { readonly kind: 'unreadable'; readonly key: string; readonly origin: string; readonly code: string; readonly message: string; readonly restSkipped?: true }
  | {
      readonly kind: 'rejected'
      readonly key: string
      readonly origin: string
      readonly data: Record<string, unknown>
      readonly rejection: MappingRejection
      readonly passwordAlgorithm?: string
    }
  | {
      readonly kind: 'mapped'
      readonly key: string
      readonly origin: string
      readonly identifier: IdentifierType
      readonly identifierValue: string
      /** `JSON.stringify(record)`; the record itself is parsed back only if someone asks for it. */
      readonly json: string
      readonly passwordAlgorithm: string
      readonly passwordLane: PasswordLane
      readonly warnings: readonly string[]
      readonly action?: 'delete'
      readonly lockKeys?: readonly string[]
      readonly logins?: readonly OtherLogin[]
    }

/** The mapping's result for one record, in the shape that crosses back to the main thread. */
export function toWorkerItem(record: SourceRecord, map: (record: Extract<SourceRecord, { kind: 'data' }>) => MappingResult): WorkerItem {
  if (record.kind === 'unreadable') return record.restSkipped ? { kind: 'unreadable', key: record.key, origin: record.origin, code: record.code, message: record.message, restSkipped: true } : { kind: 'unreadable', key: record.key, origin: record.origin, code: record.code, message: record.message }
  const result = mapGuarded(map, record)
  if (!result.ok) {
    return {
      kind: 'rejected',
      key: record.key,
      origin: record.origin,
      data: record.data,
      rejection: result.rejection,
      ...(result.passwordAlgorithm ? { passwordAlgorithm: result.passwordAlgorithm } : {}),
    }
  }
  const mapped = result.value
  const logins = mapped.action === 'delete' ? mapped.freedLogins : otherLogins(mapped.identifier, mapped.record)
  return {
    kind: 'mapped',
    key: record.key,
    origin: record.origin,
    identifier: mapped.identifier,
    identifierValue: mapped.identifierValue,
    json: JSON.stringify(mapped.record),
    passwordAlgorithm: mapped.passwordAlgorithm,
    passwordLane: mapped.passwordLane,
    warnings: mapped.warnings,
    ...(mapped.action ? { action: mapped.action } : {}),
    ...(mapped.lockKeys ? { lockKeys: mapped.lockKeys } : {}),
    ...(logins ? { logins } : {}),
  }
}
